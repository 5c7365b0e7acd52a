"""Oversight: what the organizer's pages read — campaign health, the moderation queue, one
video's evidence, what an award would freeze, exports.

Like :mod:`oyren.pages.public`, every function takes a session and keyword arguments and returns
frozen dataclasses; changes (decisions, awards) go through :mod:`oyren.store` itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from oyren.errors import NotFound
from oyren.pages.snapshots import (
    CheckedVideo,
    Prize,
    checked_videos,
    metas_at_deadline,
    phase,
    prizes_of,
    snapshot_of,
)
from oyren.rules.campaign import Campaign
from oyren.rules.explain import entry_status
from oyren.rules.results import Flag
from oyren.screening.triage import QUEUE_SORTS
from oyren.store import (
    AwardRecord,
    JuryCertainty,
    current_award,
    decided,
    get_campaign,
    jury_certainty,
    reads,
    waiting,
    waiting_in,
)
from oyren.store.db import Session
from oyren.store.decided import DecidedVideo
from oyren.store.moderation import QueueChoice, QueueItem, queue_page
from oyren.store.submissions import open_submissions

__all__ = [
    "QUEUE_SORTS",
    "AwardPreview",
    "DecisionView",
    "Evidence",
    "Health",
    "Queue",
    "QueueFilter",
    "QueueRow",
    "award_preview",
    "campaign_award",
    "campaign_of",
    "evidence",
    "health",
    "moderation_rows",
]


@dataclass(frozen=True, slots=True)
class Health:
    """How the campaign's data stands: what is stored, how fresh, what waits for a person."""

    campaign: Campaign
    phase: str
    videos: int
    eligible: int
    pending: int
    excluded_by_moderators: int
    removed: int
    observations: int
    observations_last_day: int
    last_observation: datetime | None
    crawl_misses: int
    open_submissions: int
    award: AwardRecord | None
    # Videos waiting for a person: the moderation queue's length, the one definition the queue,
    # the award page and the command line share (pending checks, flags, doubtful topics, with no
    # decision yet).
    waiting: int = 0
    # When the integrity flags were last computed (None: not yet; pages say so), and whether
    # the verdicts are being recomputed after a change of rules (done, of how many).
    flags_computed_at: datetime | None = None
    recomputing: bool = False
    progress: tuple[int, int] = (0, 0)


def health(session: Session, *, campaign_id: str, now: int) -> Health:
    """Return the dashboard's numbers for a campaign."""
    snap = snapshot_of(session, campaign_id)
    c = snap.campaign
    # The decided rows counted by kind in the database: the page never reads them one by one.
    kinds = decided.tallies(session, snap.status, campaign_id)

    def count(kind: Callable[[decided.Tally], bool]) -> int:
        return sum(t.videos for t in kinds if kind(t))

    seen = reads.activity(session, campaign_id, since=now - 86400)
    last = seen.last_observation
    computed = snap.status.flags_computed_at
    return Health(
        campaign=c,
        phase=phase(c, now, snap.award),
        videos=count(lambda t: True),
        eligible=count(lambda t: t.eligible),
        pending=count(lambda t: entry_status(t.reasons) == "pending"),
        excluded_by_moderators=count(lambda t: "excluded_by_moderator" in t.reasons),
        removed=count(lambda t: "removed" in t.reasons),
        observations=seen.observations,
        observations_last_day=seen.observations_since,
        last_observation=None if last is None else c.local(last),
        crawl_misses=seen.crawl_misses,
        open_submissions=len(open_submissions(session, campaign_id=campaign_id)),
        award=snap.award,
        waiting=waiting_in(kinds),
        flags_computed_at=None if computed is None else c.local(computed),
        recomputing=snap.status.recomputing,
        progress=snap.progress,
    )


@dataclass(frozen=True, slots=True)
class QueueRow:
    """A video waiting for a person: why, its verdict so far and what it looks like."""

    video: CheckedVideo
    why: str  # "pending_check" (reasons a person can clear), "flagged" or "topic"
    flags: tuple[tuple[str, float, str], ...]
    detail: str = ""  # what is at stake: the prize a decision could change, a doubtful theme
    facts: tuple[tuple[str, Any], ...] = ()  # the detail as data, for the reader's language
    flag_evidence: tuple[Flag, ...] = ()  # the flags with their evidence as data


@dataclass(frozen=True, slots=True)
class QueueFilter:
    """Which videos of the queue to show: by why they wait, a flag's code, a theme; in which
    order ("priority": what a decision could change first; "views"; "posted": oldest first)."""

    why: str = ""  # "pending_check", "flagged", "topic" or "" for all
    flag: str = ""  # a flag's code, or "" for all
    theme: str = ""  # a theme's id, "none" for unclassified, or "" for all
    sort: str = "priority"


@dataclass(frozen=True, slots=True)
class Queue:
    """The moderation queue: one page of the videos waiting for a person, filtered and sorted."""

    campaign: Campaign
    rows: tuple[QueueRow, ...]
    total: int  # every video waiting for a person (the dashboard's count)
    matching: int = 0  # those the filter keeps
    offset: int = 0
    limit: int = 50
    filter: QueueFilter = QueueFilter()
    # What the filters can choose from, with how many videos each would keep.
    whys: tuple[tuple[str, int], ...] = ()
    flags: tuple[tuple[str, int], ...] = ()
    themes: tuple[tuple[str, int], ...] = ()
    flags_computed_at: datetime | None = None  # when the flags shown were computed (None: not yet)


# Why a video waits, as the page says it and as the store does.
_PAGE_WHYS = {"soft_reasons": "pending_check"}
_STORE_WHYS = {"pending_check": "soft_reasons", "flagged": "flagged", "topic": "topic"}


