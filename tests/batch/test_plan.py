"""The query plan against the pure rules: identical results on every backend installed.

The differential test generates campaigns with every trap the rules know (window edges to the
second, 29/30/31 s, interpolation rounding, huge counts over months, the Turkish İ and longer
tags, partners in any case, one prize per creator, ties at the metadata instant, decisions,
removals, judgments) and requires the pure engine and the plan to agree on everything: entries,
reasons, views, basis, ranks, creators and winners. DuckDB always; PostgreSQL with the
``postgres`` marker; PySpark in local mode when it is installed (skipped with the reason if not).
"""

from __future__ import annotations

import dataclasses
import importlib.util
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oyren.batch.evaluate import decide, decide_with
from oyren.batch.plan import (
    DIALECTS,
    REASON_BITS,
    PlanEngine,
    duckdb_plan,
    plan_sql,
    run_files_plan,
)
from oyren.batch.runs import RunInputs, run_files
from oyren.errors import InputError
from oyren.inputs.columnar import write_observations_parquet
from oyren.inputs.judgments import Judgment
from oyren.inputs.observations import observation_from_record
from oyren.inputs.removals import Removal
from oyren.rules.campaign import Campaign, load_campaign
from oyren.rules.decisions import Decision
from oyren.rules.eligibility import REASONS
from oyren.rules.results import results_to_dict
from oyren.rules.videos import collect_videos

ROOT = Path(__file__).resolve().parents[2]
SANDBOX = load_campaign(ROOT / "src" / "oyren" / "data" / "sandbox-2024.toml")
CUT = SANDBOX.cutoff_ts
START = SANDBOX.window_start_ts
DAY = 86_400

HAS_SPARK = importlib.util.find_spec("pyspark") is not None


@st.composite
def campaigns(draw: st.DrawFn) -> dict[str, Any]:
    """A campaign's observations, decisions, removals and judgments, full of edge cases."""
    ids = draw(st.lists(st.integers(1, 40), min_size=1, max_size=12, unique=True))
    users = ["aysel", "Aysel", "kamran", "SANDBOX_TARIX_MUZEYI", "nigar", "İlkin", "ilkin"]
    tags = [
        "TikTokdanÖyrən", "TİKTOKDANÖYRƏN", "tiktokdanoyren", "tiktokdanoyren2", "LearnfromTikTok",
        "#learnfromtiktok", "elm", "TikTokdanOyren_", "ＴｉｋＴｏｋｄａｎＯｙｒｅｎ",
    ]  # fmt: skip
    times = [CUT - 60 * DAY, CUT - 3600, CUT - 1, CUT, CUT + 1, CUT + 7, CUT + 3600, CUT + 90 * DAY]
    creates = [START - 1, START, START + 1, CUT - 30 * DAY, CUT - 1, CUT, CUT + 1]
    records = []
    for video_id in ids:
        user = draw(st.sampled_from(users))
        create = draw(st.sampled_from(creates))
        for _ in range(draw(st.integers(1, 4))):
            collected = draw(st.sampled_from(times).filter(lambda t, c=create: t >= c)
                             | st.integers(create, CUT + 120 * DAY))  # fmt: skip
            record: dict[str, Any] = {
                "id": video_id,
                "username": draw(st.sampled_from([user, user.upper()])),
                "create_time": draw(st.sampled_from([create, create, max(START - 5, create - 1)])),
                "collected_at": max(collected, create),
                "view_count": draw(
                    st.integers(0, 50) | st.integers(0, 10**15) | st.sampled_from([3, 7, 10**9])
                ),
                "video_description": draw(st.sampled_from(["", "a", "b #elm"])),
                "hashtag_names": draw(st.lists(st.sampled_from(tags), max_size=3)),
                "video_duration": draw(st.sampled_from([None, 29, 30, 31, 120])),
                "region_code": draw(st.sampled_from([None, "AZ", "az", "TR"])),
                "like_count": draw(st.sampled_from([None, 0, 5])),
            }
            records.append({k: v for k, v in record.items() if v is not None})
    chosen = [str(i) for i in ids]
    decisions = [
        Decision(video_id, action, "checked by hand", "mod", at)
        for video_id, action, at in draw(
            st.lists(
                st.tuples(
                    st.sampled_from(chosen),
                    st.sampled_from(["include", "exclude"]),
                    st.integers(0, 3),
                ),
                max_size=4,
            )
        )
    ]
    removals = [
        Removal(v, "deleted", CUT) for v in draw(st.lists(st.sampled_from(chosen), max_size=2))
    ]
    judgments = []
    if len(chosen) >= 2:
        for judge in ("j1", "j2"):
            pair = draw(st.lists(st.sampled_from(chosen), min_size=2, max_size=2, unique=True))
            judgments.append(Judgment(judge, "pair", tuple(pair)))
    max_prizes = draw(st.sampled_from([1, 1, 2]))
    return {"records": records, "decisions": decisions, "removals": removals,
            "judgments": judgments, "max_prizes": max_prizes}  # fmt: skip


