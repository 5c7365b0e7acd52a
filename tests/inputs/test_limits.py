"""Limits on what the importers take: what no real API sends is refused naming file, line and
field, on the line-by-line path, the fast lane and the connector's answer reader alike."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from oyren.errors import InputError
from oyren.inputs.decisions import read_decisions
from oyren.inputs.observations import MAX_DESCRIPTION, MAX_USERNAME, read_observations
from oyren.inputs.records import MAX_DEPTH, check_keys_once, keys_may_repeat
from oyren.inputs.removals import read_removals
from oyren.rules.videos import collect_videos

HOSTILE: list[tuple[str, Any, str]] = [
    ("video_description", "x" * (10 * 1024 * 1024), "10,485,760 characters long: at most 4,000"),
    ("video_description", "y" * (MAX_DESCRIPTION + 1), "4,001 characters long: at most 4,000"),
    ("username", "u" * (1024 * 1024), "1,048,576 characters long: TikTok allows 24"),
    ("username", "u" * (MAX_USERNAME + 1), "25 characters long: TikTok allows 24"),
    ("region_code", "A" * 1000, "1,000 characters long: at most 2"),
    ("region_code", "A1", "must be a two-letter country code"),
    ("id", "../../etc/passwd", "must be a TikTok video id: 1 to 20 digits, not '../../etc/passwd'"),
    ("id", "١٢٣", "must be a TikTok video id"),  # digits, but not ASCII ones
    ("id", "9" * 21, "must be a TikTok video id"),
    ("id", -1, "a whole number from 0 to 2^64-1"),
    ("video_description", "a\x00b", "contains a NUL character"),
    ("hashtag_names", ["ok", "t" * 201], "201 characters long: at most 200"),
    ("hashtag_names", ["t"] * 1001, "lists 1,001 tags: at most 1,000"),
    ("voice_to_text", "v" * 100_001, "100,001 characters long: at most 100,000"),
    ("music_id", "m" * 65, "65 characters long: at most 64"),
    ("music_id", "m\x00", "contains a NUL character"),
    ("hashtag_names", ["a\x00b"], "contains a NUL character"),
    ("voice_to_text", "v\x00", "contains a NUL character"),
    ("id", 2**64, "must be an integer or a string"),  # orjson reads it as a float
    ("view_count", 10**15 + 1, "is impossibly large (1000000000000001)"),
    ("like_count", 10**15 + 1, "is impossibly large"),
    ("comment_count", -1, "must not be negative (got -1)"),
    ("share_count", 10**30, "is impossibly large"),
    ("video_duration", 10**15 + 1, "is impossibly large"),
    ("create_time", 1_388_534_399, "1388534399 is not a plausible time (Unix seconds between 2014"),
    ("create_time", 4_102_444_800, "4102444800 is not a plausible time"),
    ("collected_at", 4_102_444_800, "4102444800 is not a plausible time"),
    ("collected_at", "2100-01-01T00:00:00+00:00", "4102444800 is not a plausible time"),
]


def _line(record: dict[str, Any]) -> bytes:
    # The standard library writes integers past 64 bits, which orjson refuses to.
    return json.dumps(record, separators=(",", ":")).encode() + b"\n"


@pytest.mark.parametrize(("field", "value", "message"), HOSTILE, ids=lambda v: str(v)[:20])
def test_hostile_field_is_refused_on_both_paths_naming_file_line_and_field(
    tmp_path: Path,
    make_record: Callable[..., dict[str, Any]],
    field: str,
    value: Any,
    message: str,
) -> None:
    path = tmp_path / "hostile.jsonl"
    path.write_bytes(_line(make_record()) + _line(make_record(**{field: value})))
    expected = f"{path}, line 2, field '{field}': "
    with pytest.raises(InputError) as slow:
        list(read_observations(path))
    with pytest.raises(InputError) as fast:
        collect_videos(read_observations(path), cutoff=2_000_000_000)
    assert str(slow.value).startswith(expected)
    assert message in str(slow.value)
    assert str(fast.value) == str(slow.value)


def test_duplicate_json_keys_are_refused_naming_the_key(
    tmp_path: Path, make_record: Callable[..., dict[str, Any]]
) -> None:
    good = _line(make_record())
    twice = good.replace(b'"view_count":1000', b'"view_count":1000,"view_count":99999999')
    spaced = good.replace(b'"view_count":1000', b'"view_count" :1,"view_count":5')
    for n, line in enumerate([twice, spaced]):
        path = tmp_path / f"twice{n}.jsonl"
        path.write_bytes(good + line)
        for read in (list, lambda obs: collect_videos(obs, cutoff=2_000_000_000)):
            with pytest.raises(InputError, match=r"line 2, field 'view_count': the key appears"):
                read(read_observations(path))


def test_a_value_holding_quote_colon_is_not_taken_for_a_repeated_key(
    tmp_path: Path, make_record: Callable[..., dict[str, Any]]
) -> None:
    line = _line(make_record(video_description='he said "x": y #TikTokdanÖyrən'))
    path = tmp_path / "ok.jsonl"
    path.write_bytes(line)
    assert keys_may_repeat(line, orjson.loads(line))  # the exact check runs, and finds nothing
    check_keys_once(line, orjson.loads(line), path="ok", line=1)
    (video,) = collect_videos(read_observations(path), cutoff=2_000_000_000).values()
    assert video.meta.description.startswith('he said "x"')


def test_nested_repeated_key_is_found() -> None:
    raw = b'{"a": {"b": 1, "b": 2}}'
    with pytest.raises(InputError, match="field 'b'"):
        check_keys_once(raw, orjson.loads(raw), path="f", line=3)


def test_csv_with_a_byte_order_mark_is_read(
    tmp_path: Path, make_record: Callable[..., dict[str, Any]]
) -> None:
    path = tmp_path / "excel.csv"
    rec = make_record()
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rec))
        writer.writeheader()
        writer.writerow(rec)
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    (obs,) = read_observations(path)
    assert obs.video_id == str(rec["id"])


HEADER = b"id,username,create_time,view_count,collected_at\n"
ROW = b"1,a,1700000000,1,1700000001\n"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"id,username\n1,a\n", "line 1, field 'create_time': missing column"),
        (b"id," + HEADER, "line 1, field 'id': the column appears twice"),
        (
            HEADER + ROW + b'2,"b\n',
            "line 3: not valid",
        ),
        (
            HEADER + ROW + b"\xff\xfe,x\n",
            "line 3: not",
        ),
        (b"id,username,create_time,view_count,collected_at\n1,a,x,1,1,9\n", "line 2: more values"),
    ],
    ids=["missing", "twice", "quote", "utf8", "extra"],
)
def test_every_csv_error_names_its_line(tmp_path: Path, body: bytes, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(body)
    with pytest.raises(InputError, match=message):
        list(read_observations(path))


def test_decisions_and_removals_refuse_repeated_keys(tmp_path: Path) -> None:
    decisions = tmp_path / "d.jsonl"
    decisions.write_text(
        '{"video_id": "1", "action": "exclude", "reason": "r", "action": "include"}\n'
    )
    removals = tmp_path / "r.jsonl"
    removals.write_text('{"video_id": "1", "reason": "deleted", "video_id": "2"}\n')
    with pytest.raises(InputError, match="line 1, field 'action': the key appears twice"):
        list(read_decisions(decisions))
    with pytest.raises(InputError, match="line 1, field 'video_id': the key appears twice"):
        list(read_removals(removals))


def test_connector_answer_with_a_repeated_key_is_unreadable() -> None:
    from oyren.collect.connectors.answers import json_object

    twice = httpx.Response(200, content=b'{"data": {}, "data": {"videos": []}}')
    once = httpx.Response(200, content=b'{"data": {"videos": []}}')
    assert (json_object(twice), json_object(once)) == (None, {"data": {"videos": []}})


# A decision's or removal's time is bounded like a judgment's (1970 to 2100: a bundle may hold
# decisions stored before these bounds, and must still verify): a time of 10^18 seconds was once
# stored and then broke every later reading of the log (`oyren bundle` and `oyren award` stopped
# with a traceback converting it to a date).
RECORD_LIMITS: list[tuple[str, Any, str]] = [
    ("at", 10**18, "1000000000000000000 is not a plausible time (Unix seconds between 1970"),
    ("at", -1, "-1 is not a plausible time"),
    ("at", "9999-12-31T00:00:00+00:00", "is not a plausible time"),
    ("at", "1969-12-31T23:59:59+00:00", "-1 is not a plausible time"),
]


@pytest.mark.parametrize("reader", ["decisions", "removals"])
@pytest.mark.parametrize(("field", "value", "message"), RECORD_LIMITS, ids=lambda v: str(v)[:20])
def test_decision_and_removal_files_bound_their_times_naming_file_line_and_field(
    tmp_path: Path, reader: str, field: str, value: Any, message: str
) -> None:
    good: dict[str, Any] = {"video_id": "7340000000000000001", "reason": "re-upload",
                            "at": "2024-04-25T10:00:00+04:00", "by": "mona"}  # fmt: skip
    if reader == "decisions":
        good["action"] = "exclude"
    path = tmp_path / f"{reader}.jsonl"
    path.write_bytes(_line(good) + _line({**good, field: value}))
    read = read_decisions if reader == "decisions" else read_removals
    assert len(read(_first_line(path, tmp_path))) == 1  # the same line within the bounds is read
    with pytest.raises(InputError) as refused:
        read(path)
    assert str(refused.value).startswith(f"{path}, line 2, field '{field}': ")
    assert message in str(refused.value)


def _first_line(path: Path, folder: Path) -> Path:
    one = folder / f"one-{path.name}"
    one.write_bytes(path.read_bytes().splitlines(keepends=True)[0])
    return one


# In a CSV every value is text; a cell past 131,072 characters is refused by the CSV reader itself
# ("line N: not valid CSV (field larger than field limit)"), before any field is read.
CSV_HOSTILE = [row for row in HOSTILE if isinstance(row[1], str) and len(row[1]) <= 131_072] + [
    ("id", "-1", "must be a TikTok video id: 1 to 20 digits, not '-1'"),
    ("view_count", "1000000000000001", "is impossibly large"),
    ("like_count", "-1", "must not be negative"),
    ("create_time", "1388534399", "is not a plausible time"),
    ("collected_at", "2100-01-01T00:00:00+00:00", "is not a plausible time"),
]


@pytest.mark.parametrize(("field", "value", "message"), CSV_HOSTILE, ids=lambda v: str(v)[:20])
def test_hostile_field_in_a_csv_is_refused_naming_file_line_and_field(
    tmp_path: Path,
    make_record: Callable[..., dict[str, Any]],
    field: str,
    value: Any,
    message: str,
) -> None:
    path = tmp_path / "hostile.csv"
    good = make_record(voice_to_text="hello", music_id="123")
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(good))
        writer.writeheader()
        writer.writerow(good)
        writer.writerow({**good, field: value})
    with pytest.raises(InputError) as refused:
        list(read_observations(path))
    assert str(refused.value).startswith(f"{path}, line 3, field '{field}': ")
    assert message in str(refused.value)


@pytest.mark.parametrize(
    ("depth", "refused"), [(MAX_DEPTH, False), (MAX_DEPTH + 1, True), (1020, True)]
)
def test_keys_are_checked_up_to_a_depth_and_deeper_lines_refused(
    tmp_path: Path, make_record: Callable[..., dict[str, Any]], depth: int, refused: bool
) -> None:
    # orjson reads up to 1,024 levels; the standard parser that finds repeated keys would hit
    # Python's recursion limit first. Deeper than MAX_DEPTH is refused by name, never a crash.
    # The record is level 1, {"b": …} level 2, and the arrays the rest.
    nested = b'{"b": ' + b"[" * (depth - 2) + b"]" * (depth - 2) + b"}"
    raw = orjson.dumps(make_record())[:-1] + b', "x": ' + nested + b"}"
    record = orjson.loads(raw)
    path = tmp_path / "deep.jsonl"
    path.write_bytes(raw + b"\n")
    if refused:
        message = f"objects or arrays nested more than {MAX_DEPTH} levels deep"
        with pytest.raises(InputError, match=rf"^f, line 4: {message}$"):
            check_keys_once(raw, record, path="f", line=4)
        with pytest.raises(InputError, match=rf"deep\.jsonl, line 1: {message}$"):
            list(read_observations(path))
    else:
        check_keys_once(raw, record, path="f", line=4)
        assert [obs.video_id for obs in read_observations(path)] == [str(record["id"])]
