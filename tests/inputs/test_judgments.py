"""Tests for judgments: the Judgment type and reading a judgments file."""

from __future__ import annotations

import json
from pathlib import Path

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oyren.errors import InputError
from oyren.inputs.judgments import (
    MAX_RANKING,
    Judgment,
    active,
    read_judgments,
    tiebreak,
    without_judges,
)

ENTRIES = frozenset({"101", "102", "103", "104", "105"})


@pytest.fixture
def write(tmp_path: Path):  # type: ignore[no-untyped-def]
    """Write lines (objects are JSON-encoded) to a judgments file and return its path."""

    def _write(*lines: object, raw: bytes | None = None) -> Path:
        path = tmp_path / "judgments.jsonl"
        if raw is not None:
            path.write_bytes(raw)
            return path
        text = [line if isinstance(line, str) else orjson.dumps(line).decode() for line in lines]
        path.write_text("\n".join(text) + "\n", encoding="utf-8")
        return path

    return _write


def error_of(path: Path, entries: frozenset[str] = ENTRIES) -> InputError:
    with pytest.raises(InputError) as caught:
        read_judgments(path, entries)
    return caught.value


def test_read_judgments_reads_every_form(write) -> None:  # type: ignore[no-untyped-def]
    path = write(
        {"judge": "aysel", "winner": "101", "loser": "102", "at": "2024-04-25T10:00:00+04:00"},
        {"judge": "aysel", "tie": ["103", "104"]},
        {"judge": "murad", "ranking": ["105", "101", "103"], "at": 1714024800},
        {"judge": "murad", "skip": ["102"]},
        {"judge": "murad", "winner": 104, "loser": 105, "undone": True, "note": "misclick"},
    )
    assert read_judgments(path, ENTRIES) == [
        Judgment("aysel", "pair", ("101", "102"), 1714024800),
        Judgment("aysel", "tie", ("103", "104")),
        Judgment("murad", "ranking", ("105", "101", "103"), 1714024800),
        Judgment("murad", "skip", ("102",)),
        Judgment("murad", "pair", ("104", "105"), None, True),
    ]


def test_read_judgments_ranking_of_two_is_a_pair(write) -> None:  # type: ignore[no-untyped-def]
    path = write({"judge": "aysel", "ranking": ["102", "101"]})
    assert read_judgments(path, ENTRIES) == [Judgment.pair("aysel", "102", "101")]


def test_read_judgments_skips_blank_lines_and_byte_order_mark(write) -> None:  # type: ignore[no-untyped-def]
    line = orjson.dumps({"judge": "aysel", "winner": "101", "loser": "102"})
    path = write(raw=b"\xef\xbb\xbf" + line + b"\n\n   \n" + line + b"\n")
    assert read_judgments(path, ENTRIES) == [Judgment.pair("aysel", "101", "102")] * 2


def test_read_judgments_unknown_id_names_line_and_field(write) -> None:  # type: ignore[no-untyped-def]
    path = write(
        {"judge": "aysel", "winner": "101", "loser": "102"},
        {"judge": "aysel", "ranking": ["101", "999", "102"]},
    )
    error = error_of(path)
    assert (error.path, error.line, error.field) == (str(path), 2, "ranking")
    assert "'999' is not an entry" in str(error)


@pytest.mark.parametrize(
    ("record", "field", "reason"),
    [
        ({"winner": "101", "loser": "102"}, "judge", "required field is missing"),
        ({"judge": "  ", "winner": "101", "loser": "102"}, "judge", "non-empty string"),
        ({"judge": 7, "winner": "101", "loser": "102"}, "judge", "non-empty string"),
        ({"judge": "a" * 101, "winner": "101", "loser": "102"}, "judge", "longer than"),
        ({"judge": "a", "winner": "101"}, "loser", "required field is missing"),
        ({"judge": "a", "winner": "101", "loser": "101"}, "loser", "same entry"),
        ({"judge": "a", "winner": True, "loser": "101"}, "winner", "not a boolean"),
        ({"judge": "a", "winner": 1.5, "loser": "101"}, "winner", "not a number"),
        ({"judge": "a", "winner": ["101"], "loser": "102"}, "winner", "not a list"),
        ({"judge": "a", "winner": "1 01", "loser": "102"}, "winner", "is not an id"),
        ({"judge": "a", "winner": "9" * 65, "loser": "102"}, "winner", "is not an id"),
        ({"judge": "a", "tie": ["101"]}, "tie", "exactly 2 ids, not 1"),
        ({"judge": "a", "tie": "101,102"}, "tie", "must be a list of ids, not a string"),
        ({"judge": "a", "ranking": ["101", "102", "101"]}, "ranking", "'101' appears twice"),
        ({"judge": "a", "ranking": ["101"]}, "ranking", f"2 to {MAX_RANKING} ids, not 1"),
        ({"judge": "a", "ranking": {"1": "101"}}, "ranking", "not an object"),
        ({"judge": "a", "skip": []}, "skip", "1 to"),
        ({"judge": "a", "winner": "101", "loser": "102", "undone": "yes"}, "undone", "true or"),
        ({"judge": "a", "winner": "101", "loser": "102", "at": "2024-04-25"}, "at", "offset"),
        ({"judge": "a", "winner": "101", "loser": "102", "at": "yesterday"}, "at", "ISO 8601"),
        ({"judge": "a", "winner": "101", "loser": "102", "at": 1.5}, "at", "not a number"),
        ({"judge": "a", "winner": "101", "loser": "102", "at": -5}, "at", "not a plausible"),
        # A time past year 9999 once written as text could not be shown as a date.
        (
            {"judge": "a", "winner": "101", "loser": "102", "at": "9999-12-31T23:59:59-23:59"},
            "at",
            "not a plausible",
        ),
        (
            {"judge": "a", "winner": "101", "loser": "102", "at": "2100-01-01T00:00:00Z"},
            "at",
            "not a plausible",
        ),
        ({"judge": "a", "tiebreak": ["101", "102"]}, "reason", "needs a reason"),
        ({"judge": "a", "tiebreak": ["101", "102"], "reason": " \x00"}, "reason", "needs a reason"),
        ({"judge": "a", "tiebreak": ["101", "102"], "reason": 5}, "reason", "needs a reason"),
        ({"judge": "a", "tiebreak": ["101", "102"], "reason": "x" * 2001}, "reason", "longer"),
        ({"judge": "a", "tiebreak": ["101"], "reason": "x"}, "tiebreak", "exactly 2 ids"),
        ({"judge": "a", "tiebreak": ["101", "101"], "reason": "x"}, "tiebreak", "appears twice"),
        ({"judge": "a", "tiebreak": ["101", "999"], "reason": "x"}, "tiebreak", "not an entry"),
    ],
)
def test_read_judgments_bad_field_names_it(write, record, field, reason) -> None:  # type: ignore[no-untyped-def]
    error = error_of(write({"judge": "ok", "tie": ["104", "105"]}, record))
    assert (error.line, error.field) == (2, field)
    assert reason in error.reason


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ('{"judge": "a", "winner": "101", "loser": ', "not valid JSON"),
        ("[1, 2]", "expected a JSON object"),
        ('"text"', "expected a JSON object"),
        ('{"judge": "a"}', 'needs "winner" and "loser"'),
        ('{"judge": "a", "winner": "101", "loser": "102", "tie": ["101", "102"]}', "mixes"),
        ('{"judge": "a", "ranking": ["101", "102"], "skip": ["103"]}', "mixes"),
    ],
)
def test_read_judgments_bad_line_names_it(write, line, reason) -> None:  # type: ignore[no-untyped-def]
    error = error_of(write({"judge": "ok", "tie": ["104", "105"]}, line))
    assert (error.line, error.field) == (2, None)
    assert reason in error.reason


