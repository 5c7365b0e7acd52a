"""Following creators' own entries through the Display API: the plan and the refresh cycle.

Entries a creator registered are read back with *their* token, at most 20 ids a request
(``POST /v2/video/query/``), within TikTok's per-minute limit per endpoint.
:func:`plan_display` is pure and decides which entries are due, on the same schedule as the
Research API's tracking (:mod:`oyren.collect.plan`): weeks ahead about daily, then every tenth of
the time left, every cycle on the last day; every entry once more in the ten minutes before the
deadline and once more just after it, so its views at the deadline are observed or interpolated
over minutes; after the deadline only the entries not yet seen past it.

:func:`refresh_creators` runs one cycle: for each due creator a valid access token (refreshed
and the rotated refresh token stored in the same transaction as its use, see
:class:`~oyren.store.creators.DbCreatorStore`), their due ids in batches, observations stored with
source ``display_api``. What goes wrong is noticed and said: a refresh TikTok refuses (revoked,
expired) or a token refused mid-cycle marks the creator's access lost — their entries keep what
was observed, with its basis, never a guess; an entry TikTok no longer returns to its own creator
is noted as gone (deleted or private) and, after repeated misses, recorded as removed.
:func:`follow_creators` repeats cycles on a clock, waking for the deadline sweeps.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from oyren.clock import DAY, Clock
from oyren.collect.connectors.display import MAX_IDS, DisplayClient, ScopeMissing, TokenRejected
from oyren.collect.connectors.display import to_observation as display_observation
from oyren.collect.connectors.login import GrantInvalid, LoginClient, RateLimited, TokenSet
from oyren.errors import ApiUnavailable, OyrenError
from oyren.rules.campaign import Campaign
from oyren.rules.observations import Observation

__all__ = [
    "CreatorStore",
    "DisplayPlan",
    "DisplaySettings",
    "MinuteLimit",
    "RefreshReport",
    "Tracked",
    "follow_creators",
    "plan_display",
    "refresh_creators",
]


class Tracked(Protocol):
    """A creator and their entries, as the store gives them."""

    @property
    def creator_id(self) -> int: ...

    @property
    def username(self) -> str: ...

    @property
    def region(self) -> str | None: ...

    @property
    def video_ids(self) -> tuple[str, ...]: ...

    @property
    def token_status(self) -> str | None: ...


class CreatorStore(Protocol):
    """What the refresh cycle needs from the store (see ``oyren.store.creators``)."""

    def creators(self, campaign_id: str) -> Sequence[Tracked]: ...

    def last_seen(self, campaign_id: str) -> Mapping[str, int]: ...

    def access_token(
        self, creator_id: int, *, now: int, refresh: Callable[[str], TokenSet]
    ) -> str: ...

    def access_lost(self, creator_id: int, problem: str, *, now: int) -> None: ...

    def add(self, campaign_id: str, observations: Sequence[Observation]) -> int: ...

    def videos_gone(self, campaign_id: str, video_ids: Iterable[str], *, now: int) -> None: ...


@dataclass(frozen=True, slots=True)
class DisplaySettings:
    """The schedule and TikTok's per-minute limit."""

    cycle_s: int = 2 * 3600  # how often follow_creators wakes
    sweep_before_s: int = 600  # the sweep before the deadline starts this long before it
    per_minute: int = 600  # requests per endpoint per minute (TikTok's documented limit)


