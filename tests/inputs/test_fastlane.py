"""The JSONL fast lane must agree with the general path: same observations, videos and errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oyren.errors import InputError
from oyren.inputs import fastlane as jsonl
from oyren.inputs.fastlane import jsonl_lines, observation_from_scanned, scan_record
from oyren.inputs.observations import observation_from_record
from oyren.rules.campaign import Campaign
from oyren.rules.observations import Observation
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
