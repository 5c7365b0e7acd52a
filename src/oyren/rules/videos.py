"""Videos: a campaign's observations grouped per video.

:func:`collect_videos` folds a stream of observations into one :class:`Video` per id, keeping the
whole view-count series (one point per instant; an exact duplicate line counts once, and two
different counts seen at the same instant keep the larger) and the metadata *as the video stood at
the deadline*: the last observation at or before the cutoff, else the first one after. That
settles which version counts when a creator edits a description after the deadline.

Given a JSONL file straight from :func:`~oyren.inputs.observations.read_observations`, it reads the
file
in a fast lane: every line is validated, but an :class:`Observation` is only built for the line
that ends up describing each video.
"""

from __future__ import annotations

import io
import multiprocessing
import os
import sys
import threading
from array import array
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection
from operator import lt
from typing import Any

import orjson

from oyren.errors import InputError
from oyren.inputs.fastlane import jsonl_lines, observation_from_scanned, scan_record
from oyren.inputs.observations import (
    Observation,
    ObservationFile,
    SkipReport,
    observation_from_line,
    observation_to_record,
)

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


# A video's metadata candidate: an observation, or the raw JSONL line of a record that
# scan_record accepted, turned into an observation only if it is still the candidate at the end.
_Candidate = Observation | bytes


def _observation(candidate: _Candidate, video_id: str, collected_at: int) -> Observation:
    if isinstance(candidate, Observation):
        return candidate
    return observation_from_scanned(orjson.loads(candidate), video_id, collected_at)


def _tiebreak_key(obs: Observation) -> tuple[int, str, str, bytes]:
    # The whole record last, so that two sightings differing only in, say, region are still
    # ordered and the choice never depends on which line came first.
    record = orjson.dumps(observation_to_record(obs), option=orjson.OPT_SORT_KEYS)
    return (obs.view_count, obs.description, obs.username, record)


class _Groups:
    """Videos being collected, in order of first appearance.

    Per video: ``[meta_time, candidate, times, views]``, the series in arrays as seen (sorted and
    deduplicated at the end), which keeps a million points compact and out of the garbage
    collector's way.
    """

    __slots__ = ("by_id", "cutoff")

    def __init__(self, cutoff: int) -> None:
        self.cutoff = cutoff
        self.by_id: dict[str, list[Any]] = {}

    def add(self, video_id: str, collected_at: int, views: int, candidate: _Candidate) -> None:
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
        self, group: list[Any], video_id: str, collected_at: int, candidate: _Candidate
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
        new = _observation(candidate, video_id, collected_at)
        old = _observation(group[1], video_id, collected_at)
        group[1] = new if _tiebreak_key(new) > _tiebreak_key(old) else old

    def merge(self, later: _Groups) -> None:
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

    def videos(self) -> dict[str, Video]:
        """The videos, in order of first appearance."""
        return {vid: _video(vid, *group) for vid, group in self.by_id.items()}


def _video(
    video_id: str, meta_time: int, candidate: _Candidate, times: array[int], views: array[int]
) -> Video:
    meta = _observation(candidate, video_id, meta_time)
    seen = times.tolist()
    if all(map(lt, seen, seen[1:])):
        return Video(meta, tuple(seen), tuple(views.tolist()))  # in order, once each: the usual
    points: dict[int, int] = {}
    for t, v in zip(times, views, strict=True):
        count = points.get(t)
        if count is None or v > count:
            points[t] = v
    items = sorted(points.items())
    return Video(meta, tuple(t for t, _ in items), tuple(v for _, v in items))


def collect_videos(observations: Iterable[Observation], *, cutoff: int) -> dict[str, Video]:
    """Group observations by video id, in order of first appearance."""
    if (
        isinstance(observations, ObservationFile)
        and observations.is_jsonl
        and not observations.started
    ):
        return _collect_jsonl(observations, cutoff)
    groups = _Groups(cutoff)
    for obs in observations:
        groups.add(obs.video_id, obs.collected_at, obs.view_count, obs)
    return groups.videos()


# Below this size a JSONL file is read in one process: starting a second costs more than it saves.
_PARALLEL_MIN_BYTES = 32 << 20


@dataclass(slots=True)
class _Part:
    """What one reader made of a stretch of a JSONL file, lines numbered from its start."""

    groups: _Groups
    lines: int
    skipped: SkipReport
    error: InputError | None = None  # without skipping: the first bad line, where reading stopped


def _collect_jsonl(source: ObservationFile, cutoff: int) -> dict[str, Video]:
    keep = source.skip.keep if source.skip is not None else None
    with source.open() as handle:
        split = _split_point(handle)
        if split is None:
            parts = [_read_part(handle, source.name, None, None, cutoff, keep)]
        else:
            parts = _read_in_two(handle, source.name, split, cutoff, keep)
    return _combine(parts, source.skip).videos()


def _combine(parts: list[_Part], skip: SkipReport | None) -> _Groups:
    """Join consecutive parts of a file as if it had been read in one go."""
    groups, offset = parts[0].groups, 0
    for part in parts:
        if part.error is not None:
            raise _renumbered(part.error, offset)
        if skip is not None:
            for error in part.skipped.errors:
                skip.add(_renumbered(error, offset))
            skip.count += part.skipped.count - len(part.skipped.errors)
        if part is not parts[0]:
            groups.merge(part.groups)
        offset += part.lines
    return groups


