"""Trends: the series behind the charts — entries and views over time, topics, views' spread.

Views over time are rebuilt the way the engine rebuilds views at the deadline
(:func:`oyren.rules.views.views_at`), at the last second of each contest day, for the videos taking
part; that needs every observation, so it is computed after writes settle
(:func:`oyren.store.decided.refresh_flags`), never in a request.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from oyren.pages.snapshots import Snapshot, phase, snapshot_of
from oyren.rules.campaign import Campaign
from oyren.store import decided
from oyren.store.db import Session

__all__ = ["VIEW_BINS", "Bin", "DayPoint", "Stats", "stats"]

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

    Counts are read from the decided rows; views over time, which need every observation, come
    from the last run of :func:`oyren.store.decided.refresh_flags` (None before the first).
    """
    snap = snapshot_of(session, campaign_id)
    c = snap.campaign
    days = c.day_ends(now)
    rows = _eligible(session, snap)
    posted = sorted(create_time for create_time, _, _ in rows)
    entries_by_day, i = [], 0
    for day in days:
        while i < len(posted) and posted[i] <= day.timestamp():
            i += 1
        entries_by_day.append(DayPoint(day, i))
    topics: dict[str, int] = {t.id: 0 for t in c.themes}
    for _, _, topic in rows:
        key = topic if topic in topics else "unclassified"
        topics[key] = topics.get(key, 0) + 1
    bins = []
    for index, low in enumerate(VIEW_BINS):
        high = VIEW_BINS[index + 1] if index + 1 < len(VIEW_BINS) else None
        count = sum(1 for _, v, _ in rows if v >= low and (high is None or v < high))
        bins.append(Bin(low, high, count))
    series = snap.status.views_by_day
    return Stats(
        campaign=c,
        phase=phase(c, now, snap.award),
        entries_by_day=tuple(entries_by_day),
        views_by_day=() if series is None else tuple(DayPoint(c.local(t), v) for t, v in series),
        topics=tuple(sorted(topics.items(), key=lambda kv: (-kv[1], kv[0]))),
        distribution=tuple(bins),
        computed_at=None if snap.status.flags_computed_at is None
        else c.local(snap.status.flags_computed_at),
    )  # fmt: skip


def _eligible(session: Session, snap: Snapshot) -> list[tuple[int, int, str | None]]:
    """(posted, views, topic) of each eligible entry."""
    if snap.frozen is not None:
        return [(e.create_time, e.views_at_cutoff, e.topic) for e in snap.frozen.eligible]
    return decided.eligible_facts(session, snap.status, snap.campaign.id)