def _campaign(case: dict[str, Any]) -> Campaign:
    return dataclasses.replace(SANDBOX, max_prizes_per_creator=case["max_prizes"])


def _pure(case: dict[str, Any]) -> dict[str, Any]:
    campaign = _campaign(case)
    observations = [observation_from_record(r) for r in case["records"]]
    videos = collect_videos(observations, cutoff=campaign.cutoff_ts)
    results = decide(campaign, videos, decisions=case["decisions"], removals=case["removals"],
                     judgments=case["judgments"], screen=False)  # fmt: skip
    return results_to_dict(results)


def _by_plan(case: dict[str, Any], backend: str, runner: Any) -> dict[str, Any]:
    plan = PlanEngine(_campaign(case), runner, backend)
    plan.loaded = runner.load
    results = decide_with(plan, decisions=case["decisions"], removals=case["removals"],
                          judgments=case["judgments"], screen=False)  # fmt: skip
    return results_to_dict(results)


@contextmanager
def _parquet(case: dict[str, Any]) -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "observations.parquet"
        write_observations_parquet([observation_from_record(r) for r in case["records"]], path)
        yield path


_SLOW = [HealthCheck.too_slow, HealthCheck.data_too_large]
_SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=_SLOW)


@given(case=campaigns())
@_SETTINGS
def test_plan_on_duckdb_decides_exactly_like_the_pure_rules(case):
    with _parquet(case) as path, duckdb_plan(path) as runner:
        assert _by_plan(case, "duckdb", runner) == _pure(case)


# --- PostgreSQL: the plan's SQL on the store's engine, over the same rows ---


class PostgresRunner:
    """The plan's relations as tables of one schema of the test database."""

    def __init__(self, connection: Any, schema: str) -> None:
        self.connection = connection
        self.schema = schema

    def __call__(self, sql: str) -> list[tuple[Any, ...]]:
        with self.connection.cursor() as cursor:
            cursor.execute(sql)
            return cursor.fetchall()

    def fill(self, path: Path) -> None:
        rows = pq.read_table(path).to_pylist()
        with self.connection.cursor() as cursor:
            cursor.execute("DELETE FROM observations")
            cursor.executemany(
                "INSERT INTO observations VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s,"
                " %s, %s, %s, %s, %s, %s)",
                [
                    (
                        r["id"],
                        r["username"],
                        r["create_time"],
                        r["collected_at"],
                        r["view_count"],
                        r["region_code"],
                        r["video_description"],
                        r["hashtag_names"],
                        r["video_duration"],
                        r["like_count"],
                        r["comment_count"],
                        r["share_count"],
                        r["music_id"],
                        r["voice_to_text"],
                        r["hashtags_folded"],
                        r["username_folded"],
                        r["id"],
                        i,
                    )
                    for i, r in enumerate(rows)
                ],
            )

    def load(self, decisions: dict[str, Decision], removed: frozenset[str]) -> None:
        with self.connection.cursor() as cursor:
            cursor.execute("DELETE FROM decisions")
            cursor.execute("DELETE FROM removed")
            for video_id, decision in decisions.items():
                cursor.execute("INSERT INTO decisions VALUES (%s, %s)", (video_id, decision.action))
            for video_id in removed:
                cursor.execute("INSERT INTO removed VALUES (%s)", (video_id,))


