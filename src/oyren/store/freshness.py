"""How fresh a campaign's public pages are: a version every web process derives alike.

A page's validator (its ``ETag`` and ``Last-Modified``) must be the same in every web process
and must move whenever anything the page shows could have changed, without keeping anything
in a process's memory. :func:`campaign_version` reads it from the database in one statement
made of index-only lookups, each O(log n) whatever the campaign's size:

- the newest id of every table whose rows drive a page: observations, decisions, removals,
  creators' entries and withdrawals, jury judgments (ids only grow, so a new row moves the
  maximum; the maximum of a primary key is one step down its index), and the site-wide entries
  of the audit log (signing keys published or retired);
- the campaign's newest award and newest audit entry (through the ``(campaign_id, …)`` indexes):
  every change made in place rather than by a new row — a creator's erasure, an entry's lost
  access, a round closed, a vote removed — is logged there;
- the campaign's rules digest and the time they were last changed;
- where its decided rows stand (the complete generation, a rebuild's progress) and when the
  background screening last stored its flags and charts.

The newest ids are over all campaigns (a per-campaign maximum of observations would need a
join); a write to another campaign then changes this one's version too, which costs a reader a
full answer instead of a ``304`` but never shows a stale page.

``modified_at`` is the latest moment any of those writes carries (Unix seconds), for
``Last-Modified``; the ``ETag`` is the digest of everything above, so it moves even when a
write carries an older time (a file of old observations imported now).
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ScalarSelect, Select, String, bindparam, func, select
from sqlalchemy.orm import Session

from oyren.store.models import (
    AuditRow,
    AwardRow,
    CampaignRow,
    CreatorEntryRow,
    CreatorWithdrawalRow,
    DecidedStateRow,
    DecisionRow,
    JudgmentRow,
    ObservationRow,
    RemovalRow,
)

__all__ = ["Version", "campaign_version", "site_version"]

MAX_CAMPAIGN_ID = 64
"""Longer ids cannot exist; the version of one is not looked up."""


@dataclass(frozen=True, slots=True)
class Version:
    """A state of the store as pages see it: a digest to compare and the time it was reached."""

    digest: str
    modified_at: int


def _newest(column: Any, table: Any, *where: Any) -> ScalarSelect[Any]:
    return select(func.max(column)).select_from(table).where(*where).scalar_subquery()


def _time_of(column: Any, id_column: Any, newest_id: ScalarSelect[Any]) -> ScalarSelect[Any]:
    return select(column).where(id_column == newest_id).scalar_subquery()


def _shared() -> list[ScalarSelect[Any]]:
    """The newest ids of the tables every campaign's pages read, and their newest times."""
    obs = _newest(ObservationRow.id, ObservationRow)
    dec = _newest(DecisionRow.id, DecisionRow)
    rem = _newest(RemovalRow.id, RemovalRow)
    wdr = _newest(CreatorWithdrawalRow.id, CreatorWithdrawalRow)
    jud = _newest(JudgmentRow.id, JudgmentRow)
    return [
        obs,
        dec,
        rem,
        _newest(CreatorEntryRow.id, CreatorEntryRow),
        wdr,
        jud,
        # Site-wide changes (signing keys published or retired) are logged without a campaign.
        _newest(AuditRow.id, AuditRow, AuditRow.campaign_id.is_(None)),
        # The times those newest rows carry (each a primary-key lookup).
        _time_of(ObservationRow.collected_at, ObservationRow.id, obs),
        _time_of(DecisionRow.at, DecisionRow.id, dec),
        _time_of(RemovalRow.at, RemovalRow.id, rem),
        _time_of(CreatorWithdrawalRow.at, CreatorWithdrawalRow.id, wdr),
        _time_of(JudgmentRow.at, JudgmentRow.id, jud),
    ]


def _version(values: tuple[object, ...], times: tuple[object, ...]) -> Version:
    digest = hashlib.blake2b(repr(values).encode(), digest_size=12).hexdigest()
    moments = [t for t in times if isinstance(t, int)]
    return Version(digest=digest, modified_at=max(moments, default=0))


@functools.cache
def _campaign_statement() -> Select[Any]:
    # Built once: the statement is the same for every campaign (the id is a bound parameter),
    # and putting it together costs more than running it.
    campaign_id = bindparam("campaign_id", type_=String)
    audit = _newest(AuditRow.id, AuditRow, AuditRow.campaign_id == campaign_id)
    award = _newest(AwardRow.id, AwardRow, AwardRow.campaign_id == campaign_id)
    return select(
        select(CampaignRow.rules_digest).where(CampaignRow.id == campaign_id).scalar_subquery(),
        select(CampaignRow.updated_at).where(CampaignRow.id == campaign_id).scalar_subquery(),
        audit,
        award,
        _time_of(AuditRow.at, AuditRow.id, audit),
        _time_of(AwardRow.awarded_at, AwardRow.id, award),
        *_shared(),
        # Where the decided rows stand: a rebuild's progress and its completion, and the flags
        # and charts the background screening stored, change pages without a new input row.
        *(
            select(column).where(DecidedStateRow.campaign_id == campaign_id).scalar_subquery()
            for column in (
                DecidedStateRow.generation,
                DecidedStateRow.building,
                DecidedStateRow.done,
                DecidedStateRow.flags_computed_at,
            )
        ),
    )


def campaign_version(session: Session, campaign_id: str) -> Version | None:
    """The version of ``campaign_id``'s public pages, or None when there is no such campaign."""
    if not campaign_id or len(campaign_id) > MAX_CAMPAIGN_ID:
        return None
    values = tuple(session.execute(_campaign_statement(), {"campaign_id": campaign_id}).one())
    if values[0] is None:
        return None
    ids = (values[0], values[2], values[3], *values[6:13], *values[18:])
    times = (values[1], values[4], values[5], *values[13:18], values[21])
    return _version(ids, times)


@functools.cache
def _site_statement() -> Select[Any]:
    audit = _newest(AuditRow.id, AuditRow)
    # The list shows each campaign's number of videos: new ones come with new observations.
    obs = _newest(ObservationRow.id, ObservationRow)
    return select(
        select(func.count()).select_from(CampaignRow).scalar_subquery(),
        select(func.max(CampaignRow.updated_at)).scalar_subquery(),
        audit,
        _time_of(AuditRow.at, AuditRow.id, audit),
        obs,
        _time_of(ObservationRow.collected_at, ObservationRow.id, obs),
    )


def site_version(session: Session) -> Version:
    """The version of pages about every campaign (the list of campaigns and their videos)."""
    count, updated, newest, at, obs, seen = tuple(session.execute(_site_statement()).one())
    return _version((count, updated, newest, obs), (updated, at, seen))
