"""The JSONL fast lane must agree with the general path: same observations, videos and errors."""

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
from hypothesis import given, settings
from hypothesis import strategies as st

from oyren.errors import InputError
from oyren.inputs import fastlane as jsonl
from oyren.inputs.fastlane import jsonl_lines, observation_from_scanned, scan_record
from oyren.inputs.observations import (
    Observation,
    SkipReport,
    observation_from_record,
    observation_to_record,
    read_observations,
)
from oyren.rules import videos
from oyren.rules.campaign import Campaign
from oyren.rules.videos import Video, collect_videos
from oyren.sandbox.simulate import observations, simulate
from tests.conftest import record

CUTOFF = 1_713_729_599  # 2024-04-21T23:59:59+04:00

# Values each field may take, valid and not: the fast lane must accept none that the general path
# rejects, and must read the ones it accepts the same way.
FIELD_VALUES: dict[str, list[Any]] = {
    "id": ["7340000000000000001", 7340000000000000001, "0042", "abc", " 7 ", "", "a b", "x" * 65,
           -1, True, 1.5, ["1"], "1\x00", "../../etc/passwd", "١٢", "9" * 21, 2**64 - 1],
    "username": ["aysel", " aysel ", "", "  ", "a\x00", "u" * 24, "u" * 25, "u" * 24 + "\x00", 5,
                 None],
    "create_time": [CUTOFF - 86400, CUTOFF, float(CUTOFF - 86400), 1.5, "1713729599", True, 5,
                    10**12, None],
    "collected_at": [CUTOFF, CUTOFF - 3600, CUTOFF + 3600, float(CUTOFF), "1713729599",
                     " 1713729599 ", "2024-04-21T23:59:59+04:00", "2024-04-21T19:59:59Z",
                     "2024-04-21T23:59:59", "yesterday", "-5", 1000, True, [1], None],
    "view_count": [0, 12, 10**15, 10**15 + 1, -1, 12.0, 12.5, "12", True, None],
    "region_code": ["AZ", "az", "", "A\x00Z", "AZE", "A1", "ÄZ", 5, ["AZ"], None],
    "video_description": ["Elm #TikTokdanÖyrən", "", "x\x00y #elm", "d" * 4000, "d" * 4001, 7,
                          None],
    "hashtag_names": [["TikTokdanÖyrən", "#elm"], [" a ", "", "#"], ["# elm", "\t##elm\n"],
                      ["a\x00b"], [], [1], "elm", {"a": 1}, None],
    "video_duration": [30, 0, 30.0, 30.5, -1, "30", True, None],
    "like_count": [1, -1, 1.0, False, None],
    "comment_count": [1, "1", None],
    "share_count": [1, 10**16, None],
    "music_id": ["123", 456, " 7 ", "", True, 1.5, None],
    "voice_to_text": ["hello", "", "a\x00b", 3, None],
}  # fmt: skip

VALID = {name: values[0] for name, values in FIELD_VALUES.items()}


@st.composite
def records(draw: st.DrawFn) -> dict[str, Any]:
    """A valid record with a few fields changed or removed (None), so both lanes get exercised."""
    names = draw(st.lists(st.sampled_from(sorted(FIELD_VALUES)), max_size=3, unique=True))
    rec = dict(VALID)
    for name in names:
        rec[name] = draw(st.sampled_from(FIELD_VALUES[name]))
    return {k: v for k, v in rec.items() if v is not None}


def _general(rec: dict[str, Any]) -> Observation | str:
    try:
        return observation_from_record(rec, path="f.jsonl", line=1)
    except InputError as error:
        return str(error)


def _assert_lanes_agree(rec: dict[str, Any]) -> None:
    key = scan_record(rec)
    if key is None:
        return
    general = _general(rec)
    assert isinstance(general, Observation), general
    assert key == (general.video_id, general.collected_at, general.view_count)
    assert observation_from_scanned(rec, key[0], key[1]) == general


@settings(max_examples=500)
@given(records())
def test_scan_record_accepts_only_what_the_general_path_reads_the_same(rec: dict[str, Any]) -> None:
    _assert_lanes_agree(rec)


