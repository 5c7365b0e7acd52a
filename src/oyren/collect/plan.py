"""Quota-aware refresh planning: which known videos to look at again, and when. No I/O.

The API only tells today's count, so what a video had at the deadline is rebuilt from the
observations around it (:mod:`oyren.rules.views`). The daily quota (1,000 requests of up to 100
videos,
reset at 00:00 UTC) is spent where it decides prizes:

- *contenders* — the top videos and the videos of the top creators by estimated views at the
  deadline — are looked at every cycle, and last just before and first just after the deadline,
  so their views at the deadline are interpolated over minutes, not estimated;
- every entry that can still win is looked at in one sweep shortly before the deadline and one
  right after (the budget for both is held back on the deadline's UTC day);
- before that, entries are refreshed about daily and videos that cannot win (a hard rule keeps
  them out) every few days, with whatever the day's budget allows;
- after the deadline only entries with no observation after it are asked for again.

:func:`plan_round_robin` is the naive baseline the benchmark compares with: the same budget spread
evenly over the day, the least recently seen videos first.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta

from oyren.batch.evaluate import evaluate
from oyren.rules.campaign import Campaign
from oyren.rules.eligibility import HARD_REASONS, RuleSet, decide
from oyren.rules.observations import Observation
from oyren.rules.videos import Video
from oyren.rules.views import views_at

__all__ = [
    "Batch",
    "Coverage",
    "CoverageRow",
    "PlannerSettings",
    "QuotaState",
    "RefreshPlan",
    "TrackedVideo",
    "contenders",
    "could_win",
    "coverage",
    "estimate_at_cutoff",
    "make_batches",
    "next_run_at",
    "phase_of",
    "plan_refresh",
    "plan_round_robin",
]

HOUR = 3600
DAY = 86400
BATCH_DAYS = 30  # an id query's start_date and end_date may be at most 30 days apart


@dataclass(frozen=True, slots=True)
class TrackedVideo:
    """What the planner knows of a video: who posted it, when, whether it can win, its series."""

    video_id: str
    username: str
    create_time: int
    can_win: bool
    times: tuple[int, ...]
    views: tuple[int, ...]
    estimate: int | None = None  # views at the deadline, if already worked out

    @classmethod
    def of(cls, video: Video, rules: RuleSet, *, can_win: bool | None = None) -> TrackedVideo:
        """Summarize a stored video; it can win unless a hard rule keeps it out."""
        tracked = cls(
            video_id=video.video_id,
            username=video.meta.username,
            create_time=video.meta.create_time,
            can_win=could_win(video.meta, rules) if can_win is None else can_win,
            times=video.times,
            views=video.views,
        )
        return replace(tracked, estimate=estimate_at_cutoff(tracked, rules.cutoff))

    @property
    def last_seen(self) -> int:
        """When the video was last observed."""
        return self.times[-1]


@dataclass(frozen=True, slots=True)
class QuotaState:
    """Today's quota as the ledger sees it, and when it resets (Unix seconds)."""

    requests_left: int
    records_left: int
    reset_at: int


@dataclass(frozen=True, slots=True)
class PlannerSettings:
    """How the planner spends the quota."""

    every_s: int = 2 * HOUR  # time between tracking cycles
    contenders: int = 30  # top videos, and top creators, treated as contenders
    pre_lead_s: int = 10 * 60  # the sweep before the deadline starts this long before it
    contender_interval_s: int = 2 * HOUR  # refresh contenders this often on the last day
    entry_interval_s: int = DAY  # other entries that can win
    other_interval_s: int = 3 * DAY  # videos that cannot win
    retry_share: float = 0.1  # part of the budget kept for retries (500s cost quota too)
    batch_size: int = 100


@dataclass(frozen=True, slots=True)
class Batch:
    """Up to 100 video ids asked for in one query, with the UTC dates their posts fall in."""

    video_ids: tuple[str, ...]
    start_date: date
    end_date: date  # the day after the last post date, as the query's end_date
    contenders: bool = False


@dataclass(frozen=True, slots=True)
class RefreshPlan:
    """One cycle's plan: batches in the order to send them."""

    phase: str  # before, pre (the sweep before the deadline), post (right after), after
    batches: tuple[Batch, ...]
    contenders: frozenset[str]
    due: int  # videos that wanted a refresh this cycle
    budget: int  # requests the cycle may spend
    done: bool  # after the deadline, every entry is bracketed: tracking can stop
    reserve: int = 0  # requests held back for the deadline's sweeps before the next reset
    spare: int = 0  # requests left for discovery this cycle, the reserve untouched

    @property
    def video_ids(self) -> list[str]:
        """Every id in the plan, in sending order."""
        return [vid for batch in self.batches for vid in batch.video_ids]


def could_win(meta: Observation, rules: RuleSet) -> bool:
    """Tell whether no hard rule keeps a video out (a moderator can clear the soft ones)."""
    return not any(r in HARD_REASONS for r in decide(meta, rules).reasons)


def phase_of(now: float, cutoff: int, settings: PlannerSettings) -> str:
    """Name the cycle's phase relative to the deadline."""
    if now < cutoff - settings.pre_lead_s:
        return "before"
    if now <= cutoff:
        return "pre"
    if now < cutoff + settings.every_s:
        return "post"
    return "after"


