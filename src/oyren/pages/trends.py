"""Trends: the series behind the charts — entries and views over time, topics, views' spread.

Views over time are rebuilt the way the engine rebuilds views at the deadline
(:func:`oyren.rules.views.views_at`), at the last second of each contest day, for the videos taking
part; the running day ends at the last full hour so the charts change hourly, not per request.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from oyren.pages.snapshots import ResultsCache, Snapshot, phase, snapshot_of
from oyren.rules.campaign import Campaign
from oyren.rules.views import views_at
from oyren.store import reads
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
    views_by_day: tuple[DayPoint, ...]  # their total views at the end of each day
    topics: tuple[tuple[str, int], ...]  # theme id (or "unclassified") and entries
    distribution: tuple[Bin, ...]


def _day_ends(campaign: Campaign, until: int) -> list[datetime]:
    """The last second of each contest day that has begun by ``until`` (the running day: now)."""
    out = []
    day = campaign.starts
    while day <= campaign.ends:
        start = datetime.combine(day, time(0, 0, 0), tzinfo=campaign.tz)
        if start.timestamp() > until:
            break
        end = datetime.combine(day, time(23, 59, 59), tzinfo=campaign.tz)
        # The running day ends, for now, at the last full hour: charts change hourly, not on
        # every request.
        out.append(min(end, campaign.local(max(int(start.timestamp()), until - until % 3600))))
        day += timedelta(days=1)
    return out


def _views_by_day(session: Session, snap: Snapshot, days: list[datetime]) -> tuple[DayPoint, ...]:
    eligible = {e.video_id: e for e in snap.eligible}
    series: dict[str, tuple[list[int], list[int]]] = {}
    for video_id, at, views in reads.observation_series(session, snap.campaign.id):
        if video_id not in eligible:
            continue
        times, counts = series.setdefault(video_id, ([], []))
        if times and times[-1] == at:
            counts[-1] = max(counts[-1], views)  # as the engine does with two counts at once
        else:
            times.append(at)
            counts.append(views)
    points = []
    for day in days:
        t = int(day.timestamp())
        total = 0
        for video_id, (times, counts) in series.items():
            created = eligible[video_id].create_time
            if created <= t:
                total += views_at(times, counts, cutoff=t, create_time=created).views
        points.append(DayPoint(day, total))
    return tuple(points)


def stats(
    session: Session, *, campaign_id: str, now: int, cache: ResultsCache | None = None
) -> Stats:
    """Return the entries and views over time, the topics and the distribution of views."""
    snap = snapshot_of(session, campaign_id, cache)
    c, eligible = snap.campaign, snap.eligible
    days = _day_ends(c, now)
    key = f"views_by_day:{int(days[-1].timestamp()) if days else 0}"
    views_by_day = snap.memo(key, lambda: _views_by_day(session, snap, days))
    posted = sorted(e.create_time for e in eligible)
    entries_by_day, i = [], 0
    for day in days:
        while i < len(posted) and posted[i] <= day.timestamp():
            i += 1
        entries_by_day.append(DayPoint(day, i))
    topics: dict[str, int] = {t.id: 0 for t in c.themes}
    for e in eligible:
        topic = e.topic if e.topic in topics else "unclassified"
        topics[topic] = topics.get(topic, 0) + 1
    bins = []
    for index, low in enumerate(VIEW_BINS):
        high = VIEW_BINS[index + 1] if index + 1 < len(VIEW_BINS) else None
        count = sum(
            1
            for e in eligible
            if e.views_at_cutoff >= low and (high is None or e.views_at_cutoff < high)
        )
        bins.append(Bin(low, high, count))
    return Stats(
        campaign=c,
        phase=phase(c, now, snap.standings.award),
        entries_by_day=tuple(entries_by_day),
        views_by_day=views_by_day,
        topics=tuple(sorted(topics.items(), key=lambda kv: (-kv[1], kv[0]))),
        distribution=tuple(bins),
    )
