"""Videos: a campaign's observations grouped per video.

:func:`collect_videos` folds a stream of observations into one :class:`Video` per id, keeping the
whole view-count series (one point per instant; an exact duplicate line counts once, and two
different counts seen at the same instant keep the larger) and the metadata *as the video stood at
the deadline*: the last observation at or before the cutoff, else the first one after. That
settles which version counts when a creator edits a description after the deadline.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import orjson

from oyren.observations import Observation, observation_to_record

__all__ = ["Video", "collect_videos"]


@dataclass(frozen=True, slots=True)
class Video:
    """One video: its metadata at the deadline and its view series, sorted by time."""

    meta: Observation
    times: tuple[int, ...]
    views: tuple[int, ...]

    @property
    def video_id(self) -> str:
        """The video's id."""
        return self.meta.video_id

    @property
    def first_seen(self) -> int:
        """When the video was first observed."""
        return self.times[0]

    @property
    def last_seen(self) -> int:
        """When the video was last observed."""
        return self.times[-1]


class _Builder:
    __slots__ = ("meta", "points")

    def __init__(self, obs: Observation) -> None:
        self.meta = obs
        self.points: dict[int, int] = {obs.collected_at: obs.view_count}


def _better_meta(current: Observation, new: Observation, cutoff: int) -> bool:
    """Tell whether ``new`` describes the video at the cutoff better than ``current``."""
    cur_t, new_t = current.collected_at, new.collected_at
    cur_in, new_in = cur_t <= cutoff, new_t <= cutoff
    if cur_in != new_in:
        return new_in
    if new_t != cur_t:
        # Before the cutoff the latest wins; after it the earliest.
        return new_t > cur_t if new_in else new_t < cur_t
    # Same instant: a deterministic choice that does not depend on line order.
    return _tiebreak_key(new) > _tiebreak_key(current)


def _tiebreak_key(obs: Observation) -> tuple[int, str, str, bytes]:
    # The whole record last, so that two sightings differing only in, say, region are still
    # ordered and the choice never depends on which line came first.
    record = orjson.dumps(observation_to_record(obs), option=orjson.OPT_SORT_KEYS)
    return (obs.view_count, obs.description, obs.username, record)


def collect_videos(observations: Iterable[Observation], *, cutoff: int) -> dict[str, Video]:
    """Group observations by video id, in order of first appearance."""
    builders: dict[str, _Builder] = {}
    for obs in observations:
        builder = builders.get(obs.video_id)
        if builder is None:
            builders[obs.video_id] = _Builder(obs)
            continue
        points = builder.points
        seen = points.get(obs.collected_at)
        if seen is None or obs.view_count > seen:
            points[obs.collected_at] = obs.view_count
        if _better_meta(builder.meta, obs, cutoff):
            builder.meta = obs
    return {vid: _finish(b) for vid, b in builders.items()}


def _finish(builder: _Builder) -> Video:
    items = sorted(builder.points.items())
    return Video(
        meta=builder.meta, times=tuple(t for t, _ in items), views=tuple(v for _, v in items)
    )


def iter_series(video: Video) -> Iterator[tuple[int, int]]:
    """Yield a video's (collected_at, views) points in time order."""
    return zip(video.times, video.views, strict=True)