@dataclass(frozen=True, slots=True)
class DisplayPlan:
    """Which of each creator's entries to read now."""

    due: dict[int, tuple[str, ...]]  # creator id -> video ids

    @property
    def requests(self) -> int:
        """Requests the plan needs (20 ids a request per creator)."""
        return sum(-(-len(ids) // MAX_IDS) for ids in self.due.values())


def plan_display(
    creators: Sequence[Tracked],
    last_seen: Mapping[str, int],
    *,
    now: int,
    cutoff: int,
    settings: DisplaySettings | None = None,
) -> DisplayPlan:
    """Decide which entries are due at ``now`` (pure)."""
    s = settings or DisplaySettings()
    due: dict[int, tuple[str, ...]] = {}
    for creator in creators:
        if creator.token_status != "active":
            continue
        ids = tuple(v for v in creator.video_ids if _is_due(last_seen.get(v), now, cutoff, s))
        if ids:
            due[creator.creator_id] = ids
    return DisplayPlan(due)


def _is_due(seen: int | None, now: int, cutoff: int, s: DisplaySettings) -> bool:
    if seen is None:
        return True
    if now > cutoff:
        return seen <= cutoff  # once past the deadline, then done
    if now >= cutoff - s.sweep_before_s:
        return seen < cutoff - s.sweep_before_s  # the sweep before the deadline
    left = cutoff - now
    interval = min(DAY, max(s.cycle_s, left // 10)) if left > DAY else s.cycle_s
    return now - seen >= interval - 60


class MinuteLimit:
    """Keeps requests under ``per_minute`` in any sliding minute, waiting on the clock."""

    def __init__(self, clock: Clock, per_minute: int) -> None:
        self.clock = clock
        self.per_minute = per_minute
        self.sent: deque[float] = deque()

    def wait(self) -> None:
        """Return when one more request fits in the minute."""
        now = self.clock.now()
        while self.sent and self.sent[0] <= now - 60:
            self.sent.popleft()
        if len(self.sent) >= self.per_minute:
            self.clock.sleep(self.sent[0] + 60 - now)
            self.sent.popleft()
        self.sent.append(self.clock.now())


@dataclass
class RefreshReport:
    """What a cycle did and what it noticed."""

    creators: int = 0
    requests: int = 0
    observations: int = 0
    refreshed_tokens: int = 0
    access_lost: dict[int, str] = field(default_factory=dict)
    gone: list[str] = field(default_factory=list)
    rate_limited: bool = False
    unavailable: list[str] = field(default_factory=list)
    # Each video's cover address as read this cycle (they expire: fetch them soon).
    covers: dict[str, str] = field(default_factory=dict)


def refresh_creators(
    store: CreatorStore,
    login: LoginClient,
    display: DisplayClient,
    campaign: Campaign,
    *,
    clock: Clock,
    settings: DisplaySettings | None = None,
    limit: MinuteLimit | None = None,
) -> RefreshReport:
    """One cycle: read every due entry with its creator's token, store what TikTok answered."""
    s = settings or DisplaySettings()
    limit = limit or MinuteLimit(clock, s.per_minute)
    now = int(clock.now())
    creators = {c.creator_id: c for c in store.creators(campaign.id)}
    plan = plan_display(
        list(creators.values()), store.last_seen(campaign.id), now=now, cutoff=campaign.cutoff_ts,
        settings=s,
    )  # fmt: skip
    report = RefreshReport()

    def refresh(token: str) -> TokenSet:
        limit.wait()
        report.refreshed_tokens += 1
        return login.refresh(token)

    for creator_id, ids in plan.due.items():
        creator = creators[creator_id]
        report.creators += 1
        try:
            token = store.access_token(creator_id, now=int(clock.now()), refresh=refresh)
            seen: list[Observation] = []
            for start in range(0, len(ids), MAX_IDS):
                limit.wait()
                report.requests += 1
                batch = ids[start : start + MAX_IDS]
                videos = display.query(token, batch)
                report.covers.update(
                    (v.video_id, v.cover_image_url) for v in videos if v.cover_image_url
                )
                seen.extend(
                    display_observation(v, username=creator.username, region=creator.region)
                    for v in videos
                )
        except (GrantInvalid, TokenRejected) as exc:
            problem = "refresh_refused" if isinstance(exc, GrantInvalid) else "token_refused"
            store.access_lost(creator_id, problem, now=int(clock.now()))
            report.access_lost[creator_id] = problem
            continue
        except ScopeMissing:
            store.access_lost(creator_id, "scope_missing", now=int(clock.now()))
            report.access_lost[creator_id] = "scope_missing"
            continue
        except RateLimited:
            report.rate_limited = True
            break  # the minute is spent; the next cycle picks up where this one stopped
        except (ApiUnavailable, OyrenError) as exc:
            report.unavailable.append(f"{creator.username}: {exc}")
            continue
        report.observations += store.add(campaign.id, seen)
        missing = sorted(set(ids) - {o.video_id for o in seen})
        if missing:
            store.videos_gone(campaign.id, missing, now=int(clock.now()))
            report.gone.extend(missing)
    return report


def follow_creators(
    store: CreatorStore,
    login: LoginClient,
    display: DisplayClient,
    campaign: Campaign,
    *,
    clock: Clock,
    until: int,
    settings: DisplaySettings | None = None,
) -> list[RefreshReport]:
    """Run cycles until ``until``, waking every cycle and for both deadline sweeps."""
    s = settings or DisplaySettings()
    limit = MinuteLimit(clock, s.per_minute)
    sweeps = [campaign.cutoff_ts - s.sweep_before_s, campaign.cutoff_ts + 1]
    reports = []
    while clock.now() <= until:
        reports.append(
            refresh_creators(store, login, display, campaign, clock=clock, settings=s, limit=limit)
        )
        now = clock.now()
        wake = min([now + s.cycle_s, *(t for t in sweeps if t > now)])
        if wake > until:
            break
        clock.sleep(wake - now)
    return reports