def next_run_at(now: float, cutoff: int, settings: PlannerSettings) -> int:
    """When the next cycle should run: every ``every_s``, and on both sides of the deadline."""
    candidates = [int(now) + settings.every_s]
    for moment in (cutoff - settings.pre_lead_s, cutoff + 1):
        if moment > now:
            candidates.append(moment)
    return min(candidates)


def estimate_at_cutoff(video: TrackedVideo, cutoff: int) -> int:
    """Views at the deadline: rebuilt when the series reaches past it, else extrapolated."""
    if video.create_time > cutoff or not video.times:
        return 0
    if video.times[-1] >= cutoff:
        return views_at(
            video.times, video.views, cutoff=cutoff, create_time=video.create_time
        ).views
    # Linear from the last two points (or from zero at posting): optimistic for curves that level
    # off, which is the safe side when choosing whom to watch.
    t1, v1 = video.times[-1], video.views[-1]
    t0, v0 = (video.times[-2], video.views[-2]) if len(video.times) > 1 else (video.create_time, 0)
    rate = (v1 - v0) / (t1 - t0) if t1 > t0 else 0.0
    return int(v1 + max(0.0, rate) * (cutoff - t1))


def contenders(videos: Sequence[TrackedVideo], cutoff: int, k: int) -> frozenset[str]:
    """Ids of the top ``k`` videos and of every video of the top ``k`` creators, by estimate."""
    entries = [v for v in videos if v.can_win and v.create_time <= cutoff]
    estimates = {
        v.video_id: estimate_at_cutoff(v, cutoff) if v.estimate is None else v.estimate
        for v in entries
    }
    top = sorted(entries, key=lambda v: -estimates[v.video_id])[:k]
    by_creator: dict[str, list[TrackedVideo]] = {}
    for video in entries:
        by_creator.setdefault(video.username.casefold(), []).append(video)
    creators = sorted(by_creator.values(), key=lambda vs: -sum(estimates[v.video_id] for v in vs))
    chosen = {v.video_id for v in top}
    for group in creators[:k]:
        chosen.update(v.video_id for v in group)
    return frozenset(chosen)


def make_batches(
    videos: Iterable[TrackedVideo], *, limit: int, batch_size: int = 100, contenders: bool = False
) -> list[Batch]:
    """Pack videos, in priority order, into at most ``limit`` batches an id query can take."""
    open_batches: list[tuple[list[str], date, date]] = []
    for video in videos:
        day = _utc_date(video.create_time)
        for i, (ids, first, last) in enumerate(open_batches):
            lo, hi = min(first, day), max(last, day)
            if len(ids) < batch_size and (hi - lo).days < BATCH_DAYS:
                ids.append(video.video_id)
                open_batches[i] = (ids, lo, hi)
                break
        else:
            if len(open_batches) < limit:
                open_batches.append(([video.video_id], day, day))
    return [
        Batch(tuple(ids), first, last + timedelta(days=1), contenders)
        for ids, first, last in open_batches
    ]


def plan_refresh(
    videos: Sequence[TrackedVideo],
    *,
    now: float,
    cutoff: int,
    quota: QuotaState,
    settings: PlannerSettings | None = None,
) -> RefreshPlan:
    """Plan one tracking cycle: what to refresh now so that the deadline is well covered."""
    s = settings or PlannerSettings()
    phase = phase_of(now, cutoff, s)
    usable = _usable(quota, s)
    chosen = contenders(videos, cutoff, s.contenders)
    entries = [v for v in videos if v.can_win and v.create_time <= cutoff]
    if phase in ("post", "after"):
        # Only an observation after the deadline still improves the views at the deadline.
        due = [v for v in entries if v.last_seen <= cutoff]
        budget = usable
        first = [v for v in due if v.video_id in chosen]
        others = [v for v in due if v.video_id not in chosen]
        batches = _two_groups(first, others, budget, s, contenders_first=True)
        done = phase == "after" and not due
        spare = usable - len(batches)
        return RefreshPlan(phase, tuple(batches), chosen, len(due), budget, done, 0, spare)
    if phase == "pre":
        due = [v for v in entries if v.last_seen < now]
        budget = usable
        if cutoff + 1 < quota.reset_at:
            # Keep the sweep after the deadline; when both do not fit, the contenders before
            # it come before everyone else after it.
            mine = _sweep_cost([v for v in entries if v.video_id in chosen], s)
            budget = max(usable - _sweep_cost(entries, s), min(mine, usable - mine), 0)
        reserve = usable - budget
        # The contenders go last, nearest the deadline.
        last = [v for v in due if v.video_id in chosen]
        others = [v for v in due if v.video_id not in chosen]
        batches = _two_groups(last, others, budget, s, contenders_first=False)
        spare = budget - len(batches)
        return RefreshPlan(phase, tuple(batches), chosen, len(due), budget, False, reserve, spare)
    # Before the deadline: hold back the sweeps that fall before the next reset, spread the rest.
    brackets = sum(1 for m in (cutoff - s.pre_lead_s, cutoff + 1) if now <= m < quota.reset_at)
    reserve = min(usable, brackets * _sweep_cost(entries, s)) if brackets else 0
    horizon = min(quota.reset_at, cutoff - s.pre_lead_s) if brackets else quota.reset_at
    budget = _share(usable - reserve, horizon, now, s)
    due = [v for v in videos if now - v.last_seen >= _interval(v, chosen, now, cutoff, s)]
    due.sort(key=lambda v: (v.video_id not in chosen, -(now - v.last_seen)))
    batches = make_batches(due, limit=budget, batch_size=s.batch_size)
    spare = usable - reserve - len(batches)
    return RefreshPlan(phase, tuple(batches), chosen, len(due), budget, False, reserve, spare)


