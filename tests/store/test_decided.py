"""Decided rows: after any sequence of writes they equal the pure engine's verdicts and prizes."""

from __future__ import annotations

import itertools
import random
from dataclasses import replace
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select, text, update

from oyren.errors import StoreError
from oyren.inputs.observations import observation_from_record
from oyren.rules.campaign import Campaign, parse_campaign
from oyren.rules.results import Entry, id_sort_key
from oyren.rules.videos import collect_videos
from oyren.rules.views import views_at
from oyren.sandbox.plants import plant
from oyren.sandbox.simulate import observations, sandbox_campaign, simulate
from oyren.screening.flags import FLAG_CODES, flag_videos
from oyren.store import decided, moderate, reads, register_campaign, remove_video
from oyren.store.db import transaction
from oyren.store.ingest import ObservationWriter
from oyren.store.models import DecidedFlagsRow, DecidedVideoRow
from oyren.store.rows import live_results, parse_stored, require_campaign, stored_observations
from tests.conftest import CAMPAIGN_FILE, record

SOURCE = CAMPAIGN_FILE.read_text()
COUNTER = itertools.count()


def _campaign(campaign_id: str, min_duration: int = 30) -> Campaign:
    text = SOURCE.replace('id = "tiktokdan-oyren-2024"', f'id = "{campaign_id}"', 1)
    text = text.replace("min_duration_s = 30", f"min_duration_s = {min_duration}", 1)
    return parse_campaign(text, path=f"{campaign_id}.toml")


def _register(engine: Engine, campaign: Campaign) -> None:
    with transaction(engine) as session:
        register_campaign(session, campaign=campaign, by="organizer", at=1)


def _rows(engine: Engine, campaign_id: str) -> tuple[decided.Status, list[Entry]]:
    with transaction(engine, write=False) as session:
        state = decided.status(session, campaign_id)
        query = select(DecidedVideoRow.video_id).where(
            DecidedVideoRow.campaign_id == campaign_id,
            DecidedVideoRow.generation == state.generation,
        )
        ids = list(session.scalars(query))
        rows = decided.entries_of(session, state, campaign_id, video_ids=ids)
        return state, [r.entry for r in rows]


def _check(engine: Engine, campaign_id: str) -> None:
    """The rows pages read and the prizes they settle equal the engine's over the same inputs."""
    with transaction(engine, write=False) as session:
        state = decided.status(session, campaign_id)
        assert state.ready
        # The rules the rows were built with: the campaign's, unless a rebuild is pending.
        campaign = require_campaign(session, campaign_id) if not state.recomputing else None
        rules = (
            parse_stored(campaign.source_text, campaign_id)
            if campaign is not None
            else _built_with(session, campaign_id)
        )
        expected = live_results(session, rules)
        got_all = decided.entries_of(
            session, state, campaign_id, video_ids=[e.video_id for e in expected.entries]
        )
        page = decided.video_page(session, state, campaign_id, offset=0, limit=10_000)
        creators = decided.creator_page(session, state, campaign_id, offset=0, limit=10_000)
        prizes = decided.winners(session, state, rules)
        counts = decided.counts(session, state, campaign_id)
        newest = reads.last_observation_at(session, campaign_id)
        totals = decided.ranked_totals(session, state, campaign_id)
    unflagged = {e.video_id: replace(e, flags=()) for e in expected.entries}
    assert {v.entry.video_id: v.entry for v in got_all} == unflagged
    assert [v.entry.video_id for v in page] == [e.video_id for e in expected.eligible]
    assert creators == [(u, v, len(ids)) for u, v, ids in expected.creators]
    assert prizes == expected.winners
    assert counts.entries == len(expected.eligible)
    assert counts.videos == len(expected.entries)
    assert counts.views == sum(e.views_at_cutoff for e in expected.eligible)
    assert state.last_observation_at == newest
    assert totals == (len(expected.eligible), len(expected.creators))


def _built_with(session: Any, campaign_id: str) -> Campaign:
    from oyren.store.models import DecidedStateRow

    row = session.get(DecidedStateRow, campaign_id)
    return parse_stored(row.rules_source, campaign_id)