def _why(item: QueueItem) -> str:
    return _PAGE_WHYS.get(item.why, item.why)


def moderation_rows(
    session: Session,
    *,
    campaign_id: str,
    now: int,
    limit: int = 50,
    offset: int = 0,
    filter: QueueFilter | None = None,
) -> Queue:
    """Return one page of the videos a person should look at: reasons only a person can
    clear, flags, doubtful topics.

    Only videos with no decision yet; the queue is read from the live verdicts (not a frozen
    award) since decisions made now count for any later award: queries over the kept rows
    (:func:`oyren.store.moderation.queue_page`), which read the page's rows and counts only.
    """
    chosen = filter or QueueFilter()
    snap = snapshot_of(session, campaign_id)
    offset, limit = max(0, offset), max(1, min(limit, 200))
    page = queue_page(
        session,
        snap.status,
        snap.campaign,
        QueueChoice(
            # A why the page does not know keeps nothing, as before.
            why=_STORE_WHYS.get(chosen.why, "unknown") if chosen.why else "",
            flag=chosen.flag,
            theme=chosen.theme,
            sort=chosen.sort,
        ),
        offset=offset,
        limit=limit,
    )
    shown = page.items
    videos = snap.entries(session, video_ids=[i.entry.video_id for i in shown])
    checked = {c.video_id: c for c in checked_videos(session, snap, videos, now)}
    rows = tuple(
        QueueRow(
            video=checked[item.entry.video_id],
            why=_why(item),
            flags=tuple((f.code, f.score, f.explanation) for f in item.entry.flags),
            detail=item.detail,
            facts=item.facts,
            flag_evidence=item.entry.flags,
        )
        for item in shown
    )
    return Queue(
        campaign=snap.campaign,
        rows=rows,
        total=page.total,
        matching=page.matching,
        offset=offset,
        limit=limit,
        filter=chosen,
        whys=tuple(sorted((_PAGE_WHYS.get(k, k), n) for k, n in page.whys)),
        flags=page.flags,
        themes=page.themes,
        flags_computed_at=None
        if snap.status.flags_computed_at is None
        else snap.campaign.local(snap.status.flags_computed_at),
    )


@dataclass(frozen=True, slots=True)
class DecisionView:
    """A decision recorded on a video."""

    action: str
    reason: str
    by: str
    at: datetime


@dataclass(frozen=True, slots=True)
class Evidence:
    """Everything a moderator weighs about one video."""

    campaign: Campaign
    video: CheckedVideo
    reasons: tuple[str, ...]
    region_code: str | None
    duration_s: int | None
    hashtags: tuple[str, ...]
    views_basis: str
    series: tuple[tuple[datetime, int], ...]  # every observation's (collected_at, views)
    decisions: tuple[DecisionView, ...]
    flags: tuple[tuple[str, float, str], ...]
    flag_evidence: tuple[Flag, ...] = ()  # the flags with their evidence as data


def evidence(
    session: Session,
    *,
    campaign_id: str,
    video_id: str,
    now: int,
) -> Evidence:
    """Return the evidence about one video (an error when the campaign has no such video)."""

    snap = snapshot_of(session, campaign_id)
    found: list[DecidedVideo] = snap.entries(session, video_ids=[video_id])
    if not found:
        raise NotFound(f"no video '{video_id[:64]}' in campaign '{campaign_id}'")
    flags = decided.flags_of(session, campaign_id, video_ids=[video_id]).get(video_id, ())
    entry = found[0].entry
    c = snap.campaign
    meta = metas_at_deadline(session, c, [video_id])[video_id]
    series = reads.view_series(session, campaign_id, video_id)
    decisions = reads.decision_history(session, campaign_id, video_id)
    return Evidence(
        campaign=c,
        video=checked_videos(session, snap, found, now)[0],
        reasons=entry.reasons,
        region_code=meta.region_code,
        duration_s=meta.duration_s,
        hashtags=meta.hashtags,
        views_basis=entry.views_basis,
        series=tuple((c.local(at), views) for at, views in series),
        decisions=tuple(DecisionView(a, r, by, c.local(at)) for a, r, by, at in decisions),
        flags=tuple((f.code, f.score, f.explanation) for f in flags),
        flag_evidence=flags,
    )


@dataclass(frozen=True, slots=True)
class AwardPreview:
    """What awarding now would freeze: the prizes from the live standings."""

    campaign: Campaign
    phase: str
    award: AwardRecord | None
    prizes: tuple[Prize, ...]
    entries: int
    pending: int
    jury: JuryCertainty | None = None  # its ``below``: the award page warns


def award_preview(session: Session, *, campaign_id: str, now: int) -> AwardPreview:
    """Return the prizes an award made now would freeze, and what still waits for a person.

    Read from the live decided rows even after an award: a new award would take today's.
    """
    snap = snapshot_of(session, campaign_id)
    live = decided.winners(session, snap.status, snap.campaign)
    entries = decided.counts(session, snap.status, campaign_id).entries
    return AwardPreview(
        campaign=snap.campaign,
        phase=phase(snap.campaign, now, snap.award),
        award=snap.award,
        prizes=prizes_of(session, snap, live, entries),
        entries=entries,
        pending=waiting(session, campaign_id=campaign_id, status=snap.status),
        jury=jury_certainty(session, campaign_id=campaign_id),
    )


def campaign_of(session: Session, *, campaign_id: str) -> Campaign:
    """Return a stored campaign's rules (an error naming the stored ones when unknown)."""
    return get_campaign(session, campaign_id)


def campaign_award(session: Session, *, campaign_id: str) -> AwardRecord | None:
    """Return the award in force for a campaign, if any."""
    return current_award(session, campaign_id=campaign_id)
