"""The organizer's published signing keys: public keys only, never a private one.

An award is signed with the private key named by the ``signing_key`` setting (a file on the
organizer's machine); its public key is published here the first time it signs, or beforehand
with ``oyren keys publish``. Keys are rotated by publishing a new one and retiring the old: a
retired key signs no new award, but stays published, so the awards it signed still verify.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from oyren.batch.signing import PublicKey
from oyren.errors import StoreError
from oyren.store.audit import now, record_event
from oyren.store.models import SigningKeyRow

__all__ = ["SigningKey", "list_keys", "publish_key", "require_signing_key", "retire_key"]


@dataclass(frozen=True, slots=True)
class SigningKey:
    """A published public key."""

    key_id: str
    public_key: str  # base64 of its 32 raw bytes
    published_at: int
    published_by: str
    retired_at: int | None


def _info(row: SigningKeyRow) -> SigningKey:
    return SigningKey(row.key_id, row.public_key, row.published_at, row.published_by,
                      row.retired_at)  # fmt: skip


def list_keys(session: Session) -> list[SigningKey]:
    """Every published key, oldest first (retired ones too: they verify older awards)."""
    query = select(SigningKeyRow).order_by(SigningKeyRow.published_at, SigningKeyRow.key_id)
    return [_info(row) for row in session.scalars(query)]


def publish_key(session: Session, *, key: PublicKey, by: str, at: int | None = None) -> SigningKey:
    """Publish a public key (nothing changes if it already is); logged."""
    row = session.get(SigningKeyRow, key.key_id)
    if row is not None:
        return _info(row)
    row = SigningKeyRow(key_id=key.key_id, public_key=key.text,
                        published_at=now() if at is None else at, published_by=by)  # fmt: skip
    session.add(row)
    details = {"key_id": key.key_id, "public_key": key.text}
    record_event(session, campaign_id=None, action="keys.publish", by=by, at=row.published_at,
                 details=details)  # fmt: skip
    return _info(row)


def retire_key(session: Session, *, key_id: str, by: str, at: int | None = None) -> SigningKey:
    """Retire a key: it signs no new award; the awards it signed still verify. Logged."""
    row = session.get(SigningKeyRow, key_id.strip())
    if row is None:
        raise StoreError(f"no published key '{key_id}': see `oyren keys list`")
    if row.retired_at is None:
        row.retired_at = now() if at is None else at
        record_event(session, campaign_id=None, action="keys.retire", by=by, at=row.retired_at,
                     details={"key_id": row.key_id})  # fmt: skip
    return _info(row)


def require_signing_key(session: Session, *, key: PublicKey, by: str, at: int) -> SigningKey:
    """The key an award is about to be signed with: published now if new, refused if retired."""
    published = publish_key(session, key=key, by=by, at=at)
    if published.retired_at is not None:
        raise StoreError(
            f"the signing key {key.key_id} was retired; sign with the new key (point "
            "OYREN_SIGNING_KEY at its file), or publish a new one with `oyren keys generate`"
        )
    return published
