"""The streamed run against the results held in memory: the same bytes, a batch at a time.

The campaigns are the differential test's (every trap the rules know, with decisions, removals,
judgments and ties at the metadata instant); the oracle is the pure engine's results and their
JSON, :func:`oyren.rules.results.results_json`.
"""

from __future__ import annotations

import io
from datetime import datetime
from pathlib import Path
from typing import Any
from unittest.mock import patch
from zoneinfo import ZoneInfo

import duckdb
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oyren.batch import screen_plan, stream
from oyren.batch.evaluate import decide
from oyren.batch.plan import duckdb_plan
from oyren.batch.runs import RunInputs, decided_files, run_files
from oyren.batch.stream import InMemory, Streamed, decide_streamed, summarize
from oyren.errors import InputError
from oyren.inputs.columnar import write_observations_parquet
from oyren.inputs.observations import observation_from_record
from oyren.rules.campaign import load_campaign
from oyren.rules.results import Entry, Flag, Results, Winners, results_json
from oyren.rules.videos import collect_videos
from oyren.rules.views import BASES
from tests.batch.test_plan import _campaign, _parquet, campaigns

ROOT = Path(__file__).resolve().parents[2]
SANDBOX = load_campaign(ROOT / "src" / "oyren" / "data" / "sandbox-2024.toml")


def _streamed_bytes(decided: Streamed) -> bytes:
    out = io.BytesIO()
    decided.write_json(out)
    return out.getvalue()


def _streams_as_the_pure_engine(case: dict[str, Any], *, screen: bool) -> None:
    campaign = _campaign(case)
    observations = [observation_from_record(r) for r in case["records"]]
    videos = collect_videos(observations, cutoff=campaign.cutoff_ts)
    expected = decide(campaign, videos, decisions=case["decisions"], removals=case["removals"],
                      judgments=case["judgments"], screen=screen)  # fmt: skip
    with _parquet(case) as path, duckdb_plan(path) as runner:
        decided = decide_streamed(
            campaign, runner, decisions=case["decisions"], removals=case["removals"],
            judgments=case["judgments"], screen=screen,
        )  # fmt: skip
        assert _streamed_bytes(decided) == results_json(expected)
        assert decided.summary(top=3) == summarize(expected, top=3)


@given(case=campaigns())
@settings(max_examples=80, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])  # fmt: skip
def test_streamed_output_is_the_pure_engines_json_byte_for_byte(case: dict[str, Any]) -> None:
    _streams_as_the_pure_engine(case, screen=False)


@given(case=campaigns())
@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])  # fmt: skip
def test_streamed_output_with_screening_is_the_pure_engines_json_byte_for_byte(
    case: dict[str, Any],
) -> None:
    _streams_as_the_pure_engine(case, screen=True)


@given(case=campaigns(), points=st.integers(1, 12))
@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])  # fmt: skip
def test_streamed_output_screened_a_few_points_at_a_time_is_the_pure_engines(
    case: dict[str, Any], points: int
) -> None:
    with patch.object(screen_plan, "SCREEN_POINTS", points):
        _streams_as_the_pure_engine(case, screen=True)


