"""Trends: the series behind the charts — entries and views over time, topics, views' spread.

Views over time are rebuilt the way the engine rebuilds views at the deadline
(:func:`oyren.rules.views.views_at`), at the last second of each contest day, for the videos taking
part; that needs every observation, so it is computed after writes settle
(:func:`oyren.store.decided.refresh_flags`), never in a request.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from oyren.pages.snapshots import Snapshot, phase, snapshot_of
from oyren.rules.campaign import Campaign
from oyren.store import decided
from oyren.store.db import Session

__all__ = ["VIEW_BINS", "Bin", "DayPoint", "Stats", "count_entries", "stats"]

# Eligible entries posted by each day's end, by topic, and in each bin of views.
_Counted = tuple[tuple[int, ...], tuple[tuple[str | None, int], ...], tuple[int, ...]]
# Views bins for the distribution chart: powers of ten, the last one open-ended.
VIEW_BINS = (0, 10, 100, 1_000, 10_000, 100_000, 1_000_000)


@dataclass(frozen=True, slots=True)
class DayPoint:
    """A day of the contest (its last second, local time) and a value on it."""

    day: datetime
    value: int


@dataclass(frozen=True, slots=True)
class Bin:
    """A range of views [low, high) and how many entries fall in it (high None: no limit)."""

    low: int
    high: int | None
    count: int


@dataclass(frozen=True, slots=True)
class Stats:
    """The series behind the charts."""

    campaign: Campaign
    phase: str
    entries_by_day: tuple[DayPoint, ...]  # eligible entries posted so far, cumulative
    # Their total views at the end of each day, as last computed after writes settled (empty
    # before the first computation: ``computed_at`` is None then).
    views_by_day: tuple[DayPoint, ...]
    topics: tuple[tuple[str, int], ...]  # theme id (or "unclassified") and entries
    distribution: tuple[Bin, ...]
    computed_at: datetime | None = None  # when views_by_day was computed


def stats(session: Session, *, campaign_id: str, now: int) -> Stats:
    """Return the entries and views over time, the topics and the distribution of views.

    The database counts the decided rows (groups of them come back, never the rows), or these
    are counted over an award's frozen entries once it is made; views over time, which need
    every observation, come from the last run of :func:`oyren.store.decided.refresh_flags` (None
    before the first).
    """
    snap = snapshot_of(session, campaign_id)
    c = snap.campaign
    days = c.day_ends(now)
    posted, found, spread = _counts(session, snap, [int(day.timestamp()) for day in days])
    topics: dict[str, int] = {t.id: 0 for t in c.themes}
    for topic, n in found:
        key = topic if topic in topics else "unclassified"
        topics[key] = topics.get(key, 0) + n
    highs: list[int | None] = [*VIEW_BINS[1:], None]
    bins = [Bin(low, high, n) for low, high, n in zip(VIEW_BINS, highs, spread, strict=True)]
    series = snap.status.views_by_day
    return Stats(
        campaign=c,
        phase=phase(c, now, snap.award),
        entries_by_day=tuple(DayPoint(day, n) for day, n in zip(days, posted, strict=True)),
        views_by_day=() if series is None else tuple(DayPoint(c.local(t), v) for t, v in series),
        topics=tuple(sorted(topics.items(), key=lambda kv: (-kv[1], kv[0]))),
        distribution=tuple(bins),
        computed_at=None if snap.status.flags_computed_at is None
        else c.local(snap.status.flags_computed_at),
    )  # fmt: skip


def _counts(session: Session, snap: Snapshot, ends: list[int]) -> _Counted:
    """Eligible entries posted by each of ``ends``, by topic, and in each bin of views: counted
    in the database from the decided rows, or from an award's frozen entries once it is made."""
    if snap.frozen is not None:
        return count_entries(
            [(e.create_time, e.views_at_cutoff, e.topic) for e in snap.frozen.eligible], ends
        )
    counted = decided.eligible_counts(
        session, snap.status, snap.campaign.id, posted_by=ends, views_from=VIEW_BINS
    )
    return counted.posted, counted.topics, counted.views


def count_entries(entries: Sequence[tuple[int, int, str | None]], ends: Sequence[int]) -> _Counted:
    """What :func:`oyren.store.decided.eligible_counts` counts, over (posted, views, topic) of each
    eligible entry: how many were posted by each of ``ends``, by topic, and in each bin of
    :data:`VIEW_BINS`."""
    times = sorted(t for t, _, _ in entries)
    posted = tuple(bisect_right(times, end) for end in ends)
    topics = Counter(topic for _, _, topic in entries)
    bins = Counter(bisect_right(VIEW_BINS, v) - 1 for _, v, _ in entries)
    spread = tuple(bins[i] for i in range(len(VIEW_BINS)))
    return posted, tuple(topics.items()), spread
