"""Grouping files into videos: the fast lane (two processes, raw lines) agrees with the rest."""

from __future__ import annotations

import os
import pickle
import random
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import orjson
import pytest

from oyren.errors import InputError
from oyren.inputs import grouping
from oyren.inputs.grouping import read_videos
from oyren.inputs.observations import (
    SkipReport,
    observation_to_record,
    read_observations,
)
from oyren.rules.campaign import Campaign
from oyren.rules.observations import Observation
from oyren.rules.videos import Video
from oyren.sandbox.simulate import observations, simulate

CUTOFF = 1_713_729_599  # 2024-04-21T23:59:59+04:00


def _reference_videos(observations: Iterable[Observation], cutoff: int) -> dict[str, Video]:
    """collect_videos as first written: a dict of points and a running metadata choice."""
    points: dict[str, dict[int, int]] = {}
    meta: dict[str, Observation] = {}
    for obs in observations:
        series = points.setdefault(obs.video_id, {})
        series[obs.collected_at] = max(obs.view_count, series.get(obs.collected_at, -1))
        current = meta.setdefault(obs.video_id, obs)
        new_in, cur_in = obs.collected_at <= cutoff, current.collected_at <= cutoff
        if new_in != cur_in:
            better = new_in
        elif obs.collected_at != current.collected_at:
            later = obs.collected_at > current.collected_at
            better = later if new_in else not later
        else:
            better = _tiebreak(obs) > _tiebreak(current)
        if better:
            meta[obs.video_id] = obs
    return {
        vid: Video(meta[vid], tuple(sorted(series)), tuple(v for _, v in sorted(series.items())))
        for vid, series in points.items()
    }


def _tiebreak(obs: Observation) -> tuple[int, str, str, bytes]:
    record = orjson.dumps(observation_to_record(obs), option=orjson.OPT_SORT_KEYS)
    return (obs.view_count, obs.description, obs.username, record)


def _messy_lines(campaign: Campaign, seed: int) -> list[bytes]:
    """Simulated crawls, shuffled, with duplicates, same-instant counts and lines to convert."""
    rng = random.Random(seed)
    sim = simulate(campaign, videos=40, seed=seed, observations_per_video=6)
    recs = [observation_to_record(o) for o in observations(sim)]
    for rec in rng.sample(recs, 30):
        variant = dict(rec)
        choice = rng.randrange(5)
        if choice == 0:
            variant["view_count"] += 1  # another count at the same instant
        elif choice == 1:
            variant["video_description"] = "edited #TikTokdanÖyrən"
        elif choice == 2:
            variant["view_count"] = float(variant["view_count"])  # needs converting
        elif choice == 3:
            variant["username"] += "\x00"
        else:
            variant["like_count"] = variant.get("like_count", 0) + 1  # ties on the choice's key
        recs.append(variant)
    lines = [orjson.dumps(r) + b"\n" for r in recs]
    lines += rng.sample(lines, 20)  # exact duplicates
    rng.shuffle(lines)
    return [*lines, b"\n", b"   \r\n"]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_collect_videos_reads_a_file_like_its_observations(
    tmp_path: Path, campaign: Campaign, seed: int
) -> None:
    path = tmp_path / "obs.jsonl"
    path.write_bytes(b"".join(_messy_lines(campaign, seed)))
    expected = _reference_videos(read_observations(path), campaign.cutoff_ts)
    from_file = read_videos(read_observations(path), cutoff=campaign.cutoff_ts)
    from_objects = read_videos(list(read_observations(path)), cutoff=campaign.cutoff_ts)
    assert list(from_file.items()) == list(expected.items())
    assert list(from_objects.items()) == list(expected.items())


BAD_LINES = [
    b'{"id": 1',
    b"[1, 2]",
    b'{"id": "1", "username": "a", "create_time": 1713000000, "view_count": 1}',
    b'{"id": "1", "username": "a", "create_time": 1713000000, "view_count": -1, '
    b'"collected_at": 1713000000}',
    b'{"id": "1", "username": "a", "create_time": 1713000000, "view_count": 1, '
    b'"collected_at": "2024-04-21T23:59:59"}',
]


def _outcome(path: Path, cutoff: int, skip: SkipReport | None, *, from_file: bool) -> Any:
    source = read_observations(path, skip=skip)
    try:
        result = read_videos(source if from_file else iter(list(source)), cutoff=cutoff)
    except InputError as error:
        return str(error)
    report = None if skip is None else (skip.count, [str(e) for e in skip.errors])
    return list(result.items()), report


