"""Collection's storage: crawl checkpoints, observations a page adds, and the quota ledger.

:class:`oyren.collect.dbstore.DbCrawlStore` (what ``oyren crawl`` and ``oyren track`` use) calls
these inside its transactions. Observations go into the same tables, through the same bulk insert,
as ``oyren ingest`` puts them, so the standings of a crawled campaign are what ``oyren run``
computes from the same observations. The quota ledger is the whole installation's, across
campaigns, as the API's quota is the organization's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Insert, Table, select
from sqlalchemy.orm import Session

from oyren.errors import StoreError
from oyren.rules.observations import Observation
from oyren.store.ingest import ObservationWriter
from oyren.store.models import CrawlCheckpointRow, ObservationRow, QuotaRow, VideoRow

__all__ = [
    "CHECKPOINT_FIELDS",
    "add_observations",
    "fresh_observations",
    "last_observation_id",
    "put_checkpoint",
    "quota_spent",
    "record_quota",
    "stored_checkpoints",
]

QUOTA: Table = QuotaRow.__table__  # type: ignore[assignment]
CHECKPOINT_FIELDS = ("span", "cursor", "search_id", "done", "started_at", "finished_at")


def stored_checkpoints(session: Session, campaign: str) -> list[dict[str, Any]]:
    """Every span's checkpoint of a campaign, as column values."""
    query = select(CrawlCheckpointRow).where(CrawlCheckpointRow.campaign_id == campaign)
    return [{f: getattr(r, f) for f in CHECKPOINT_FIELDS} for r in session.scalars(query)]


def put_checkpoint(session: Session, campaign: str, fields: dict[str, Any]) -> None:
    """Store a span's checkpoint, replacing the one of the same span."""
    session.merge(CrawlCheckpointRow(campaign_id=campaign, **fields))


def add_observations(
    session: Session, campaign: str, observations: Sequence[Observation]
) -> tuple[int, int]:
    """Store the observations whose (video, instant) is new; return (observations, new videos)."""
    fresh = fresh_observations(session, campaign, observations)
    if not fresh:
        return 0, 0
    writer = ObservationWriter(session, campaign, source="research_api")
    writer.insert(fresh)
    return len(fresh), writer.new_videos


def last_observation_id(session: Session, campaign: str) -> int:
    """The id of a campaign's newest stored observation (0 before any): it moves on every add."""
    last = session.scalar(
        select(ObservationRow.id)
        .join(VideoRow, VideoRow.id == ObservationRow.video_pk)
        .where(VideoRow.campaign_id == campaign)
        .order_by(ObservationRow.id.desc())
        .limit(1)
    )
    return last or 0


def quota_spent(session: Session, day: str) -> tuple[int, int]:
    """Return (requests, records) spent on UTC ``day``."""
    row = session.get(QuotaRow, day)
    return (0, 0) if row is None else (row.requests, row.records)


def record_quota(session: Session, day: str, requests: int, records: int) -> None:
    """Add requests and records to UTC ``day``'s spending (at once, for every process)."""
    statement = _upsert(session, QUOTA).values(day=day, requests=requests, records=records)
    session.execute(
        statement.on_conflict_do_update(  # type: ignore[attr-defined]
            index_elements=["day"],
            set_={
                "requests": QUOTA.c.requests + statement.excluded.requests,  # type: ignore[attr-defined]
                "records": QUOTA.c.records + statement.excluded.records,  # type: ignore[attr-defined]
            },
        )
    )


def fresh_observations(
    session: Session, campaign: str, observations: Sequence[Observation]
) -> list[Observation]:
    """The observations whose (video, instant) is neither stored nor earlier in the page."""
    if not observations:
        return []
    keys = {(o.video_id, o.collected_at) for o in observations}
    query = (
        select(VideoRow.video_id, ObservationRow.collected_at)
        .join(ObservationRow, ObservationRow.video_pk == VideoRow.id)
        .where(
            VideoRow.campaign_id == campaign,
            VideoRow.video_id.in_({v for v, _ in keys}),
            ObservationRow.collected_at.in_({t for _, t in keys}),
        )
    )
    seen: set[tuple[str, int]] = {(v, t) for v, t in session.execute(query)}
    out: list[Observation] = []
    for obs in observations:
        key = (obs.video_id, obs.collected_at)
        if key not in seen:
            seen.add(key)
            out.append(obs)
    return out


def _upsert(session: Session, table: Table) -> Insert:
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table)
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        return sqlite_insert(table)
    raise StoreError(f"the {dialect} database is not supported: use SQLite or PostgreSQL")
