"""Screening beside the plan against the pure screener: identical flags and topics.

The oracle is the pure engine screening the videos :func:`~oyren.rules.videos.collect_videos`
builds (:class:`~oyren.screening.screener.CampaignScreener`). The screening from columns must give
every video the same flags (codes, scores, words, evidence) and the same topic and confidence, on
seeded sandbox campaigns with every planted integrity case (bought views, removed views, bought
engagement, re-uploads, lockstep groups, off-theme videos, honest second waves and trending
sounds), and on hypothesis-made disorder of the same files: lines shuffled, series seen twice
with other counts at the same instant, ties at the metadata instant, usernames in other cases.
DuckDB always; PostgreSQL with the ``postgres`` marker.
"""

from __future__ import annotations

import dataclasses
import itertools
import random
import tempfile
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oyren.batch.plan import PlanEngine, duckdb_plan, plan_sql
from oyren.batch.screen_plan import (
    META_COLUMNS,
    Screening,
    _interval_parts,
    _metas,
    _settled,
    fetch_metas,
    fetch_screening,
    metas_sql,
    picked_metas_sql,
    screen_entries,
    screen_series,
    streamed_series_flags,
)
from oyren.inputs.columnar import write_observations_parquet
from oyren.rules import engine
from oyren.rules.campaign import Campaign
from oyren.rules.observations import Observation
from oyren.rules.videos import collect_videos
from oyren.sandbox.plants import plant
from oyren.sandbox.simulate import DAY, observations, sandbox_campaign, simulate
from oyren.screening.growth import GrowthSample, GrowthTable, Intervals, Yardstick, growth_rates
from oyren.screening.screener import CampaignScreener
from tests.batch.test_plan import _campaign, _parquet, campaigns, postgres_runner  # noqa: F401

CAMPAIGN = sandbox_campaign()


@cache
def planted(videos: int, seed: int, every_s: int | None) -> tuple[Observation, ...]:
    """A sandbox campaign's observations with every kind of integrity case planted."""
    sim = plant(simulate(CAMPAIGN, videos=videos, seed=seed))
    return tuple(observations(sim, every_s=every_s))


def _pure(campaign: Campaign, rows: Sequence[Observation]) -> dict[str, Any]:
    videos = collect_videos(rows, cutoff=campaign.cutoff_ts)
    results = engine.evaluate(campaign, videos.values(), screener=CampaignScreener(campaign))
    return {e.video_id: (e.flags, e.topic, e.topic_confidence) for e in results.entries}


def _by_columns(campaign: Campaign, runner: Any, dialect: str) -> dict[str, Any]:
    plan = PlanEngine(campaign, runner, dialect)
    results = plan.results({}, frozenset(), (), screen=True)
    return {e.video_id: (e.flags, e.topic, e.topic_confidence) for e in results.entries}


def _by_video(screening: Screening) -> dict[str, Any]:
    """A screening's flags, topic and confidence by video id, as :func:`_pure` gives them."""
    return {
        video_id: (screening.flags.get(video_id, ()), topic, confidence)
        for video_id, topic, confidence in zip(
            screening.video_ids, screening.topics, screening.confidences, strict=True
        )
    }


@contextmanager
def _duck(rows: Sequence[Observation]) -> Iterator[Any]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "observations.parquet"
        write_observations_parquet(rows, path)
        with duckdb_plan(path) as runner:
            yield runner


def _codes(screened: dict[str, Any]) -> Counter[str]:
    return Counter(f.code for flags, _, _ in screened.values() for f in flags)


# The codes each campaign raises at least once, so that agreement is not agreement on nothing:
# tracked about ten times a video, spikes are rarely seen; tracked every 6 hours, they are.
SPARSE = {"views_decreased", "engagement_outlier", "duplicate_upload"}
STEADY = SPARSE | {"view_spike", "coordinated_accounts"}