def _renumbered(error: InputError, offset: int) -> InputError:
    # Always rebuilt: an InputError that came through pickle has lost its message's form.
    line = None if error.line is None else error.line + offset
    return InputError(error.reason, path=error.path, line=line, field=error.field)


def _split_point(handle: io.BufferedReader) -> int | None:
    """Where a second process should start reading (a line start), or None to read in one."""
    size = os.fstat(handle.fileno()).st_size  # 0 for a pipe
    if size < _PARALLEL_MIN_BYTES or not _can_fork():
        return None
    handle.seek(size // 2)
    handle.readline()
    split = handle.tell()
    handle.seek(0)
    return split if split < size else None


def _can_fork() -> bool:
    # Forking is only safe without other threads, and only worth it with a second CPU. A daemonic
    # process (a pool worker) may not start children.
    return (
        sys.platform == "linux"
        and len(os.sched_getaffinity(0)) >= 2
        and threading.active_count() == 1
        and not multiprocessing.current_process().daemon
    )


def _read_in_two(
    handle: io.BufferedReader, name: str, split: int, cutoff: int, keep: int | None
) -> list[_Part]:
    """Read up to ``split`` here while a forked process reads the rest; deterministic either way."""
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    worker = context.Process(target=_send_part, args=(sender, name, split, cutoff, keep))
    worker.start()
    sender.close()
    try:
        first = _read_part(handle, name, 0, split, cutoff, keep)
        if first.error is not None:
            return [first]  # the first bad line is in this half: the other half cannot matter
        try:
            second = receiver.recv()
        except EOFError:
            second = None
        if second is None:
            # The worker failed (killed, out of memory, a bug): read its half here, which also
            # raises whatever made it fail.
            second = _read_part(handle, name, split, None, cutoff, keep)
        return [first, second]
    finally:
        receiver.close()
        if worker.is_alive():
            worker.terminate()
        worker.join()


def _send_part(sender: Connection, name: str, start: int, cutoff: int, keep: int | None) -> None:
    try:
        # Its own file handle: a forked one would share the parent's position.
        with open(name, "rb") as handle:
            part: _Part | None = _read_part(handle, name, start, None, cutoff, keep)
    except BaseException:
        part = None  # the parent reads this half itself and sees the error
    sender.send(part)
    sender.close()


def _read_part(
    handle: io.BufferedReader, name: str, start: int | None, end: int | None, cutoff: int,
    keep: int | None,
) -> _Part:  # fmt: skip
    """Group the lines from byte ``start`` to ``end`` (see
    :func:`~oyren.inputs.fastlane.jsonl_lines`);
    ``keep`` None means stop at the first bad line."""
    groups = _Groups(cutoff)
    skipped = SkipReport(keep=keep or 0)
    try:
        lines = _fold_lines(groups, jsonl_lines(handle, start, end), name,
                            skipped if keep is not None else None)  # fmt: skip
    except InputError as error:
        return _Part(groups, 0, skipped, error)
    return _Part(groups, lines, skipped)


def _fold_lines(
    groups: _Groups,
    batches: Iterator[tuple[list[bytes], bool]],
    name: str,
    skipped: SkipReport | None,
) -> int:
    """Add every line of ``batches`` to ``groups`` and return how many lines there were.

    Bad lines are counted in ``skipped``, or raise when it is None.
    """
    loads, scan, decode_error = orjson.loads, scan_record, orjson.JSONDecodeError
    by_id, cutoff = groups.by_id, groups.cutoff
    group_of = by_id.get
    number = 0
    for lines, last_complete in batches:
        for raw in lines:
            number += 1
            try:
                record = loads(raw)
                key = scan(record)
            except decode_error:
                key = None
            # A key written twice takes the general path, which names it; a few byte scans
            # prove most lines free of that (keys_may_repeat, inlined).
            if key is not None and (
                raw.count(b'":') != len(record) or b" :" in raw or b"\t:" in raw or b"\r:" in raw
            ):
                key = None
            candidate: _Candidate
            if key is not None:
                video_id, collected_at, views = key
                candidate = raw
            else:
                # The general path: the exact error for a bad line, or the observation of a line
                # that needs converting. It sees the line as read, newline included.
                exact = raw + b"\n" if last_complete else raw
                try:
                    obs = observation_from_line(exact, path=name, line=number)
                except InputError as error:
                    if skipped is None:
                        raise
                    skipped.add(error)
                    continue
                if obs is None:
                    continue
                video_id, collected_at, views, candidate = (
                    obs.video_id, obs.collected_at, obs.view_count, obs
                )  # fmt: skip
            # What follows is _Groups.add, inlined: a call per line would cost a tenth of the loop.
            group = group_of(video_id)
            if group is None:
                by_id[video_id] = [collected_at, candidate, array("q", (collected_at,)),
                                   array("q", (views,))]  # fmt: skip
                continue
            group[2].append(collected_at)
            group[3].append(views)
            current = group[0]
            if collected_at == current:
                groups.offer(group, video_id, collected_at, candidate)
                continue
            if current < collected_at <= cutoff or cutoff < current > collected_at:
                group[0] = collected_at
                group[1] = candidate
    return number