SHIPPED = _campaign("shipped")
VIDEOS = ["101", "102", "99", "7340000000000000001", "18446744073709551615"]
NAMES = ["aysel", "Aysel", "murad", "partner_uni"]


@st.composite
def observation(draw: st.DrawFn, cutoff: int, start: int) -> dict[str, Any]:
    tagged = draw(st.booleans())
    created = draw(st.sampled_from([start + 3600, cutoff - 86400, cutoff + 60, start - 60]))
    seen = draw(
        st.sampled_from([cutoff - 7200, cutoff - 3600, cutoff, cutoff + 3600, cutoff + 86400])
    )
    return record(
        SHIPPED,
        id=draw(st.sampled_from(VIDEOS)),
        username=draw(st.sampled_from(NAMES)),
        create_time=created,
        collected_at=max(created, seen),
        view_count=draw(st.integers(0, 5000)),
        video_duration=draw(st.sampled_from([None, 10, 45])),
        region_code=draw(st.sampled_from([None, "AZ", "TR"])),
        video_description=(
            "Fotosintez nədir? #TikTokdanÖyrən #elm" if tagged else "Riyaziyyat dərsi #math"
        ),
    )


def writes(cutoff: int, start: int) -> st.SearchStrategy[list[tuple[Any, ...]]]:
    op = st.one_of(
        st.tuples(
            st.just("ingest"),
            st.lists(observation(cutoff, start), min_size=1, max_size=6),
            st.integers(0, 6),  # where the second part starts
            st.sampled_from(["one writer", "two writers", "read between"]),
        ),
        st.tuples(
            st.just("decide"),
            st.sampled_from(VIDEOS),
            st.sampled_from(["include", "exclude"]),
        ),
        st.tuples(st.just("remove"), st.sampled_from(VIDEOS)),
        st.tuples(st.just("rules"), st.sampled_from([30, 40, 60]), st.booleans()),
    )
    return st.lists(op, min_size=1, max_size=8)


def _apply(engine: Engine, campaign_id: str, op: tuple[Any, ...]) -> None:
    kind = op[0]
    try:
        with transaction(engine) as session:
            if kind == "ingest":
                # In two parts: the videos the first creates are decided from the observations in
                # memory, unless a second writer or a read (which settles) comes between.
                observations = [observation_from_record(r) for r in op[1]]
                split, how = (op[2], op[3]) if len(op) > 2 else (len(observations), "one writer")
                writer = ObservationWriter(session, campaign_id)
                writer.insert(observations[:split])
                if how == "two writers":
                    writer = ObservationWriter(session, campaign_id)
                elif how == "read between":
                    decided.status(session, campaign_id)
                writer.insert(observations[split:])
            elif kind == "decide":
                moderate(session, campaign_id=campaign_id, video_id=op[1], action=op[2],
                         reason="checked by hand", by="mod", at=2)  # fmt: skip
            elif kind == "remove":
                remove_video(session, campaign_id=campaign_id, video_id=op[1], reason="deleted",
                             by="mod", at=3)  # fmt: skip
    except StoreError:
        return  # a video not stored yet, or removed already: nothing changed
    if kind == "rules":
        inline = op[2]
        previous = decided.INLINE_REBUILD
        decided.INLINE_REBUILD = previous if inline else -1
        try:
            with transaction(engine) as session:
                register_campaign(session, campaign=_campaign(campaign_id, op[1]), by="o", at=4)
        finally:
            decided.INLINE_REBUILD = previous
        if not inline:
            # Until the rebuild runs, pages read the last complete rows (the old rules).
            _check(engine, campaign_id)
            seen: list[tuple[int, int]] = []
            if decided.rebuild(engine, campaign_id, progress=lambda d, t: seen.append((d, t)),
                               batch=2):  # fmt: skip
                assert seen[-1][0] == seen[-1][1]


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=writes(SHIPPED.cutoff_ts, SHIPPED.window_start_ts))
def test_rows_and_prizes_equal_the_engine_after_any_writes(db: Engine, ops: list[Any]) -> None:
    campaign_id = f"c{next(COUNTER)}"
    _register(db, _campaign(campaign_id))
    for op in ops:
        _apply(db, campaign_id, op)
        _check(db, campaign_id)
    state, _ = _rows(db, campaign_id)
    assert not state.recomputing


