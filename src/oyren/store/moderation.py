"""Moderation in the store: a person's decisions on videos, and the queue of videos awaiting one.

The rules for what a decision does are in :mod:`oyren.rules.eligibility`; here decisions are checked
(the video exists, an exclusion has a reason), stored in order, and logged.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from oyren.errors import InputError, StoreError
from oyren.inputs.decisions import read_decisions
from oyren.rules.decisions import ACTIONS, Decision, latest_decisions
from oyren.rules.results import Entry, Results
from oyren.screening.triage import awaits_person, review_queue
from oyren.store import decided
from oyren.store.audit import now, record_event
from oyren.store.models import DecisionRow
from oyren.store.rows import (
    file_digest,
    live_results,
    parse_stored,
    require_campaign,
    require_video,
    stored_decisions,
    video_ids,
)

__all__ = [
    "QueueItem",
    "import_decisions",
    "moderate",
    "moderation_queue",
    "waiting",
    "waiting_in",
]


@dataclass(frozen=True, slots=True)
class QueueItem:
    """A video waiting for a moderator, and why it needs a person."""

    entry: Entry
    why: str  # "soft_reasons" (an inclusion would let it count), "flagged" or "topic"
    detail: str = ""  # what is at stake, in plain words
    facts: tuple[tuple[str, Any], ...] = ()  # the same as data (oyren.screening.triage.Review)


def _add(session: Session, campaign_id: str, d: Decision) -> None:
    decided.touch(session, campaign_id, [d.video_id])
    session.add(
        DecisionRow(
            campaign_id=campaign_id,
            video_id=d.video_id,
            action=d.action,
            reason=d.reason,
            actor=d.by,
            at=d.at,
        )
    )


def moderate(
    session: Session,
    *,
    campaign_id: str,
    video_id: str,
    action: str,
    reason: str,
    by: str,
    at: int | None = None,
) -> Decision:
    """Record a moderator's decision to exclude or include a video."""
    require_campaign(session, campaign_id)
    if action not in ACTIONS:
        raise StoreError(f"a decision is one of {', '.join(ACTIONS)}, not '{action}'")
    reason = reason.replace("\x00", "").strip()
    if action == "exclude" and not reason:
        raise StoreError("an exclusion needs a reason the creator can read (--reason TEXT)")
    require_video(session, campaign_id, video_id)
    decision = Decision(video_id, action, reason, by, now() if at is None else at)
    _add(session, campaign_id, decision)
    record_event(
        session,
        campaign_id=campaign_id,
        action=f"moderation.{action}",
        by=by,
        at=decision.at,
        details={"video_id": video_id, "reason": reason},
    )
    return decision


def import_decisions(session: Session, *, campaign_id: str, path: str | Path, by: str) -> int:
    """Store the decisions of a JSONL file, in its order; return how many."""
    require_campaign(session, campaign_id)
    decisions = read_decisions(path)
    known = video_ids(session, campaign_id)
    for d in decisions:
        if d.video_id not in known:
            raise InputError(
                f"campaign '{campaign_id}' has no video '{d.video_id}'",
                path=str(path),
                field="video_id",
            )
        _add(session, campaign_id, d)
    details = {"file": Path(path).name, "sha256": file_digest(path), "decisions": len(decisions)}
    record_event(
        session, campaign_id=campaign_id, action="moderation.import", by=by, details=details
    )
    return len(decisions)


def moderation_queue(
    session: Session, *, campaign_id: str, results: Results | None = None
) -> list[QueueItem]:
    """List videos a person should look at, in the order of
    :func:`oyren.screening.triage.review_queue`.

    Only videos with no decision yet: reasons a person can clear, integrity flags (those that
    could change a prize first) and doubtful topics.
    """
    campaign = parse_stored(require_campaign(session, campaign_id).source_text, campaign_id)
    done = frozenset(latest_decisions(stored_decisions(session, campaign_id)))
    if results is None:
        state = decided.status(session, campaign_id)
        # The kept verdicts with the flags as last computed; the engine only before any is built.
        results = (
            decided.results(session, state, campaign)
            if state.ready
            else live_results(session, campaign)
        )
    reviews = review_queue(
        results,
        decided=done,
        max_prizes_per_creator=campaign.max_prizes_per_creator,
    )
    return [QueueItem(r.entry, r.why, r.detail, r.facts) for r in reviews]


def waiting_in(tallies: Iterable[decided.Tally]) -> int:
    """How many videos :func:`moderation_queue` lists, from the decided rows counted by kind."""
    return sum(
        t.videos
        for t in tallies
        if not t.decided
        and awaits_person(
            eligible=t.eligible,
            reasons=t.reasons,
            flagged=t.flagged,
            doubtful_topic=t.doubtful_topic,
        )
    )


def waiting(session: Session, *, campaign_id: str, status: decided.Status | None = None) -> int:
    """How many videos wait for a person: the length of :func:`moderation_queue`, counted in the
    database from the kept rows (the queue itself weighs every entry; before the rows are first
    built, it is what is counted). ``status``: where the rows stand, if already read."""
    state = decided.status(session, campaign_id) if status is None else status
    if not state.ready:
        return len(moderation_queue(session, campaign_id=campaign_id))
    return waiting_in(decided.tallies(session, state, campaign_id))