@pytest.mark.parametrize(
    ("videos", "seed", "every_s", "codes"),
    [(1500, 11, None, SPARSE), (600, 21, DAY // 4, STEADY)],
)
def test_screening_from_columns_flags_planted_campaigns_like_the_pure_screener(
    videos, seed, every_s, codes
):
    rows = planted(videos, seed, every_s)
    with _duck(rows) as runner:
        screened = _by_columns(CAMPAIGN, runner, "duckdb")
    expected = _pure(CAMPAIGN, rows)
    assert screened == expected
    assert set(_codes(expected)) >= codes
    assert len({topic for _, topic, _ in expected.values()}) > 3


@st.composite
def disorder(draw: st.DrawFn) -> list[Observation]:
    """A planted campaign's lines shuffled, some seen again with other counts or in other case."""
    rows = list(planted(600, 21, DAY // 4))
    rng = random.Random(draw(st.integers(0, 2**32)))
    extra = []
    for obs in rng.sample(rows, draw(st.integers(0, 60))):
        kind = draw(st.sampled_from(["again", "more", "less", "tie", "case", "late", "lone"]))
        if kind == "again":  # the same line twice
            extra.append(obs)
        elif kind in ("more", "less"):  # another count at the same instant: the larger counts
            change = rng.randint(1, 5_000) * (1 if kind == "more" else -1)
            extra.append(dataclasses.replace(obs, view_count=max(0, obs.view_count + change)))
        elif kind == "tie":  # equal in views, description and username: a whole-record tie-break
            extra.append(dataclasses.replace(obs, region_code="TR", like_count=obs.view_count))
        elif kind == "case":
            extra.append(dataclasses.replace(obs, username=obs.username.upper()))
        elif kind == "late":  # seen long after, with a new description
            later = obs.collected_at + rng.randint(1, 40) * DAY
            extra.append(dataclasses.replace(obs, collected_at=later, description="Outfit #fyp"))
        else:  # a video seen once, sharing another's sound and length
            extra.append(dataclasses.replace(obs, video_id=str(10**18 + rng.randrange(10**6))))
    rows += extra
    if draw(st.booleans()):
        rng.shuffle(rows)
    return rows


@given(rows=disorder())
@settings(max_examples=6, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])  # fmt: skip
def test_screening_from_columns_matches_the_pure_screener_in_any_line_order(rows):
    with _duck(rows) as runner:
        assert _by_columns(CAMPAIGN, runner, "duckdb") == _pure(CAMPAIGN, rows)


def test_screening_from_columns_without_themes_gives_no_topics():
    bare = dataclasses.replace(CAMPAIGN, themes=())
    rows = planted(300, 5, None)
    with _duck(rows) as runner:
        screened = _by_columns(bare, runner, "duckdb")
    assert screened == _pure(bare, rows)
    assert {(topic, confidence) for _, topic, confidence in screened.values()} == {(None, None)}


def test_series_come_sorted_and_one_point_per_instant():
    rows = list(planted(300, 5, None))
    first = rows[0]
    rows += [dataclasses.replace(first, view_count=first.view_count + 7), first]
    with _duck(rows) as runner:
        video_row, times, views = fetch_screening(CAMPAIGN, runner, "duckdb").points_in_order()
    videos = collect_videos(rows, cutoff=CAMPAIGN.cutoff_ts)
    assert len(times) == sum(len(v.times) for v in videos.values())
    assert views[0] == max(first.view_count + 7, first.view_count)
    assert np.all(np.diff(video_row) >= 0)
    assert np.array_equal(times, np.concatenate([v.times for v in videos.values()]))
    assert np.array_equal(views, np.concatenate([v.views for v in videos.values()]))


def test_intervals_of_points_are_the_intervals_of_the_videos():
    videos = list(collect_videos(planted(300, 5, None), cutoff=CAMPAIGN.cutoff_ts).values())
    index = np.repeat(np.arange(len(videos)), [len(v.times) for v in videos])
    times = np.concatenate([v.times for v in videos])
    views = np.concatenate([v.views for v in videos])
    create = np.array([v.meta.create_time for v in videos])
    got = Intervals.of_points(index, times, views, create)
    want = Intervals.of(videos)
    for field in dataclasses.fields(Intervals):
        assert np.array_equal(getattr(got, field.name), getattr(want, field.name)), field.name


@pytest.mark.parametrize("size", [1, 7, 50, 100_000])
def test_the_series_in_parts_are_the_whole_intervals_a_few_videos_at_a_time(size):
    rows = list(planted(300, 5, None))
    first = rows[0]
    # Another count at an instant, and a video with many points (longer than a part).
    rows += [dataclasses.replace(first, view_count=first.view_count + 7)]
    rows += [
        dataclasses.replace(first, collected_at=first.collected_at + 600 * n,
                            view_count=first.view_count + n)
        for n in range(1, 40)
    ]  # fmt: skip
    with _duck(rows) as runner:
        whole = fetch_screening(CAMPAIGN, runner, "duckdb").inputs(CAMPAIGN).intervals
        fetched = fetch_metas(CAMPAIGN, runner, "duckdb")
        first_rows = np.asarray(fetched.metas.column(0).to_numpy())
        create = np.asarray(fetched.metas.column(2 + META_COLUMNS.index("create_time")).to_numpy())
        parts = list(_interval_parts(runner.connection, first_rows, create, size))
    assert whole is not None
    # Whole videos in each part, parts in order, each about the size asked (a video is not cut).
    assert all(len(a.video) and len(b.video) and a.video[-1] < b.video[0]
               for a, b in itertools.pairwise(parts))  # fmt: skip
    assert len(parts) > 1 if size < 1000 else len(parts) == 1
    for field in dataclasses.fields(Intervals):
        joined = np.concatenate([getattr(part, field.name) for part in parts])
        assert np.array_equal(joined, getattr(whole, field.name)), field.name
    # The yardstick fitted to the parts one at a time is the whole campaign's.
    sample = GrowthSample()
    for part in parts:
        sample.add(part)
    table = sample.table()
    usable, rate, bucket = growth_rates(whole)
    assert _same_table(table, GrowthTable.fit(bucket[usable], rate[usable]))
    assert np.isfinite(table.fine).sum() > 3
    fitted = Yardstick.of(whole)
    joined = [Yardstick.of(part, table) for part in parts]
    for field in dataclasses.fields(Yardstick):
        got = np.concatenate([getattr(y, field.name) for y in joined])
        assert np.array_equal(got, getattr(fitted, field.name)), field.name


def _same_table(a: GrowthTable, b: GrowthTable) -> bool:
    return (np.array_equal(a.fine, b.fine) and np.array_equal(a.by_age, b.by_age)
            and a.overall == b.overall)  # fmt: skip


@pytest.mark.parametrize(("videos", "seed", "every_s"), [(1500, 11, None), (600, 21, DAY // 4)])
@pytest.mark.parametrize("size", [40, 1_000])
def test_screening_the_series_in_parts_flags_as_the_pure_screener(videos, seed, every_s, size):
    rows = planted(videos, seed, every_s)
    with _duck(rows) as runner:
        fetched = fetch_metas(CAMPAIGN, runner, "duckdb")
        series = streamed_series_flags(CAMPAIGN, runner.connection, fetched, points=size)
    screening = screen_series(CAMPAIGN, fetched, series)
    assert _by_video(screening) == _pure(CAMPAIGN, rows)
    assert len(series.spikes) + len(series.bursts) > 0 if every_s else len(series.decreases) > 0


def test_metas_are_the_videos_metadata_at_the_deadline():
    rows = planted(300, 5, None)
    with _duck(rows) as runner:
        picked = runner(metas_sql(CAMPAIGN.cutoff_ts))
    videos = collect_videos(rows, cutoff=CAMPAIGN.cutoff_ts)
    assert [row[2] for row in picked] == list(videos)
    assert all(not tied for _, tied, *_ in picked)
    at = META_COLUMNS.index("collected_at") + 2
    assert [row[at] for row in picked] == [v.meta.collected_at for v in videos.values()]


class _RowsOnly:
    """A runner that returns rows and no columns, in a scrambled order, as some engines may."""

    def __init__(self, runner: Any) -> None:
        self.runner = runner

    def __call__(self, sql: str) -> list[tuple[Any, ...]]:
        rows = list(self.runner(sql))
        random.Random(3).shuffle(rows)
        return rows


def test_screening_from_rows_in_any_order_matches_the_pure_screener():
    rows = list(planted(300, 5, None))
    # Two counts at one instant, the larger first or last: the series keep the larger.
    rows += [dataclasses.replace(r, view_count=r.view_count + 5) for r in rows[::7]]
    rows += [dataclasses.replace(r, view_count=max(r.view_count - 5, 0)) for r in rows[3::11]]
    with _duck(rows) as runner:
        plan = PlanEngine(CAMPAIGN, runner, "duckdb")
        entries = plan.entries({}, frozenset())
        by_rows = screen_entries(CAMPAIGN, _RowsOnly(runner), "duckdb", entries)
    screened = {e.video_id: (e.flags, e.topic, e.topic_confidence) for e in by_rows}
    assert screened == _pure(CAMPAIGN, rows)


@pytest.mark.postgres
@pytest.mark.parametrize(("videos", "seed", "every_s"), [(1500, 11, None), (600, 21, DAY // 4)])
def test_screening_from_columns_on_postgres_matches_the_pure_screener(
    videos, seed, every_s, request
):
    # The fixture of the plan's own PostgreSQL tests, imported above.
    runner = request.getfixturevalue("postgres_runner")
    rows = planted(videos, seed, every_s)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "observations.parquet"
        write_observations_parquet(rows, path)
        runner.fill(path)
    assert _by_columns(CAMPAIGN, runner, "postgres") == _pure(CAMPAIGN, rows)


def test_columns_read_as_lists_share_each_distinct_text():
    import pyarrow as pa

    from oyren.batch.screen_plan import _pylist

    texts = pa.chunked_array([["a b", None, "a b"], ["", "ç", None, "a b"]])
    got = _pylist(texts)
    assert got == ["a b", None, "a b", "", "ç", None, "a b"]
    assert got[0] is got[2] is got[6]
    tags = pa.chunked_array([[["x", "y"], None, [], ["x", "y"]], [["y"]]])
    lists = _pylist(tags)
    assert lists == [("x", "y"), (), (), ("x", "y"), ("y",)]
    assert lists[0] is lists[3]
    assert _pylist(pa.chunked_array([[1, None, 3]])) == [1, None, 3]
    assert _pylist(pa.chunked_array([], type=pa.string())) == []


class _ColumnsShuffled:
    """A runner giving columns, its tables' rows in no order."""

    def __init__(self, runner: Any) -> None:
        self.runner = runner

    def __call__(self, sql: str) -> Any:
        return self.runner(sql)

    def columns(self, sql: str) -> Any:
        table = self.runner.columns(sql)
        order = list(range(table.num_rows))
        random.Random(5).shuffle(order)
        return table.take(order)


def test_screening_from_columns_in_any_order_matches_the_pure_screener():
    rows = list(planted(300, 5, None))
    rows += [dataclasses.replace(r, view_count=r.view_count + 5) for r in rows[::7]]
    with _duck(rows) as runner:
        entries = PlanEngine(CAMPAIGN, runner, "duckdb").entries({}, frozenset())
        by_columns = screen_entries(CAMPAIGN, _ColumnsShuffled(runner), "duckdb", entries)
    screened = {e.video_id: (e.flags, e.topic, e.topic_confidence) for e in by_columns}
    assert screened == _pure(CAMPAIGN, rows)
    assert any(flags for flags, _, _ in screened.values())


def test_a_column_read_lazily_reads_and_puts_items_like_a_list():
    import pyarrow as pa

    from oyren.batch.screen_plan import _ArrowColumn

    values = ["a", None, "ç", "d"]
    column = _ArrowColumn(pa.chunked_array([values[:2], values[2:]]))
    assert len(column) == 4
    assert [column[i] for i in range(-4, 4)] == values + values
    column[1] = "b"
    column[-1] = "e"
    assert list(column) == ["a", "b", "ç", "e"]
    assert column[3] == "e"
    for bad in (4, -5):
        with pytest.raises(IndexError):
            column[bad]
        with pytest.raises(IndexError):
            column[bad] = "x"


@given(case=campaigns())
@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])  # fmt: skip
def test_metas_from_the_plans_picks_are_the_metas_query(case):
    """The plan's choice of each video's metadata observation, ties included, read back whole,
    is what the screener's own metadata query chooses."""
    campaign = _campaign(case)
    with _parquet(case) as path, duckdb_plan(path) as runner:
        runner.connection.execute(f"CREATE TABLE decided AS {plan_sql(campaign)}")
        picks = "(SELECT first_row, meta_row, meta_tied AS tied FROM decided)"
        assert runner(picked_metas_sql(picks)) == runner(metas_sql(campaign.cutoff_ts))


def test_the_plans_picks_name_the_tied_metadata_of_planted_campaigns():
    rows = planted(300, 5, None)
    with _duck(rows) as runner:
        runner.connection.execute(f"CREATE TABLE decided AS {plan_sql(CAMPAIGN)}")
        picks = "(SELECT first_row, meta_row, meta_tied AS tied FROM decided)"
        picked = runner(picked_metas_sql(picks))
    videos = collect_videos(rows, cutoff=CAMPAIGN.cutoff_ts)
    assert [row[2] for row in picked] == list(videos)


def test_a_tied_videos_metadata_is_settled_from_its_candidates_only():
    """Copies of one record at the metadata instant are no tie; records equal in rank but not
    whole are settled by the rules, from the records ranking first at that instant."""
    rows = list(planted(300, 5, None))
    videos = collect_videos(rows, cutoff=CAMPAIGN.cutoff_ts)
    metas = [v.meta for v in videos.values()]
    copies = metas[:40]  # the same line read twice
    # Equal in views, description and username, other in region, likes or sound.
    ties = [dataclasses.replace(m, region_code="TR") for m in metas[40:50]]
    ties += [dataclasses.replace(m, like_count=(m.like_count or 0) + 1) for m in metas[50:60]]
    ties += [dataclasses.replace(m, music_id="7000000000000000001") for m in metas[60:70]]
    rows += copies + ties
    with _duck(rows) as runner:
        runner.connection.execute(f"CREATE TABLE decided AS {plan_sql(CAMPAIGN)}")
        picks = "(SELECT first_row, meta_row, meta_tied AS tied FROM decided)"
        fetched = fetch_metas(CAMPAIGN, runner, "duckdb", picks=picks)
        series = streamed_series_flags(CAMPAIGN, runner.connection, fetched, points=500)
        # Without the plan's picks, the metadata query flags alike and fetches the same rows.
        alone = fetch_metas(CAMPAIGN, runner, "duckdb")
    assert sorted(map(repr, alone.tied_rows)) == sorted(map(repr, fetched.tied_rows))
    assert alone.metas.column(1).equals(fetched.metas.column(1))
    flagged = int(np.asarray(fetched.metas.column(1).to_numpy()).sum())
    assert flagged == 70  # the plan flags every equal rank, copies too
    # Only the thirty videos really tied come back: two records each, each once.
    assert sorted(Counter(row[0] for row in fetched.tied_rows).values()) == [2] * 30
    assert {row[0] for row in fetched.tied_rows} == {m.video_id for m in metas[40:70]}
    # The metadata the screener reads are those the rules settle on, ties included.
    read = _metas(fetched.metas, _settled(fetched.metas, fetched.tied_rows, CAMPAIGN))
    settled = collect_videos(rows, cutoff=CAMPAIGN.cutoff_ts)
    assert list(read) == [v.meta for v in settled.values()]
    screening = screen_series(CAMPAIGN, fetched, series)
    assert _by_video(screening) == _pure(CAMPAIGN, rows)