def test_a_file_of_many_batches_streams_what_the_in_memory_run_gives(tmp_path, monkeypatch):
    from oyren.sandbox.bulk import write_bulk

    path = tmp_path / "sim.parquet"
    write_bulk(SANDBOX, path, videos=2_000, seed=5, observations_per_video=4)
    monkeypatch.setattr(stream, "BATCH_ROWS", 97)
    inputs = RunInputs(path)
    expected = run_files(SANDBOX, inputs, screen=False, engine="duckdb")
    seen: dict[str, list[tuple[int, int | None]]] = {}
    with decided_files(
        SANDBOX, inputs, screen=False, engine="duckdb",
        phase=lambda what, done, total: seen.setdefault(what, []).append((done, total)),
    ) as decided:  # fmt: skip
        assert isinstance(decided, Streamed)
        out = io.BytesIO()
        decided.write_json(out)
        assert out.getvalue() == results_json(expected)
        assert decided.summary() == summarize(expected)
    # Every step of the run reported, each ending done; entries were written batch by batch.
    assert set(seen) == {"deciding videos", "deciding tied videos", "ranking videos",
                         "summing creators",
                         "writing entries", "writing creators"}  # fmt: skip
    assert all(steps[-1][0] == steps[-1][1] for steps in seen.values())
    assert len(seen["writing entries"]) == 1 + -(-len(expected.entries) // 97)


def test_no_observations_stream_empty_lists(tmp_path):
    path = tmp_path / "empty.parquet"
    write_observations_parquet([], path)
    for screen in (False, True):
        with duckdb_plan(path) as runner:
            decided = decide_streamed(SANDBOX, runner, screen=screen)
            expected = decide(SANDBOX, {}, screen=screen)
            assert _streamed_bytes(decided) == results_json(expected)
            assert decided.summary() == summarize(expected)


def test_other_engines_are_held_in_memory(write_jsonl, make_record):
    inputs = RunInputs(write_jsonl([make_record()]))
    for screen in (True, False):
        with decided_files(SANDBOX, inputs, screen=screen, engine="python") as decided:
            assert isinstance(decided, InMemory)
            out = io.BytesIO()
            decided.write_json(out)
            expected = run_files(SANDBOX, inputs, screen=screen, engine="python")
            assert out.getvalue() == results_json(expected)


def test_a_screened_run_streams_the_flags_and_topics_of_the_pure_screener(tmp_path, monkeypatch):
    # A planted campaign raises every kind of flag; the pure engine screening it is the oracle.
    from oyren.sandbox.plants import plant
    from oyren.sandbox.simulate import DAY, observations, sandbox_campaign, simulate

    campaign = sandbox_campaign()
    rows = list(observations(plant(simulate(campaign, videos=600, seed=21)), every_s=DAY // 4))
    path = tmp_path / "planted.parquet"
    write_observations_parquet(rows, path)
    monkeypatch.setattr(stream, "BATCH_ROWS", 97)
    # The series screened a few hundred points at a time: many parts, and the same flags.
    monkeypatch.setattr(screen_plan, "SCREEN_POINTS", 300)
    videos = collect_videos(rows, cutoff=campaign.cutoff_ts)
    expected = decide(campaign, videos, screen=True)
    seen: dict[str, list[tuple[int, int | None]]] = {}
    with decided_files(
        campaign, RunInputs(path), engine="duckdb",
        phase=lambda what, done, total: seen.setdefault(what, []).append((done, total)),
    ) as decided:  # fmt: skip
        assert isinstance(decided, Streamed)
        out = io.BytesIO()
        decided.write_json(out)
        assert out.getvalue() == results_json(expected)
        assert decided.summary(top=600) == summarize(expected, top=600)
    # Screening's bar moves through its steps (not only at its end), never back, to 100 %.
    screening = seen["screening videos"]
    done = [d for d, _ in screening]
    assert done == sorted(done) and done[0] == 0 and screening[-1] == (100, 100)
    assert {40, 50, 75, 95} <= set(done)
    flagged = [e for e in expected.entries if e.flags]
    assert {f.code for e in flagged for f in e.flags} >= {"view_spike", "duplicate_upload"}
    assert any(e.eligible for e in flagged)  # flags reach the summary's top entries too
    assert len({e.topic for e in expected.entries}) > 3


def test_a_screened_run_without_themes_streams_no_topics(tmp_path):
    import dataclasses

    from oyren.inputs.columnar import read_observation_file
    from oyren.sandbox.bulk import write_bulk

    bare = dataclasses.replace(SANDBOX, themes=())
    path = tmp_path / "bulk.parquet"
    write_bulk(SANDBOX, path, videos=300, seed=3, observations_per_video=4)
    rows = read_observation_file(path)
    expected = decide(bare, collect_videos(rows, cutoff=bare.cutoff_ts), screen=True)
    with duckdb_plan(path) as runner:
        decided = decide_streamed(bare, runner, screen=True)
        assert _streamed_bytes(decided) == results_json(expected)
    assert {(e.topic, e.topic_confidence) for e in expected.entries} == {(None, None)}


def test_a_bad_line_is_named_before_anything_is_written(write_jsonl, make_record):
    inputs = RunInputs(write_jsonl([make_record(), make_record(view_count="many")]))
    with (
        pytest.raises(InputError, match=r"line 2.*view_count"),
        decided_files(SANDBOX, inputs, screen=False, engine="duckdb"),
    ):
        pytest.fail("the run went on past a bad line")


_TEXTS = st.text(alphabet=st.characters(codec="utf-8"), max_size=12)
_INTS = st.integers(min_value=-(2**63), max_value=2**64 - 1)  # what JSON numbers orjson writes
_FLAGS = st.builds(
    Flag,
    code=_TEXTS,
    score=st.floats(allow_nan=False, allow_infinity=False),
    explanation=_TEXTS,
    evidence=st.lists(
        st.tuples(_TEXTS, st.one_of(_INTS, st.floats(allow_nan=False), _TEXTS,
                                    st.lists(_INTS, max_size=3).map(tuple))),
        max_size=3,
    ).map(tuple),
)  # fmt: skip


@given(
    video_id=st.one_of(st.from_regex(r"[0-9]{1,20}", fullmatch=True), _TEXTS),
    username=_TEXTS,
    create_time=st.integers(min_value=0, max_value=4_102_444_799),
    mask=st.integers(min_value=0, max_value=2 ** len(stream.REASON_BITS) - 1),
    views=st.integers(min_value=0, max_value=10**15),
    basis=st.integers(min_value=0, max_value=len(BASES) - 1),
    n_obs=st.integers(min_value=1, max_value=10**6),
    gap_s=st.one_of(st.none(), st.integers(min_value=0, max_value=10**9)),
    flags=st.lists(_FLAGS, max_size=2).map(tuple),
    topic=st.one_of(st.none(), _TEXTS),
    confidence=st.one_of(st.none(), st.floats(allow_nan=False, allow_infinity=False)),
)
@settings(max_examples=200, deadline=None)
def test_an_entry_written_from_its_row_is_the_results_json_of_the_entry(
    video_id, username, create_time, mask, views, basis, n_obs, gap_s, flags, topic, confidence
):
    reasons = stream.reasons_of_mask(mask)
    entry = Entry(video_id, username, create_time, not reasons, reasons, views, BASES[basis],
                  n_obs, gap_s, flags, topic, confidence)  # fmt: skip
    row = (video_id, username, create_time, mask, views, basis, n_obs, gap_s, topic, confidence)
    (written,) = _written([row], SANDBOX.cutoff.tzinfo, {video_id: flags})
    document = results_json(Results(SANDBOX.id, SANDBOX.cutoff, (entry,), Winners()))
    assert b'"entries": [\n' + written + b"\n  ]," in document


def _written(
    rows: list[tuple[Any, ...]], tz: Any, flags: dict[str, tuple[Flag, ...]]
) -> list[bytes]:
    """The entries the database writes for ``rows`` (the columns of stream._SHOWN), in order."""
    con = duckdb.connect()
    try:
        con.execute(
            "CREATE TABLE ranked (video_id VARCHAR, username VARCHAR, create_time BIGINT,"
            " reasons INTEGER, views BIGINT, basis INTEGER, n_obs BIGINT, gap_s BIGINT,"
            " topic VARCHAR, confidence DOUBLE, pos BIGINT)"
        )
        con.executemany(
            "INSERT INTO ranked VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(*row, i) for i, row in enumerate(rows)],
        )
        texts = stream._EntryTexts(tz, flags)
        return [text.encode() for (text,) in con.execute(texts.query(con, "ranked")).fetchall()]
    finally:
        con.close()


def test_every_code_point_is_written_as_orjson_writes_it():
    """Usernames and ids are written by the database: every character alone and between two
    others, as orjson writes it."""
    points = [chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]
    texts = [*points, *(f"a{c}b" for c in points[:0x3000])]
    con = duckdb.connect()
    try:
        (written,) = con.execute(
            f"SELECT list_transform(?::VARCHAR[], lambda x: {stream._json_string('x')})", [texts]
        ).fetchone()
    finally:
        con.close()
    assert [text for text, got in zip(texts, written, strict=True)
            if got != orjson.dumps(text).decode()] == []  # fmt: skip


def test_confidences_are_written_as_orjson_writes_them():
    """Every confidence the screener gives (rounded to six places, 0 to 1), and others on both
    sides of where DuckDB's writing is taken as it stands."""
    values = [k / 10**6 for k in range(10**6 + 1)]
    values += [
        -0.0,
        1e-4,
        9.999999e-5,
        1e15,
        1e15 - 0.5,
        123456.789,
        5e-324,
        1.7976931348623157e308,
    ]
    rows = [("1", "a", 0, 0, 0, 0, 1, None, None, v) for v in values[-10:]]
    con = duckdb.connect()
    try:
        (plain,) = con.execute(
            f"SELECT list_transform(?::DOUBLE[], lambda x: CASE WHEN {stream._plain('x')}"
            " THEN x::VARCHAR END)",
            [values],
        ).fetchone()
    finally:
        con.close()
    assert [(v, got) for v, got in zip(values, plain, strict=True)
            if got is not None and got != orjson.dumps(v).decode()] == []  # fmt: skip
    assert sum(got is None for got in plain) == 99 + 4  # below 1e-4 (and 5e-324), 1e15 on
    written = _written(rows, SANDBOX.cutoff.tzinfo, {})
    got = [orjson.loads(b"{" + text.split(b"{", 1)[1])["topic_confidence"] for text in written]
    assert got == values[-10:]
    assert [text.rsplit(b'"topic_confidence": ', 1)[1].split(b"\n")[0] for text in written] == [
        orjson.dumps(v) for v in values[-10:]
    ]


_ZONES = ("Asia/Baku", "Europe/Berlin", "America/St_Johns", "Asia/Kathmandu",
          "Australia/Lord_Howe", "Pacific/Chatham", "America/Sao_Paulo", "UTC")  # fmt: skip


def _isoformat(ts: int, tz: ZoneInfo) -> bytes:
    return orjson.dumps(datetime.fromtimestamp(ts, tz=tz).isoformat())


def _changes(tz: ZoneInfo) -> list[int]:
    """Every instant from 2014 to 2030 at which ``tz`` changes its offset (found day by day, then
    to the second)."""
    changes = []
    day = 86_400
    for start in range(1_388_534_400, 1_924_992_000, day):
        if (
            datetime.fromtimestamp(start, tz).utcoffset()
            != datetime.fromtimestamp(start + day, tz).utcoffset()
        ):
            low, high = start, start + day
            while high - low > 1:
                mid = (low + high) // 2
                same = datetime.fromtimestamp(mid, tz).utcoffset()
                low, high = (
                    (mid, high)
                    if same == datetime.fromtimestamp(low, tz).utcoffset()
                    else (low, mid)
                )
            changes.append(high)
    return changes


def _around(changes: list[int]) -> list[int]:
    """Each second near each change, and every quarter of an hour of the day around it."""
    day = 86_400
    return sorted(
        {ts for change in changes
         for ts in [*range(change - 5, change + 5), *range(change - day, change + day, 900)]}
    )  # fmt: skip


@pytest.mark.parametrize("zone", _ZONES)
def test_posted_at_is_isoformat_around_every_change_of_offset(zone):
    tz = ZoneInfo(zone)
    texts = stream._EntryTexts(tz, {})
    changes = _changes(tz)
    assert changes or zone in ("UTC", "Asia/Kathmandu"), "the zone changes offset in these years"
    for ts in _around(changes):
        assert texts.posted_at(ts) == _isoformat(ts, tz), (zone, ts)
    if zone in ("America/St_Johns", "Australia/Lord_Howe"):  # changes at half past a UTC hour
        assert None in texts.hours.values()


@pytest.mark.parametrize("zone", _ZONES)
def test_the_database_writes_posted_at_as_isoformat_around_every_change_of_offset(zone):
    tz = ZoneInfo(zone)
    instants = [*_around(_changes(tz)), -86_401, -1, 0, 1, 86_399, 4_102_444_799]
    rows = [("1", "a", ts, 0, 0, 0, 1, None, None, None) for ts in instants]
    written = _written(rows, tz, {})
    got = [orjson.loads(b"{" + text.split(b"{", 1)[1])["posted_at"] for text in written]
    assert got == [orjson.loads(_isoformat(ts, tz)) for ts in instants]


@given(ts=st.integers(min_value=0, max_value=4_102_444_799), zone=st.sampled_from(_ZONES))
@settings(max_examples=300, deadline=None)
def test_posted_at_is_isoformat_at_any_instant(ts, zone):
    tz = ZoneInfo(zone)
    assert stream._EntryTexts(tz, {}).posted_at(ts) == _isoformat(ts, tz)


def test_entries_come_in_rank_order_from_a_connection_free_to_reorder():
    """The texts are made after the sort, on a connection that may otherwise return rows in any
    order: 200,000 entries ranked in a shuffled order come back in rank order."""
    con = duckdb.connect(config={"preserve_insertion_order": False, "threads": 2})
    try:
        con.execute(
            "CREATE TABLE ranked AS SELECT (i * 7919 % 200000)::VARCHAR AS video_id,"
            " 'u' || i AS username, 1700000000 + i AS create_time, (i % 3)::INTEGER AS reasons,"
            " i AS views, 0 AS basis, 1::BIGINT AS n_obs, NULL::BIGINT AS gap_s,"
            " NULL::VARCHAR AS topic, NULL::DOUBLE AS confidence,"
            " (i * 104729 % 200000) AS pos FROM range(200000) AS t(i)"
        )
        decided = Streamed(SANDBOX, con, Winners())
        ids = [orjson.loads(b"{" + text.split(b"{", 1)[1])["video_id"]
               for batch in decided._entry_texts() for text in batch]  # fmt: skip
        expected = [
            row[0] for row in con.execute("SELECT video_id FROM ranked ORDER BY pos").fetchall()
        ]
        assert ids == expected
        assert con.execute("SELECT current_setting('preserve_insertion_order')").fetchall() == [
            (False,)
        ]
    finally:
        con.close()
