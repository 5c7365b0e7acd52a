"""Trends: the series behind the charts."""

from __future__ import annotations

from sqlalchemy import Engine

from oyren.pages.trends import VIEW_BINS, count_entries, stats
from oyren.rules.campaign import Campaign
from oyren.store.db import transaction
from oyren.store.rows import live_results

ID = "sandbox-2024"


def test_stats_after_the_contest_cover_every_day(sandbox_db: Engine, sandbox: Campaign) -> None:
    with transaction(sandbox_db) as session:
        s = stats(session, campaign_id=ID, now=sandbox.cutoff_ts + 86400)
        eligible = len(live_results(session, sandbox).eligible)
    days = (sandbox.ends - sandbox.starts).days + 1
    assert (len(s.entries_by_day), len(s.views_by_day)) == (days, days)
    assert s.entries_by_day[-1].value == eligible
    assert s.entries_by_day[-1].day == sandbox.cutoff
    assert sum(b.count for b in s.distribution) == eligible
    assert [b.low for b in s.distribution] == list(VIEW_BINS)
    assert sum(n for _, n in s.topics) == eligible
    # The engine classifies every entry, so the theme mix is mostly themes, not "unclassified".
    classified = sum(n for topic, n in s.topics if topic != "unclassified")
    assert classified > eligible // 2
    assert {topic for topic, n in s.topics if n} <= {t.id for t in sandbox.themes} | {
        "unclassified"
    }


def test_stats_views_never_fall_from_day_to_day(sandbox_db: Engine, sandbox: Campaign) -> None:
    with transaction(sandbox_db) as session:
        s = stats(session, campaign_id=ID, now=sandbox.cutoff_ts + 86400)
    values = [p.value for p in s.views_by_day]
    assert values == sorted(values)


def test_stats_while_open_stop_at_the_last_full_hour(sandbox_db: Engine, sandbox: Campaign) -> None:
    now = sandbox.window_start_ts + 2 * 86400 + 5400  # 01:30 on the third day
    with transaction(sandbox_db) as session:
        s = stats(session, campaign_id=ID, now=now)
    assert [p.day.isoformat() for p in s.entries_by_day] == [
        "2024-02-21T23:59:59+04:00",
        "2024-02-22T23:59:59+04:00",
        "2024-02-23T01:00:00+04:00",
    ]


def test_stats_count_in_the_database_what_the_frozen_path_counts_in_python(
    sandbox_db: Engine, sandbox: Campaign
) -> None:
    # Live, the charts' numbers are counted by the database (decided.eligible_counts); once an
    # award is made, from its frozen entries (count_entries). Over the same entries they agree.
    now = sandbox.window_start_ts + 9 * 86400 + 3 * 3600
    with transaction(sandbox_db) as session:
        s = stats(session, campaign_id=ID, now=now)
        results = live_results(session, sandbox)
    facts = [(e.create_time, e.views_at_cutoff, e.topic) for e in results.eligible]
    ends = [int(p.day.timestamp()) for p in s.entries_by_day]
    posted, topics, spread = count_entries(facts, ends)
    assert [p.value for p in s.entries_by_day] == list(posted)
    assert 0 < posted[0] < posted[-1] < len(facts)  # the days tell entries apart
    assert [b.count for b in s.distribution] == list(spread)
    assert len([n for n in spread if n]) >= 3
    by_theme = {t.id: 0 for t in sandbox.themes}
    for topic, n in topics:
        key = topic if topic in by_theme else "unclassified"
        by_theme[key] = by_theme.get(key, 0) + n
    assert dict(s.topics) == by_theme


def test_count_entries_at_the_edges() -> None:
    facts = [(100, 0, None), (200, 9, "science"), (200, 10, "science"), (300, 1_000_000, "art"),
             (301, 999_999, None)]  # fmt: skip
    posted, topics, spread = count_entries(facts, [99, 100, 200, 300])
    assert posted == (0, 1, 3, 4)
    assert dict(topics) == {None: 2, "science": 2, "art": 1}
    assert spread == (2, 1, 0, 0, 0, 1, 1)
    assert count_entries([], [1]) == ((0,), (), (0,) * len(VIEW_BINS))
