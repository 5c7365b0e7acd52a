"""Grouping observation files into videos, with a fast lane for big JSONL files.

:func:`read_videos` is what a whole-campaign run calls: given an unread JSONL file from
:func:`~oyren.inputs.observations.read_observations`, every line is validated, but an
:class:`~oyren.rules.observations.Observation` is only built for the line that ends up describing
each video, and a big file is read by two processes at once; anything else goes through
:func:`oyren.rules.videos.collect_videos`. Both give the same videos.
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

import orjson

from oyren.errors import InputError
from oyren.inputs.fastlane import jsonl_lines, observation_from_scanned, scan_record
from oyren.inputs.observations import ObservationFile, SkipReport, observation_from_line
from oyren.rules.observations import Observation
from oyren.rules.videos import Candidate, Video, VideoGroups, collect_videos

__all__ = ["LineGroups", "read_videos"]


class LineGroups(VideoGroups):
    """:class:`~oyren.rules.videos.VideoGroups` whose candidates may be raw JSONL lines."""

    __slots__ = ()

    def realize(self, candidate: Candidate, video_id: str, collected_at: int) -> Observation:
        """The observation a candidate stands for: a raw line is read now."""
        if isinstance(candidate, bytes):
            return observation_from_scanned(orjson.loads(candidate), video_id, collected_at)
        return super().realize(candidate, video_id, collected_at)


def read_videos(observations: Iterable[Observation], *, cutoff: int) -> dict[str, Video]:
    """Group observations by video id, in order of first appearance (a JSONL file in the lane)."""
    if (
        isinstance(observations, ObservationFile)
        and observations.is_jsonl
        and not observations.started
    ):
        return _collect_jsonl(observations, cutoff)
    return collect_videos(observations, cutoff=cutoff)


# Below this size a JSONL file is read in one process: starting a second costs more than it saves.
_PARALLEL_MIN_BYTES = 32 << 20


@dataclass(slots=True)
class _Part:
    """What one reader made of a stretch of a JSONL file, lines numbered from its start."""

    groups: LineGroups
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


def _combine(parts: list[_Part], skip: SkipReport | None) -> LineGroups:
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
    groups = LineGroups(cutoff)
    skipped = SkipReport(keep=keep or 0)
    try:
        lines = _fold_lines(groups, jsonl_lines(handle, start, end), name,
                            skipped if keep is not None else None)  # fmt: skip
    except InputError as error:
        return _Part(groups, 0, skipped, error)
    return _Part(groups, lines, skipped)


def _fold_lines(
    groups: LineGroups,
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
            candidate: Candidate
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
            # What follows is LineGroups.add, inlined: a call per line costs a tenth of the loop.
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