@pytest.mark.parametrize("bad", BAD_LINES)
@pytest.mark.parametrize("last", [False, True])
@pytest.mark.parametrize("skipping", [False, True])
def test_collect_videos_reports_bad_lines_like_reading_line_by_line(
    tmp_path: Path, campaign: Campaign, bad: bytes, last: bool, skipping: bool
) -> None:
    lines = _messy_lines(campaign, 4)
    if last:
        lines.append(bad)  # the last line, without a newline: JSON error positions differ
    else:
        lines.insert(7, bad + b"\n")
    path = tmp_path / "obs.jsonl"
    path.write_bytes(b"".join(lines))
    outcomes = [
        _outcome(path, campaign.cutoff_ts, SkipReport(keep=3) if skipping else None, from_file=f)
        for f in (True, False)
    ]
    assert outcomes[0] == outcomes[1]


def test_collect_videos_reads_the_rest_of_a_started_file(
    tmp_path: Path, campaign: Campaign
) -> None:
    path = tmp_path / "obs.jsonl"
    path.write_bytes(b"".join(_messy_lines(campaign, 5)))
    source = read_observations(path)
    first = next(source)
    rest = read_videos(source, cutoff=campaign.cutoff_ts)
    expected = _reference_videos(list(read_observations(path))[1:], campaign.cutoff_ts)
    assert first.video_id
    assert rest == expected


def _halves(path: Path, cutoff: int, keep: int | None) -> list[grouping._Part]:
    size = path.stat().st_size
    with path.open("rb") as handle:
        handle.seek(size // 2)
        handle.readline()
        split = handle.tell()
    with path.open("rb") as handle:
        first = grouping._read_part(handle, str(path), 0, split, cutoff, keep)
        second = grouping._read_part(handle, str(path), split, None, cutoff, keep)
    return [first, pickle.loads(pickle.dumps(second))]  # as the second process sends it


@pytest.mark.parametrize("skipping", [False, True])
def test_reading_in_two_parts_agrees_with_one(
    tmp_path: Path, campaign: Campaign, skipping: bool
) -> None:
    lines = _messy_lines(campaign, 6)
    lines.insert(len(lines) * 3 // 4, BAD_LINES[3] + b"\n")  # bad lines in the second half
    lines.insert(len(lines) * 3 // 4, BAD_LINES[1] + b"\n")
    if skipping:  # and in the first, more than are kept
        lines.insert(len(lines) // 4, BAD_LINES[0] + b"\n")
        lines.insert(len(lines) // 4, BAD_LINES[2] + b"\n")
    path = tmp_path / "obs.jsonl"
    path.write_bytes(b"".join(lines))
    cutoff = campaign.cutoff_ts
    one_skip = SkipReport(keep=1) if skipping else None
    expected = _outcome(path, cutoff, one_skip, from_file=False)
    two_skip = SkipReport(keep=1) if skipping else None
    try:
        groups = grouping._combine(_halves(path, cutoff, 1 if skipping else None), two_skip)
        outcome = (
            list(groups.videos().items()),
            (None if two_skip is None else (two_skip.count, [str(e) for e in two_skip.errors])),
        )
    except InputError as error:
        outcome = str(error)
    assert outcome == expected


def test_collect_videos_forks_for_a_big_file(
    tmp_path: Path, campaign: Campaign, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not grouping._can_fork():
        pytest.skip("reading in two processes needs fork, two CPUs and no other threads")
    monkeypatch.setattr(grouping, "_PARALLEL_MIN_BYTES", 0)
    path = tmp_path / "obs.jsonl"
    path.write_bytes(b"".join(_messy_lines(campaign, 7)))
    expected = _reference_videos(read_observations(path), campaign.cutoff_ts)
    assert read_videos(read_observations(path), cutoff=campaign.cutoff_ts) == expected


def test_collect_videos_reads_a_pipe(tmp_path: Path, campaign: Campaign) -> None:
    content = b"".join(_messy_lines(campaign, 8))
    path = tmp_path / "obs.jsonl"
    path.write_bytes(content)
    fifo = tmp_path / "pipe.jsonl"
    os.mkfifo(fifo)
    writer = threading.Thread(target=fifo.write_bytes, args=(content,), daemon=True)
    writer.start()
    try:
        from_pipe = read_videos(read_observations(fifo), cutoff=campaign.cutoff_ts)
    finally:
        writer.join(timeout=10)
    assert from_pipe == _reference_videos(read_observations(path), campaign.cutoff_ts)