@pytest.fixture(scope="module")
def postgres_runner(postgres):
    import psycopg

    url = postgres.url.set(drivername="postgresql").render_as_string(hide_password=False)
    schema = "plan_test"
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        connection.execute(f"CREATE SCHEMA {schema}")
        connection.execute(f"SET search_path TO {schema}")
        connection.execute(
            'CREATE TABLE observations (id text COLLATE "C", username text COLLATE "C",'
            " create_time bigint, collected_at bigint, view_count bigint,"
            ' region_code text COLLATE "C", video_description text COLLATE "C",'
            " hashtag_names text[], video_duration bigint, like_count bigint,"
            " comment_count bigint, share_count bigint, music_id text, voice_to_text text,"
            ' hashtags_folded text[] COLLATE "C", username_folded text COLLATE "C",'
            ' video_id text COLLATE "C", row_ordinal bigint)'
        )
        connection.execute('CREATE TABLE decisions (video_id text COLLATE "C", action text)')
        connection.execute('CREATE TABLE removed (video_id text COLLATE "C")')
        yield PostgresRunner(connection, schema)
        connection.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.mark.postgres
@given(case=campaigns())
@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                 HealthCheck.function_scoped_fixture])  # fmt: skip
def test_plan_on_postgres_decides_exactly_like_the_pure_rules(case, postgres_runner):
    with _parquet(case) as path:
        postgres_runner.fill(path)
    assert _by_plan(case, "postgres", postgres_runner) == _pure(case)


@pytest.mark.postgres
def test_billions_of_views_round_exactly_on_postgres(postgres_runner):
    case = _billions()
    with _parquet(case) as path:
        postgres_runner.fill(path)
    _billions_round_exactly(case, _by_plan(case, "postgres", postgres_runner))


# --- Spark in local mode, where pyspark is installed ---

spark_only = pytest.mark.skipif(
    not HAS_SPARK, reason="pyspark is not installed: pip install 'oyren[spark]' (needs Java 17)"
)


class SparkRunner:
    """The plan's relations as temporary views of a local Spark session."""

    def __init__(self, session: Any) -> None:
        self.session = session

    def __call__(self, sql: str) -> list[tuple[Any, ...]]:
        return [tuple(row) for row in self.session.sql(sql).collect()]

    def fill(self, path: Path) -> None:
        frame = self.session.read.parquet(str(path))
        from pyspark.sql import functions as f

        frame = frame.withColumn("video_id", f.col("id")).withColumn(
            "row_ordinal", f.monotonically_increasing_id()
        )
        frame.createOrReplaceTempView("observations")

    def load(self, decisions: dict[str, Decision], removed: frozenset[str]) -> None:
        rows = [(k, d.action) for k, d in decisions.items()]
        self.session.createDataFrame(
            rows, "video_id string, action string"
        ).createOrReplaceTempView("decisions")
        self.session.createDataFrame(
            [(k,) for k in removed], "video_id string"
        ).createOrReplaceTempView("removed")


@pytest.fixture(scope="module")
def spark_runner():
    from oyren.batch.spark import local_session

    session = local_session()
    yield SparkRunner(session)
    session.stop()


@spark_only
@given(case=campaigns())
@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                 HealthCheck.function_scoped_fixture])  # fmt: skip
def test_plan_on_spark_decides_exactly_like_the_pure_rules(case, spark_runner):
    with _parquet(case) as path:
        spark_runner.fill(path)
        assert _by_plan(case, "spark", spark_runner) == _pure(case)