def test_scan_record_agrees_on_every_single_change_and_every_pair_of_times() -> None:
    for name, values in FIELD_VALUES.items():
        for value in values:
            _assert_lanes_agree({**VALID, name: value})
    for create_time in FIELD_VALUES["create_time"]:
        for collected_at in FIELD_VALUES["collected_at"]:
            _assert_lanes_agree({**VALID, "create_time": create_time, "collected_at": collected_at})


def test_scan_record_takes_an_ordinary_api_record(campaign: Campaign) -> None:
    rec = record(campaign, hashtag_names=["TikTokdanÖyrən"], music_id="7", voice_to_text="hi")
    assert scan_record(rec) == ("7340000000000000001", rec["collected_at"], 1000)


def test_scan_record_takes_iso_collected_at(campaign: Campaign) -> None:
    rec = record(campaign, collected_at="2024-04-21T23:59:59+04:00")
    assert scan_record(rec) == ("7340000000000000001", campaign.cutoff_ts, 1000)


@pytest.mark.parametrize(
    "content", [b"", b"\n", b"a\nbb\n\nccc", b"a\r\nb\n", b"abcdefghijklmn\nz\n"]
)
@pytest.mark.parametrize("block", [1, 3, 64])
def test_jsonl_lines_splits_like_reading_line_by_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, content: bytes, block: int
) -> None:
    monkeypatch.setattr(jsonl, "_BLOCK_BYTES", block)
    path = tmp_path / "f.jsonl"
    path.write_bytes(content)
    with path.open("rb") as handle:
        expected = list(handle)
        batches = list(jsonl_lines(handle, 0))
    lines = [line + b"\n" if complete else line for batch, complete in batches for line in batch]
    assert lines == expected


def test_jsonl_lines_reads_a_range(tmp_path: Path) -> None:
    path = tmp_path / "f.jsonl"
    path.write_bytes(b"one\ntwo\nthree\nfour\n")
    with path.open("rb") as handle:
        assert [b for batch, _ in jsonl_lines(handle, 4, 14) for b in batch] == [b"two", b"three"]


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
    from_file = collect_videos(read_observations(path), cutoff=campaign.cutoff_ts)
    from_objects = collect_videos(list(read_observations(path)), cutoff=campaign.cutoff_ts)
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
        result = collect_videos(source if from_file else iter(list(source)), cutoff=cutoff)
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
    rest = collect_videos(source, cutoff=campaign.cutoff_ts)
    expected = _reference_videos(list(read_observations(path))[1:], campaign.cutoff_ts)
    assert first.video_id
    assert rest == expected


def _halves(path: Path, cutoff: int, keep: int | None) -> list[videos._Part]:
    size = path.stat().st_size
    with path.open("rb") as handle:
        handle.seek(size // 2)
        handle.readline()
        split = handle.tell()
    with path.open("rb") as handle:
        first = videos._read_part(handle, str(path), 0, split, cutoff, keep)
        second = videos._read_part(handle, str(path), split, None, cutoff, keep)
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
        groups = videos._combine(_halves(path, cutoff, 1 if skipping else None), two_skip)
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
    if not videos._can_fork():
        pytest.skip("reading in two processes needs fork, two CPUs and no other threads")
    monkeypatch.setattr(videos, "_PARALLEL_MIN_BYTES", 0)
    path = tmp_path / "obs.jsonl"
    path.write_bytes(b"".join(_messy_lines(campaign, 7)))
    expected = _reference_videos(read_observations(path), campaign.cutoff_ts)
    assert collect_videos(read_observations(path), cutoff=campaign.cutoff_ts) == expected


def test_collect_videos_reads_a_pipe(tmp_path: Path, campaign: Campaign) -> None:
    content = b"".join(_messy_lines(campaign, 8))
    path = tmp_path / "obs.jsonl"
    path.write_bytes(content)
    fifo = tmp_path / "pipe.jsonl"
    os.mkfifo(fifo)
    writer = threading.Thread(target=fifo.write_bytes, args=(content,), daemon=True)
    writer.start()
    try:
        from_pipe = collect_videos(read_observations(fifo), cutoff=campaign.cutoff_ts)
    finally:
        writer.join(timeout=10)
    assert from_pipe == _reference_videos(read_observations(path), campaign.cutoff_ts)
