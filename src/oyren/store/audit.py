"""The audit log: who did what to a campaign, and when.

Every change the store makes — registering or updating a campaign's rules, importing
observations, moderating, confirming removals, awarding and superseding prizes — appends one
entry here in the same transaction as the change itself. The table is append-only: the
database refuses to update or delete its rows (see migration 0002).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from oyren.store.models import AuditRow

__all__ = ["AuditEntry", "AuditPage", "audit_page", "now", "record_event"]


def now() -> int:
    """The current time in Unix seconds."""
    return int(time.time())


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One entry of the audit log."""

    id: int
    campaign_id: str | None
    at: int
    by: str
    action: str
    details: dict[str, Any]


@dataclass(frozen=True, slots=True)
class AuditPage:
    """Entries, newest first, and the id to pass as ``before`` for the next (older) page."""

    entries: tuple[AuditEntry, ...]
    next_before: int | None


def record_event(
    session: Session,
    *,
    campaign_id: str | None,
    action: str,
    by: str,
    details: dict[str, Any],
    at: int | None = None,
) -> None:
    """Append an entry to the audit log, in the caller's transaction."""
    session.flush()  # what the entry is about (say, a new campaign) is written first
    session.add(
        AuditRow(
            campaign_id=campaign_id,
            at=now() if at is None else at,
            actor=by,
            action=action,
            details=orjson.dumps(details).decode(),
        )
    )


def audit_page(
    session: Session,
    *,
    campaign_id: str | None = None,
    before: int | None = None,
    limit: int = 50,
) -> AuditPage:
    """Return up to ``limit`` entries older than id ``before``, newest first."""
    query = select(AuditRow).order_by(AuditRow.id.desc()).limit(limit + 1)
    if campaign_id is not None:
        query = query.where(AuditRow.campaign_id == campaign_id)
    if before is not None:
        query = query.where(AuditRow.id < before)
    rows = session.scalars(query).all()
    entries = tuple(
        AuditEntry(r.id, r.campaign_id, r.at, r.actor, r.action, orjson.loads(r.details))
        for r in rows[:limit]
    )
    more = len(rows) > limit
    return AuditPage(entries, entries[-1].id if more and entries else None)
