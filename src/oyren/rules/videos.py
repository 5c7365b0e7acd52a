"""Videos: a campaign's observations grouped per video.

:func:`collect_videos` folds a stream of observations into one :class:`Video` per id, keeping the
whole view-count series (one point per instant; an exact duplicate line counts once, and two
different counts seen at the same instant keep the larger) and the metadata *as the video stood at
the deadline*: the last observation at or before the cutoff, else the first one after. That
settles which version counts when a creator edits a description after the deadline.

:class:`VideoGroups` is the grouping itself; :mod:`oyren.inputs.fastlane` feeds it raw JSONL lines
(a line becomes an :class:`Observation` only if it ends up describing its video).
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable
from dataclasses import dataclass
from operator import lt
from typing import Any

import orjson

from oyren.rules.observations import Observation, observation_to_record

__all__ = ["Candidate", "Video", "VideoGroups", "collect_videos", "meta_of", "series_of"]


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


# A video's metadata candidate: an observation, or what a reader turns into one only if it is
# still the candidate at the end (or ties with another): the raw JSONL line of a record that
# scan_record accepted.
Candidate = Observation | bytes


def _tiebreak_key(obs: Observation) -> tuple[int, str, str, bytes]:
    # The whole record last, so that two sightings differing only in, say, region are still
    # ordered and the choice never depends on which line came first.
    record = orjson.dumps(observation_to_record(obs), option=orjson.OPT_SORT_KEYS)
    return (obs.view_count, obs.description, obs.username, record)


class VideoGroups:
    """Videos being collected, in order of first appearance.

    Per video: ``[meta_time, candidate, times, views]``, the series in arrays as seen (sorted and
    deduplicated at the end), which keeps a million points compact and out of the garbage
    collector's way.
    """

    __slots__ = ("by_id", "cutoff")

    def realize(self, candidate: Candidate, video_id: str, collected_at: int) -> Observation:
        """The observation a candidate stands for (raw lines are the fast lane's to read)."""
        if isinstance(candidate, Observation):
            return candidate
        raise TypeError("raw lines are grouped by the subclass that reads them")

    def __init__(self, cutoff: int) -> None:
        self.cutoff = cutoff
        self.by_id: dict[str, list[Any]] = {}

    def add(self, video_id: str, collected_at: int, views: int, candidate: Candidate) -> None:
        """Add one observation of ``video_id``."""
        group = self.by_id.get(video_id)
        if group is None:
            self.by_id[video_id] = [collected_at, candidate, array("q", (collected_at,)),
                                   array("q", (views,))]  # fmt: skip
            return
        group[2].append(collected_at)
        group[3].append(views)
        self.offer(group, video_id, collected_at, candidate)

    def offer(
        self, group: list[Any], video_id: str, collected_at: int, candidate: Candidate
    ) -> None:
        """Make ``candidate`` the video's metadata if it describes it at the cutoff better."""
        current = group[0]
        if collected_at != current:
            # Better: later while still at or before the cutoff, or earlier than one after it.
            cutoff = self.cutoff
            if current < collected_at <= cutoff or cutoff < current > collected_at:
                group[0] = collected_at
                group[1] = candidate
            return
        if isinstance(candidate, bytes) and candidate == group[1]:
            return  # the same line again
        # Same instant: a deterministic choice that does not depend on line order.
        new = self.realize(candidate, video_id, collected_at)
        old = self.realize(group[1], video_id, collected_at)
        group[1] = new if _tiebreak_key(new) > _tiebreak_key(old) else old

    def merge(self, later: VideoGroups) -> None:
        """Add the groups of observations that came after these, as if added one by one."""
        by_id = self.by_id
        for video_id, group in later.by_id.items():
            mine = by_id.get(video_id)
            if mine is None:
                by_id[video_id] = group
                continue
            mine[2].extend(group[2])
            mine[3].extend(group[3])
            # Candidates are the first best of each part, so the first best overall is one of them.
            self.offer(mine, video_id, group[0], group[1])

    def __getstate__(self) -> tuple[Any, ...]:
        # Sent between processes as a few flat arrays: pickling 100,000 small arrays is slow.
        lengths, times, views = array("q"), array("q"), array("q")
        for group in self.by_id.values():
            lengths.append(len(group[2]))
            times.extend(group[2])
            views.extend(group[3])
        meta = [(group[0], group[1]) for group in self.by_id.values()]
        return self.cutoff, list(self.by_id), meta, lengths, times, views

    def __setstate__(self, state: tuple[Any, ...]) -> None:
        self.cutoff, ids, meta, lengths, times, views = state
        self.by_id = {}
        start = 0
        for video_id, (meta_time, candidate), length in zip(ids, meta, lengths, strict=True):
            end = start + length
            self.by_id[video_id] = [meta_time, candidate, times[start:end], views[start:end]]
            start = end

    def _video(
        self,
        video_id: str,
        meta_time: int,
        candidate: Candidate,
        times: array[int],
        views: array[int],
    ) -> Video:
        meta = self.realize(candidate, video_id, meta_time)
        return Video(meta, *series_of(times.tolist(), views.tolist()))

    def videos(self) -> dict[str, Video]:
        """The videos, in order of first appearance."""
        return {vid: self._video(vid, *group) for vid, group in self.by_id.items()}


def series_of(times: list[int], views: list[int]) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """A video's series from its counts as seen, in any order: sorted by time, one point per
    instant, two counts seen at one instant keeping the larger."""
    if all(map(lt, times, times[1:])):
        return tuple(times), tuple(views)  # in order, once each: the usual
    points: dict[int, int] = {}
    for t, v in zip(times, views, strict=True):
        count = points.get(t)
        if count is None or v > count:
            points[t] = v
    items = sorted(points.items())
    return tuple(t for t, _ in items), tuple(v for _, v in items)


def meta_of(candidates: Iterable[Observation]) -> Observation:
    """Of the observations seen at a video's metadata instant, the one :class:`VideoGroups`
    keeps: the most views, then description, then username, then the whole record (so the
    choice never depends on their order)."""
    return max(candidates, key=_tiebreak_key)


def collect_videos(observations: Iterable[Observation], *, cutoff: int) -> dict[str, Video]:
    """Group observations by video id, in order of first appearance."""
    groups = VideoGroups(cutoff)
    for obs in observations:
        groups.add(obs.video_id, obs.collected_at, obs.view_count, obs)
    return groups.videos()