@spark_only
def test_billions_of_views_round_exactly_on_spark(spark_runner):
    case = _billions()
    with _parquet(case) as path:
        spark_runner.fill(path)
        planned = _by_plan(case, "spark", spark_runner)
    _billions_round_exactly(case, planned)


# --- Exact arithmetic and the plan's text ---


def _billions() -> dict[str, Any]:
    # Counts near the API's limit (10^15) over spans of months: the products pass 2^63, and
    # floating point (exact below 2^53) would lose the units.
    big = 10**15
    records = [
        {"id": 1, "username": "a", "create_time": CUT - 200 * DAY, "collected_at": CUT - 100 * DAY,
         "view_count": big - 3, "hashtag_names": ["tiktokdanoyren"], "video_duration": 60,
         "region_code": "AZ"},
        {"id": 1, "username": "a", "create_time": CUT - 200 * DAY, "collected_at": CUT + 77 * DAY,
         "view_count": big, "hashtag_names": ["tiktokdanoyren"], "video_duration": 60,
         "region_code": "AZ"},
        {"id": 2, "username": "b", "create_time": CUT - 100 * DAY - 1,
         "collected_at": CUT + 100 * DAY, "view_count": 999_999_999_999_989,
         "hashtag_names": ["tiktokdanoyren"], "video_duration": 60, "region_code": "AZ"},
        # The last point before the deadline and the first after it, found by one aggregate each
        # (instant and views packed into one wide integer): the instant decides, not the views.
        {"id": 3, "username": "c", "create_time": CUT - 50 * DAY, "collected_at": CUT - 2,
         "view_count": big, "hashtag_names": ["tiktokdanoyren"], "video_duration": 60,
         "region_code": "AZ"},
        {"id": 3, "username": "c", "create_time": CUT - 50 * DAY, "collected_at": CUT - 1,
         "view_count": big - 1, "hashtag_names": ["tiktokdanoyren"], "video_duration": 60,
         "region_code": "AZ"},
        {"id": 3, "username": "c", "create_time": CUT - 50 * DAY, "collected_at": CUT + 5,
         "view_count": 5, "hashtag_names": ["tiktokdanoyren"], "video_duration": 60,
         "region_code": "AZ"},
        {"id": 3, "username": "c", "create_time": CUT - 50 * DAY, "collected_at": CUT + 1,
         "view_count": big, "hashtag_names": ["tiktokdanoyren"], "video_duration": 60,
         "region_code": "AZ"},
    ]  # fmt: skip
    return {"records": records, "decisions": [], "removals": [], "judgments": [], "max_prizes": 1}


def _billions_round_exactly(case: dict[str, Any], planned: dict[str, Any]) -> None:
    """The plan decided ``case`` (:func:`_billions`) as the pure rules do, to the unit."""
    assert planned == _pure(case)
    big = 10**15
    views = {e["video_id"]: e["views_at_cutoff"] for e in planned["entries"]}
    # Rounded half up by hand: (2 * (v0 * (t1 - cut) + v1 * (cut - t0)) + span) // (2 * span).
    t0, t1 = CUT - 100 * DAY, CUT + 77 * DAY
    span = t1 - t0
    assert views["1"] == (2 * ((big - 3) * (t1 - CUT) + big * (CUT - t0)) + span) // (2 * span)
    v1, span = 999_999_999_999_989, 200 * DAY + 1
    assert views["2"] == (2 * v1 * (100 * DAY + 1) + span) // (2 * span)
    assert views["3"] == (2 * ((big - 1) * 1 + big * 1) + 2) // 4


def test_billions_of_views_over_months_round_exactly(tmp_path):
    case = _billions()
    with _parquet(case) as path, duckdb_plan(path) as runner:
        planned = _by_plan(case, "duckdb", runner)
    _billions_round_exactly(case, planned)


def test_every_dialect_divides_integers_and_never_in_floating_point():
    for dialect in DIALECTS:
        sql = plan_sql(SANDBOX, dialect)
        assert " / " not in sql
        if dialect == "duckdb":
            assert "//" in sql and "HUGEINT" in sql
        else:
            assert "DECIMAL(38, 0)" in sql and "DIV" in sql


