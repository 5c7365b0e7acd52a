"""The campaign's screener: integrity flags and topics, as the rules engine takes them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from oyren.rules.campaign import Campaign
from oyren.rules.observations import Observation
from oyren.rules.results import Flag
from oyren.rules.videos import Video
from oyren.screening.flags import flag_series, flag_videos
from oyren.screening.growth import Intervals, Yardstick
from oyren.screening.themes import Classifier

__all__ = ["CampaignScreener"]


class CampaignScreener:
    """Flags from the campaign's own yardsticks and topics from its themes (none without themes).

    Satisfies :class:`oyren.rules.engine.Screener`.
    """

    def __init__(self, campaign: Campaign) -> None:
        self._classifier = Classifier.for_campaign(campaign) if campaign.themes else None

    def flags(self, videos: Sequence[Video]) -> Mapping[str, tuple[Flag, ...]]:
        """Every flag raised on the campaign's videos, by video id."""
        return flag_videos(videos)

    def topic(self, meta: Observation) -> tuple[str | None, float | None]:
        """The theme the video is on and the classifier's confidence (both None without themes)."""
        if self._classifier is None:
            return None, None
        guess = self._classifier.classify_observation(meta)
        return guess.topic, guess.confidence

    def flag_series(
        self, metas: Sequence[Observation], intervals: Intervals, yardstick: Yardstick | None = None
    ) -> Mapping[str, tuple[Flag, ...]]:
        """The flags :meth:`flags` raises, from columns: the videos' metadata and intervals (and
        the growth yardstick fitted to them, if fitted already)."""
        return flag_series(metas, intervals, yardstick)

    def topics(self, metas: Sequence[Observation]) -> list[tuple[str | None, float | None]]:
        """:meth:`topic` of each video, each distinct text classified once."""
        if self._classifier is None:
            return [(None, None)] * len(metas)
        return list(self._classifier.topics(metas))
