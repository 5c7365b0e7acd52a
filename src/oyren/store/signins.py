"""Sign-in limits per account, kept in the database so every web process shares them.

The web app also limits sign-ins per client address (in each process); that alone lets a guesser
spread guesses over many addresses. Here each username typed (whether or not the account
exists, so the answer tells nothing) gets :data:`FREE_FAILURES` wrong passwords, then must wait
before the next try: 1 s, 2 s, 4 s… doubling up to :data:`MAX_DELAY_S` (15 minutes). A try during
the wait is refused unchecked and does not lengthen it, so the owner is never locked out for
longer than the cap. And an address the owner has already signed in from is not held back by
the account's wait at all: a guesser elsewhere cannot keep the owner out, and the owner's next
success there clears the failures.

Why the database rather than a rate-limit library's storage: the ones that share state across
processes need another server (Redis, Memcached, MongoDB); an installation already shares its
database, and sign-ins are rare enough that a row written per failure costs nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import BigInteger, Index, Integer, String, delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from oyren.store.models import Base

__all__ = [
    "FORGET_AFTER_S",
    "FREE_FAILURES",
    "MAX_DELAY_S",
    "SignInFailureRow",
    "SignInKnownRow",
    "account_wait",
    "record_failure",
    "record_success",
]

FREE_FAILURES = 5
"""Wrong passwords an account takes before each further try must wait."""
MAX_DELAY_S = 15 * 60
"""The longest wait between tries (the back-off doubles up to it)."""
FORGET_AFTER_S = 24 * 3600
"""Failures older than this are forgotten (and their rows deleted)."""
_NAME_LENGTH = 40  # usernames are at most 40 characters; longer ones cannot exist
_ADDRESS_LENGTH = 64


class SignInFailureRow(Base):
    """Recent wrong passwords for one typed username, and until when its next try must wait."""

    __tablename__ = "sign_in_failures"
    __table_args__ = (Index(None, "last_at"),)

    username: Mapped[str] = mapped_column(String(_NAME_LENGTH), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer)
    last_at: Mapped[int] = mapped_column(BigInteger)
    wait_until: Mapped[int] = mapped_column(BigInteger)


class SignInKnownRow(Base):
    """An address an account has signed in from: the account's wait does not apply there."""

    __tablename__ = "sign_in_known"

    username: Mapped[str] = mapped_column(String(_NAME_LENGTH), primary_key=True)
    address: Mapped[str] = mapped_column(String(_ADDRESS_LENGTH), primary_key=True)
    last_at: Mapped[int] = mapped_column(BigInteger)


@dataclass(frozen=True, slots=True)
class Wait:
    """How long a sign-in attempt must still wait (0: it may go ahead)."""

    seconds: int


def _name(username: str) -> str:
    return username.strip().lower()[:_NAME_LENGTH]


def _delay(failures: int) -> int:
    over = failures - FREE_FAILURES  # the first failure past the free ones waits 1 s
    return 0 if over <= 0 else min(MAX_DELAY_S, 2 ** min(over - 1, 20))


def account_wait(session: Session, *, username: str, address: str, at: int) -> int:
    """Seconds before ``username`` may try again from ``address`` (0: now)."""
    name = _name(username)
    row = session.get(SignInFailureRow, name)
    if row is None or row.wait_until <= at:
        return 0
    known = session.get(SignInKnownRow, (name, address[:_ADDRESS_LENGTH]))
    return 0 if known is not None else row.wait_until - at


def record_failure(session: Session, *, username: str, at: int) -> int:
    """Count a wrong password for ``username``; return the wait before its next try."""
    name = _name(username)
    session.execute(delete(SignInFailureRow).where(SignInFailureRow.last_at < at - FORGET_AFTER_S))
    row = session.get(SignInFailureRow, name, with_for_update=True)
    if row is None:
        row = SignInFailureRow(username=name, failures=0, last_at=at, wait_until=0)
        try:
            with session.begin_nested():
                session.add(row)
        except IntegrityError:  # another process counted this name's first failure just now
            row = session.get(SignInFailureRow, name, with_for_update=True, populate_existing=True)
            assert row is not None
    row.failures += 1
    row.last_at = at
    delay = _delay(row.failures)
    row.wait_until = at + delay if delay else 0
    return delay


def record_success(session: Session, *, username: str, address: str, at: int) -> None:
    """Clear the failures of ``username`` and remember ``address`` as one of its own."""
    name = _name(username)
    session.execute(delete(SignInFailureRow).where(SignInFailureRow.username == name))
    key = (name, address[:_ADDRESS_LENGTH])
    known = session.get(SignInKnownRow, key)
    if known is None:
        session.add(SignInKnownRow(username=key[0], address=key[1], last_at=at))
    else:
        known.last_at = at