def test_rank_key_orders_as_the_engine(db: Engine) -> None:
    ids = ["9", "10", "010", "a", "b", "ab", "ä", "1" * 30]
    keys = sorted(
        ((views, ct, vid) for vid in ids for views in (0, 5, 10**12) for ct in (-5, 1, 7)),
        key=lambda k: (-k[0], k[1], id_sort_key(k[2])),
    )
    assert sorted(keys, key=lambda k: decided.rank_key(*k)) == keys


def test_pages_say_recomputing_and_keep_the_last_rows_until_a_rebuild(
    db: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    _register(db, _campaign("r"))
    _apply(db, "r", ("ingest", [record(SHIPPED, id=101, video_duration=35)]))
    monkeypatch.setattr(decided, "INLINE_REBUILD", 0)
    with transaction(db) as session:
        register_campaign(session, campaign=_campaign("r", 40), by="o", at=4)
    state, rows = _rows(db, "r")
    assert state.recomputing and state.ready
    assert [e.eligible for e in rows] == [True]  # built with 30 s: still shown
    assert decided.rebuild(db, "r") is True
    state, rows = _rows(db, "r")
    assert not state.recomputing
    assert [e.reasons for e in rows] == [("too_short",)]
    assert decided.rebuild(db, "r") is False  # nothing to do
    if db.dialect.name == "postgresql":  # a finished rebuild leaves statistics of its rows
        with db.connect() as connection:
            analyzed = connection.execute(
                text(
                    "SELECT relname FROM pg_stat_user_tables WHERE schemaname = current_schema()"
                    " AND relname LIKE 'decided_%' AND analyze_count > 0"
                )
            )
            assert {name for (name,) in analyzed} == {"decided_videos", "decided_creators"}


def test_flags_are_computed_apart_with_their_time(db: Engine) -> None:
    _register(db, _campaign("f"))
    with transaction(db, write=False) as session:
        assert decided.status(session, "f").flags_computed_at is None
    records = [
        record(SHIPPED, id=200 + i, view_count=1000 + i, collected_at=SHIPPED.cutoff_ts - 3600)
        for i in range(5)
    ]
    _apply(db, "f", ("ingest", records))
    after = SHIPPED.cutoff_ts + 86400
    decided.refresh_flags(db, "f", at=after)
    with transaction(db, write=False) as session:
        state = decided.status(session, "f")
        stored = session.scalars(select(DecidedFlagsRow.video_id)).all()
        expected = live_results(session, _campaign("f"))
    assert state.flags_computed_at == after
    assert state.views_by_day is not None
    days = [int(d.timestamp()) for d in SHIPPED.day_ends(after)]
    assert [t for t, _ in state.views_by_day] == days
    assert state.views_by_day[-1] == (SHIPPED.cutoff_ts, sum(r["view_count"] for r in records))
    assert sorted(stored) == sorted(e.video_id for e in expected.entries if e.flags)


@pytest.mark.parametrize("limit", [0, 1, 2])
def test_videos_past_the_memory_limit_are_read_back(
    db: Engine, limit: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An import keeps the videos it creates in memory up to a limit; the others are read back.
    monkeypatch.setattr(decided, "FRESH_LIMIT", limit)
    campaign_id = f"m{limit}"
    _register(db, _campaign(campaign_id))
    records = [
        record(SHIPPED, id=300 + i % 3, view_count=100 * i, collected_at=SHIPPED.cutoff_ts - i)
        for i in range(7)
    ]
    _apply(db, campaign_id, ("ingest", records, 4, "one writer"))
    _check(db, campaign_id)
    _, rows = _rows(db, campaign_id)
    assert sorted(e.video_id for e in rows) == ["300", "301", "302"]


def test_many_creators_are_recounted_in_one_pass(
    db: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Past MANY_CREATORS a write recounts its creators from one read of the eligible rows.
    monkeypatch.setattr(decided, "MANY_CREATORS", 0)
    _register(db, _campaign("many"))
    records = [
        record(SHIPPED, id=400 + i, username=NAMES[i % 4], view_count=10 * i, video_duration=45)
        for i in range(9)
    ]
    _apply(db, "many", ("ingest", records, 5, "read between"))
    _check(db, "many")
    _apply(db, "many", ("decide", "403", "exclude"))
    _check(db, "many")


@pytest.mark.parametrize("inline", [True, False])
def test_a_rebuild_totals_the_creators_a_few_at_a_time(
    db: Engine, monkeypatch: pytest.MonkeyPatch, inline: bool
) -> None:
    # A finished generation inserts the creators' totals CREATORS_AT_ONCE at a time: each once,
    # the generation's count of creators right, the ranking the engine's.
    monkeypatch.setattr(decided, "CREATORS_AT_ONCE", 2)
    campaign_id = f"c{next(COUNTER)}"
    _register(db, _campaign(campaign_id))
    names = ["aysel", "Aysel", "murad", "nigar", "orxan", "pəri", "rəşad", "PƏRI", "samir"]
    records = [
        record(SHIPPED, id=500 + i, username=names[i % len(names)], view_count=7 * i % 50)
        for i in range(23)
    ]
    _apply(db, campaign_id, ("ingest", records))
    _apply(db, campaign_id, ("rules", 40, inline))
    _check(db, campaign_id)
    state, _ = _rows(db, campaign_id)
    with transaction(db, write=False) as session:
        creators = decided.creator_page(session, state, campaign_id, offset=0, limit=100)
    assert len(creators) == 7  # the names that fold together are one creator
    assert not state.recomputing


@pytest.mark.parametrize("inline", [True, False])
def test_a_rebuild_keeps_topics_only_where_they_cannot_have_changed(
    db: Engine, inline: bool
) -> None:
    # A change of rules that leaves the themes and hashtags alone keeps each video's topic
    # (marked here in the complete generation's rows, to tell kept from computed again); a
    # change of themes computes them again.
    campaign_id = f"c{next(COUNTER)}"
    _register(db, _campaign(campaign_id))
    records = [record(SHIPPED, id=600 + i, username=NAMES[i % 4]) for i in range(5)]
    _apply(db, campaign_id, ("ingest", records))
    with transaction(db) as session:
        session.execute(
            update(DecidedVideoRow)
            .where(DecidedVideoRow.campaign_id == campaign_id)
            .values(topic="kept", topic_confidence=0.25)
        )
    _change_rules(db, _campaign(campaign_id, 40), inline)
    _, entries = _rows(db, campaign_id)
    assert {(e.topic, e.topic_confidence) for e in entries} == {("kept", 0.25)}
    # Without the science theme (and the rest as before): every topic is the classifier's.
    source = _campaign(campaign_id, 40).source_text.replace(
        '[[themes]]\nid = "science"\nname = { az = "Elm", en = "Science" }\n', "", 1
    )
    fewer = parse_campaign(source, path=f"{campaign_id}.toml")
    assert len(fewer.themes) == len(SHIPPED.themes) - 1
    _change_rules(db, fewer, inline)
    _check(db, campaign_id)
    _, entries = _rows(db, campaign_id)
    assert "kept" not in {e.topic for e in entries}


def _change_rules(engine: Engine, campaign: Campaign, inline: bool) -> None:
    """Register new rules, rebuilt in their transaction (inline) or by rebuild() after it."""
    previous = decided.INLINE_REBUILD
    decided.INLINE_REBUILD = previous if inline else -1
    try:
        with transaction(engine) as session:
            register_campaign(session, campaign=campaign, by="o", at=5)
    finally:
        decided.INLINE_REBUILD = previous
    if not inline:
        assert decided.rebuild(engine, campaign.id)


def test_eligible_counts_at_the_edges_on_every_backend(
    session: Any, campaign: Campaign, make_record: Any, write_jsonl: Any
) -> None:
    from oyren.store import ingest_observations
    from tests.store.conftest import CID

    state = decided.status(session, CID)
    empty = decided.eligible_counts(session, state, CID, posted_by=[1, 2], views_from=[0, 10])
    assert (empty.posted, empty.views, empty.topics) == ((0, 0), (0, 0), ())
    posted = campaign.cutoff_ts - 10 * 86400
    records = [
        make_record(id=1, create_time=posted, view_count=9),
        make_record(id=2, create_time=posted, view_count=10),
        make_record(id=3, create_time=posted + 1, view_count=100),
        make_record(id=4, create_time=posted + 1, view_count=5, video_duration=3),  # not eligible
    ]
    ingest_observations(session, campaign_id=CID, path=write_jsonl(records), by="organizer")
    state = decided.status(session, CID)
    counted = decided.eligible_counts(
        session, state, CID, posted_by=[posted - 1, posted, posted + 1], views_from=[0, 10, 100]
    )
    assert counted.posted == (0, 2, 3)
    assert counted.views == (1, 1, 1)
    assert sum(n for _, n in counted.topics) == 3
    # Views below the first range are in none; no instants, no ranges: nothing to count.
    above = decided.eligible_counts(session, state, CID, posted_by=[], views_from=[10, 100])
    assert (above.posted, above.views) == ((), (1, 1))
    none = decided.eligible_counts(session, state, CID, posted_by=[], views_from=[])
    assert (none.posted, none.views, sum(n for _, n in none.topics)) == ((), (), 3)


def _screened_whole(engine: Engine, campaign_id: str, at: int) -> tuple[dict[str, str], list[Any]]:
    """The flags and daily views of a campaign as the pure screener gives them, every video of
    it held at once: what the flag refresh must store."""
    with transaction(engine, write=False) as session:
        campaign = parse_stored(require_campaign(session, campaign_id).source_text, campaign_id)
        videos = list(
            collect_videos(
                stored_observations(session, campaign_id), cutoff=campaign.cutoff_ts
            ).values()
        )
        eligible = {
            e.video_id: e.create_time for e in live_results(session, campaign).entries if e.eligible
        }
    flags = {vid: decided._flags_json(f) for vid, f in flag_videos(videos).items()}
    days = [int(day.timestamp()) for day in campaign.day_ends(at)]
    charted = [
        [t, sum(
            views_at(v.times, v.views, cutoff=t, create_time=eligible[v.video_id]).views
            for v in videos
            if v.video_id in eligible and eligible[v.video_id] <= t
        )]
        for t in days
    ]  # fmt: skip
    return flags, charted


def _stored_flags(engine: Engine, campaign_id: str) -> tuple[dict[str, str], list[Any]]:
    with transaction(engine, write=False) as session:
        flags = session.execute(
            select(DecidedFlagsRow.video_id, DecidedFlagsRow.flags).where(
                DecidedFlagsRow.campaign_id == campaign_id
            )
        )
        stored = {vid: text for vid, text in flags}
        state = decided.status(session, campaign_id)
    return stored, [list(day) for day in state.views_by_day or ()]


def test_flags_refreshed_a_part_at_a_time_are_the_whole_campaigns(db: Engine) -> None:
    campaign = sandbox_campaign()
    _register(db, campaign)
    # Tracked every 6 hours, the planted campaign raises every kind of flag.
    sim = plant(simulate(campaign, videos=150, seed=1))
    seen = list(observations(sim, every_s=6 * 3600))
    random.Random(3).shuffle(seen)  # videos' observations interleave, as crawls store them
    with transaction(db) as session:
        writer = ObservationWriter(session, campaign.id)
        for start in range(0, len(seen), 5000):
            writer.insert(seen[start : start + 5000])
    at = campaign.cutoff_ts + 3 * 86400
    expected = _screened_whole(db, campaign.id, at)
    codes = {flag["code"] for text in expected[0].values() for flag in orjson.loads(text)}
    assert codes == set(FLAG_CODES)
    assert any(views for _, views in expected[1])
    # One video a part, then several.
    for rows in (1, 2000):
        raised = decided.refresh_flags(db, campaign.id, at=at, part_rows=rows)
        assert _stored_flags(db, campaign.id) == expected
        assert raised == len(expected[0])


def test_flags_of_a_campaign_without_observations_are_none(db: Engine) -> None:
    _register(db, _campaign("quiet"))
    at = SHIPPED.cutoff_ts + 86400
    assert decided.refresh_flags(db, "quiet", at=at, part_rows=1) == 0
    flags, charted = _stored_flags(db, "quiet")
    assert flags == {}
    assert charted == [[int(d.timestamp()), 0] for d in SHIPPED.day_ends(at)]