def plan_round_robin(
    videos: Sequence[TrackedVideo],
    *,
    now: float,
    cutoff: int,
    quota: QuotaState,
    settings: PlannerSettings | None = None,
) -> RefreshPlan:
    """The naive baseline: the day's budget spread evenly, least recently seen first."""
    s = settings or PlannerSettings()
    usable = _usable(quota, s)
    budget = _share(usable, quota.reset_at, now, s)
    due = sorted(videos, key=lambda v: (v.last_seen, v.video_id))
    batches = make_batches(due, limit=budget, batch_size=s.batch_size)
    phase = phase_of(now, cutoff, s)
    spare = usable - len(batches)
    return RefreshPlan(phase, tuple(batches), frozenset(), len(due), budget, False, 0, spare)


def _share(free: int, horizon: float, now: float, s: PlannerSettings) -> int:
    """This cycle's part of ``free`` requests, spread over the cycles until ``horizon``."""
    cycles = max(1, math.ceil((horizon - now) / s.every_s))
    # At least one while anything is free, so a small budget is spent early, not never.
    return max(free // cycles, 1) if free > 0 else 0


def _sweep_cost(entries: Sequence[TrackedVideo], s: PlannerSettings) -> int:
    """Requests one sweep over every entry takes."""
    return len(make_batches(entries, limit=len(entries) + 1, batch_size=s.batch_size))


def _usable(quota: QuotaState, s: PlannerSettings) -> int:
    requests = quota.requests_left - math.ceil(quota.requests_left * s.retry_share)
    return max(0, min(requests, quota.records_left // s.batch_size))


def _interval(
    video: TrackedVideo, chosen: frozenset[str], now: float, cutoff: int, s: PlannerSettings
) -> float:
    if video.video_id in chosen:
        # Weeks ahead, knowing who the contenders are takes a daily look; the last day, every
        # cycle: a tenth of the time left, between the two.
        return min(s.entry_interval_s, max(s.contender_interval_s, (cutoff - now) / 10))
    if video.can_win and video.create_time <= cutoff:
        return s.entry_interval_s
    return s.other_interval_s


def _two_groups(
    contenders_group: Sequence[TrackedVideo],
    others: Sequence[TrackedVideo],
    budget: int,
    s: PlannerSettings,
    *,
    contenders_first: bool,
) -> list[Batch]:
    """Batches in sending order; the contenders are packed first so that they fit the budget."""
    mine = make_batches(contenders_group, limit=budget, batch_size=s.batch_size, contenders=True)
    rest = make_batches(others, limit=budget - len(mine), batch_size=s.batch_size)
    return mine + rest if contenders_first else rest + mine


def _utc_date(ts: int) -> date:
    return datetime.fromtimestamp(ts, tz=UTC).date()


@dataclass(frozen=True, slots=True)
class CoverageRow:
    """How one prize contender's views at the deadline are known."""

    rank: int
    name: str  # a video id, or a creator's username
    views: int
    basis: str  # the worst basis among the videos counted
    gap_s: int | None  # the widest gap between observations around the deadline
    videos: int


@dataclass(frozen=True, slots=True)
class Coverage:
    """The top of each view prize and how well the deadline is covered for each."""

    best_video: tuple[CoverageRow, ...]
    discover: tuple[CoverageRow, ...]


_BASIS_ORDER = ("observed", "interpolated", "last_before_cutoff", "from_creation")


def coverage(campaign: Campaign, videos: Iterable[Video], *, top: int = 10) -> Coverage:
    """Rank the stored videos and say, for each prize's top ``top``, how its views are known."""
    results = evaluate(campaign, videos)
    ranked = results.eligible
    best = tuple(
        CoverageRow(i, e.video_id, e.views_at_cutoff, e.views_basis, e.gap_s, 1)
        for i, e in enumerate(ranked[:top], start=1)
    )
    by_id = {e.video_id: e for e in ranked}
    rows = []
    for i, (username, views, ids) in enumerate(results.creators[:top], start=1):
        entries = [by_id[vid] for vid in ids]
        basis = max((e.views_basis for e in entries), key=_BASIS_ORDER.index)
        gaps = [e.gap_s for e in entries]
        gap = None if any(g is None for g in gaps) else max(g for g in gaps if g is not None)
        rows.append(CoverageRow(i, username, views, basis, gap, len(entries)))
    return Coverage(best, tuple(rows))
