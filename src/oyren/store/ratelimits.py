"""Rate limits every web process shares: token buckets per purpose and client, in the database.

A form post (a submission, a sign-in, a creator's consent) and the self-check are limited per
client address; behind several web processes, a bucket kept in one process's memory would let a
client spend the limit once per process. Here the bucket is a row: each try reads it with a row
lock (``SELECT … FOR UPDATE`` on PostgreSQL; SQLite's writers take turns anyway), refills it for
the time passed, and spends a token, in one short transaction.

Why the database rather than a rate-limit library's shared storage: those need another server
(Redis, Memcached); an installation already shares its database, and forms are rare next to
page reads (which each process limits on its own, see :mod:`oyren.web.security`).

Rows of clients not seen for :data:`FORGET_AFTER_S` are deleted when a new client appears.
"""

from __future__ import annotations

from sqlalchemy import Float, Index, String, delete, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from oyren.store.db import insert_ignoring_duplicates
from oyren.store.models import Base

__all__ = ["FORGET_AFTER_S", "RateBucketRow", "spend_token"]

FORGET_AFTER_S = 24 * 3600
"""Buckets of clients not seen for this long are forgotten."""
_PURPOSE_LENGTH = 16
_CLIENT_LENGTH = 64


class RateBucketRow(Base):
    """One client's bucket for one purpose: the tokens left when it was last seen."""

    __tablename__ = "rate_buckets"
    __table_args__ = (Index(None, "seen"),)

    purpose: Mapped[str] = mapped_column(String(_PURPOSE_LENGTH), primary_key=True)
    client: Mapped[str] = mapped_column(String(_CLIENT_LENGTH), primary_key=True)
    tokens: Mapped[float] = mapped_column(Float)
    seen: Mapped[float] = mapped_column(Float)


def spend_token(
    session: Session, *, purpose: str, client: str, per_minute: float, burst: int, now: float
) -> float:
    """Spend one of ``client``'s tokens for ``purpose``: 0 when allowed, else seconds to wait.

    The bucket holds up to ``burst`` tokens and refills at ``per_minute`` a minute; a rate of 0
    or less means no limit.
    """
    if per_minute <= 0:
        return 0.0
    purpose, client = purpose[:_PURPOSE_LENGTH], client[:_CLIENT_LENGTH]
    inserted = session.execute(
        insert_ignoring_duplicates(session, RateBucketRow).values(
            purpose=purpose, client=client, tokens=float(burst), seen=now
        )
    )
    if inserted.rowcount:  # type: ignore[attr-defined]
        session.execute(delete(RateBucketRow).where(RateBucketRow.seen < now - FORGET_AFTER_S))
    row = session.execute(
        select(RateBucketRow)
        .where(RateBucketRow.purpose == purpose, RateBucketRow.client == client)
        .with_for_update()
    ).scalar_one()
    rate = per_minute / 60.0
    tokens = min(float(burst), row.tokens + max(0.0, now - row.seen) * rate)
    wait = 0.0
    if tokens >= 1.0:
        tokens -= 1.0
    else:
        wait = (1.0 - tokens) / rate
    row.tokens, row.seen = tokens, max(now, row.seen)
    return wait