def test_reason_bits_name_every_reason_once():
    assert sorted(REASON_BITS) == sorted(REASONS)


def test_plan_sql_refuses_an_unknown_dialect():
    with pytest.raises(ValueError, match="dialect"):
        plan_sql(SANDBOX, "oracle")


# --- Runs over files: JSONL, CSV and Parquet, and bad input ---


def test_run_files_on_duckdb_matches_python_on_jsonl_csv_and_parquet(tmp_path, write_jsonl):
    records = [
        {"id": i, "username": f"u{i % 3}", "create_time": CUT - 5 * DAY,
         "collected_at": CUT + (i % 5 - 2) * 3600, "view_count": 100 * i,
         "hashtag_names": ["TİKTOKDANÖYRƏN"], "video_duration": 30 + i % 2, "region_code": "AZ"}
        for i in range(1, 30)
    ]  # fmt: skip
    jsonl = write_jsonl(records)
    parquet = tmp_path / "o.parquet"
    write_observations_parquet([observation_from_record(r) for r in records], parquet)
    csv_path = tmp_path / "o.csv"
    from oyren.inputs.observations import write_observations_csv

    with csv_path.open("w", newline="", encoding="utf-8") as handle:
        write_observations_csv([observation_from_record(r) for r in records], handle)
    expected = results_to_dict(run_files(SANDBOX, RunInputs(jsonl), engine="python"))
    for path in (jsonl, csv_path, parquet):
        got = results_to_dict(run_files(SANDBOX, RunInputs(path), engine="duckdb"))
        assert got == expected, path.suffix
        assert results_to_dict(run_files(SANDBOX, RunInputs(path), engine="python")) == expected


def test_run_files_plan_names_the_bad_line(write_jsonl, make_record):
    path = write_jsonl([make_record(), make_record(view_count=-1)])
    with pytest.raises(InputError, match=r"line 2.*view_count"):
        run_files_plan(SANDBOX, path)


def test_run_files_plan_with_screening_matches_python(tmp_path):
    from oyren.sandbox.simulate import write_simulation

    path = tmp_path / "sim.jsonl"
    write_simulation(SANDBOX, path, videos=300, seed=3, observations_per_video=6)
    python = results_to_dict(run_files(SANDBOX, RunInputs(path), engine="python"))
    assert results_to_dict(run_files(SANDBOX, RunInputs(path), engine="duckdb")) == python


def test_run_files_refuses_an_unknown_engine(write_jsonl, make_record):
    with pytest.raises(ValueError, match="engine"):
        run_files(SANDBOX, RunInputs(write_jsonl([make_record()])), engine="oracle")


def test_a_forged_row_in_a_marked_parquet_file_is_named(tmp_path, make_record):
    import pyarrow as pa

    from oyren.inputs.columnar import SCHEMA

    path = tmp_path / "o.parquet"
    records = [make_record(id=1), make_record(id=2)]
    write_observations_parquet([observation_from_record(r) for r in records], path)
    table = pq.read_table(path)
    views = pa.array([1000, -5], type=pa.int64())
    forged = table.set_column(SCHEMA.get_field_index("view_count"), "view_count", views)
    pq.write_table(forged.replace_schema_metadata(SCHEMA.metadata), path)
    with pytest.raises(InputError, match=r"line 2.*view_count"):
        run_files_plan(SANDBOX, path)


def test_a_marked_parquet_file_in_another_schema_is_read_by_the_validating_reader(
    tmp_path, make_record
):
    from oyren.inputs.columnar import SCHEMA

    path = tmp_path / "o.parquet"
    write_observations_parquet([observation_from_record(make_record(id=1))], path)
    table = pq.read_table(path).drop_columns(["hashtags_folded"])
    pq.write_table(table.replace_schema_metadata(SCHEMA.metadata), path)
    results = run_files_plan(SANDBOX, path, screen=False)
    assert [e.video_id for e in results.eligible] == ["1"]
