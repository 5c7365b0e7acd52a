"""Accounts: the people who run a contest, their roles and their passwords.

Roles: an ``organizer`` runs the campaign (moderates, awards, exports, manages accounts); a
``moderator`` works the moderation queue; a ``juror`` judges entries and may do nothing else.
Passwords are stored only as Argon2id hashes, with the parameters the OWASP Password Storage
Cheat Sheet gives as its first choice (19 MiB of memory, 2 passes, 1 lane): about 75 ms per
hash on a small server, so sign-ins stay cheap while guessing stays expensive. A hash made with
other parameters is replaced at the next successful sign-in. Each account has a
session epoch: signing out raises it, which ends every session of that account at once.

:func:`session_secret` keeps the key that signs session cookies and CSRF tokens in the database,
made on first use, so every server process of an installation shares it and it survives restarts
without another setting to manage.
"""

from __future__ import annotations

import re
import secrets
from contextlib import suppress
from dataclasses import dataclass
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import BigInteger, Boolean, Integer, LargeBinary, String, Text, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from oyren.errors import StoreError
from oyren.store.audit import now, record_event
from oyren.store.models import Base

__all__ = [
    "MIN_PASSWORD_LENGTH",
    "ROLES",
    "SecretRow",
    "User",
    "UserRow",
    "authenticate",
    "count_users",
    "create_user",
    "end_sessions",
    "get_user",
    "list_users",
    "session_secret",
]

ROLES = ("organizer", "moderator", "juror")
MIN_PASSWORD_LENGTH = 10  # NIST SP 800-63B's floor is 8; organizers' accounts can freeze prizes
_USERNAME_RE = re.compile(r"[a-z0-9][a-z0-9_.-]{1,39}")
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


@cache
def _dummy_hash() -> str:
    # Verified against when the username is unknown, so a wrong name takes as long as a wrong
    # password and does not tell a guesser which accounts exist.
    return _hasher.hash(secrets.token_hex(16))


class UserRow(Base):
    """An account that can sign in to the organizer's pages."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(40), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean)
    session_epoch: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[int] = mapped_column(BigInteger)


class SecretRow(Base):
    """A named random key the installation keeps (the session-signing key)."""

    __tablename__ = "secrets"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[int] = mapped_column(BigInteger)


@dataclass(frozen=True, slots=True)
class User:
    """An account as the rest of Öyrən sees it (never the password hash)."""

    id: int
    username: str
    role: str
    active: bool
    session_epoch: int
    created_at: int


def _user(row: UserRow) -> User:
    return User(row.id, row.username, row.role, row.active, row.session_epoch, row.created_at)


def create_user(
    session: Session, *, username: str, password: str, role: str, by: str, at: int | None = None
) -> User:
    """Create an account; the username is lowercase letters, digits, ``_ . -``."""
    name = username.strip().lower()
    if not _USERNAME_RE.fullmatch(name):
        raise StoreError(
            f"'{username}' cannot be a username: use 2 to 40 lowercase letters, digits, "
            "'_', '.' or '-', starting with a letter or digit"
        )
    if role not in ROLES:
        raise StoreError(f"a role is one of {', '.join(ROLES)}, not '{role}'")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise StoreError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    if session.scalar(select(UserRow.id).where(UserRow.username == name)) is not None:
        raise StoreError(f"there is already an account '{name}'")
    at = now() if at is None else at
    row = UserRow(
        username=name,
        role=role,
        password_hash=_hasher.hash(password),
        active=True,
        session_epoch=0,
        created_at=at,
    )
    session.add(row)
    session.flush()
    record_event(
        session,
        campaign_id=None,
        action="user.add",
        by=by,
        at=at,
        details={"username": name, "role": role},
    )
    return _user(row)


def authenticate(session: Session, *, username: str, password: str) -> User | None:
    """Return the active account with these credentials, or None."""
    row = session.scalar(select(UserRow).where(UserRow.username == username.strip().lower()))
    if row is None or not row.active:
        with suppress(VerificationError):
            _hasher.verify(_dummy_hash(), password)
        return None
    try:
        _hasher.verify(row.password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return None
    if _hasher.check_needs_rehash(row.password_hash):
        row.password_hash = _hasher.hash(password)
    return _user(row)


def get_user(session: Session, user_id: int) -> User | None:
    """Return the account with this id, if there is one."""
    row = session.get(UserRow, user_id)
    return None if row is None else _user(row)


def list_users(session: Session) -> list[User]:
    """Every account, by username."""
    return [_user(r) for r in session.scalars(select(UserRow).order_by(UserRow.username))]


def end_sessions(session: Session, *, user_id: int) -> None:
    """End every session of an account (what signing out does)."""
    row = session.get(UserRow, user_id)
    if row is not None:
        row.session_epoch += 1


def count_users(session: Session) -> int:
    """How many accounts there are."""
    return session.scalar(select(func.count()).select_from(UserRow)) or 0


def session_secret(session: Session) -> bytes:
    """Return the installation's session-signing key, making it on first use."""
    row = session.get(SecretRow, "session")
    if row is not None:
        return row.value
    value = secrets.token_bytes(32)
    try:
        with session.begin_nested():
            session.add(SecretRow(name="session", value=value, created_at=now()))
    except IntegrityError:
        # Another process made it first: use theirs.
        found = session.get(SecretRow, "session")
        assert found is not None
        return found.value
    return value