def test_read_judgments_not_utf8_is_an_input_error(write) -> None:  # type: ignore[no-untyped-def]
    error = error_of(write(raw=b'{"judge": "\xff", "winner": "101", "loser": "102"}\n'))
    assert error.line == 1


def test_read_judgments_missing_file_is_an_input_error(tmp_path: Path) -> None:
    error = error_of(tmp_path / "nowhere.jsonl")
    assert "cannot open" in error.reason


def test_read_judgments_deep_nesting_is_an_input_error(write) -> None:  # type: ignore[no-untyped-def]
    error = error_of(write(raw=b'{"judge": ' + b"[" * 100_000 + b"]" * 100_000 + b"}\n"))
    assert error.line == 1


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=200))
def test_read_judgments_hostile_bytes_raise_only_input_errors(
    tmp_path_factory, data: bytes
) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path_factory.mktemp("hostile") / "judgments.jsonl"
    path.write_bytes(data)
    try:
        judgments = read_judgments(path, ENTRIES)
    except InputError as error:
        assert error.path == str(path)
    else:
        assert all(set(j.entries) <= ENTRIES for j in judgments)


@settings(max_examples=100, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["judge", "winner", "loser", "tie", "ranking", "skip", "undone", "at"]),
        st.recursive(
            st.none()
            | st.booleans()
            | st.integers()
            | st.floats()
            | st.sampled_from(sorted(ENTRIES)),
            lambda children: st.lists(children, max_size=4),
            max_leaves=6,
        ),
    )
)
def test_read_judgments_hostile_records_raise_only_input_errors(tmp_path_factory, record) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path_factory.mktemp("hostile") / "judgments.jsonl"
    path.write_text(json.dumps(record) + "\n", encoding="utf-8")  # json: big ints and NaN too
    try:
        read_judgments(path, ENTRIES)
    except InputError as error:
        assert error.line == 1


def test_judgment_rejects_impossible_answers() -> None:
    with pytest.raises(ValueError, match="twice"):
        Judgment.ranking("a", ["101", "102", "101"])
    with pytest.raises(ValueError, match="exactly two"):
        Judgment("a", "tie", ("101",))
    with pytest.raises(ValueError, match="needs a judge"):
        Judgment.pair("", "101", "102")
    with pytest.raises(ValueError, match="2 to"):
        Judgment.ranking("a", [str(i) for i in range(MAX_RANKING + 1)])


def test_active_drops_undone_answers_and_skips() -> None:
    kept = Judgment.pair("a", "101", "102")
    judgments = [
        kept,
        Judgment("a", "pair", ("103", "104"), undone=True),
        Judgment.skip("a", ["105"]),
    ]
    assert active(judgments) == [kept]


def test_without_judges_drops_every_answer_of_those_judges() -> None:
    mine = Judgment.tie("aysel", "101", "102")
    judgments = [mine, Judgment.pair("murad", "101", "102"), Judgment.skip("murad", ["103"])]
    assert without_judges(judgments, {"murad"}) == [mine]


def test_read_judgments_tiebreak_is_kept_but_never_counts(write) -> None:  # type: ignore[no-untyped-def]
    path = write(
        {"judge": "a", "winner": "101", "loser": "102"},
        {"judge": "ali", "tiebreak": ["102", "101"], "reason": "  bolder idea "},
    )
    read = read_judgments(path, ENTRIES)
    assert read[1] == Judgment("ali", "tiebreak", ("102", "101"), None, False, "bolder idea")
    assert active(read) == read[:1]
    assert tiebreak(read) == read[1]
    assert tiebreak(read[:1]) is None
    with pytest.raises(ValueError, match="reason"):
        Judgment("ali", "tiebreak", ("102", "101"))
