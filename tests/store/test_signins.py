"""Sign-in limits per account: the doubling wait, its cap, known addresses, forgetting."""

from __future__ import annotations

from sqlalchemy import Engine

from oyren.store.db import transaction
from oyren.store.signins import (
    FORGET_AFTER_S,
    FREE_FAILURES,
    MAX_DELAY_S,
    SignInFailureRow,
    account_wait,
    record_failure,
    record_success,
)

T = 1_800_000_000


def _fail(db: Engine, username: str, at: int) -> int:
    with transaction(db) as session:
        return record_failure(session, username=username, at=at)


def _wait(db: Engine, username: str, address: str, at: int) -> int:
    with transaction(db) as session:
        return account_wait(session, username=username, address=address, at=at)


def test_failures_past_the_free_ones_wait_doubling_up_to_the_cap(db: Engine) -> None:
    delays = [_fail(db, "Olga ", T) for _ in range(FREE_FAILURES + 15)]
    assert delays[:FREE_FAILURES] == [0] * FREE_FAILURES
    assert delays[FREE_FAILURES : FREE_FAILURES + 4] == [1, 2, 4, 8]
    assert max(delays) == delays[-1] == MAX_DELAY_S
    assert _wait(db, "olga", "1.2.3.4", T) == MAX_DELAY_S  # one account, however typed
    assert _wait(db, "olga", "1.2.3.4", T + MAX_DELAY_S) == 0


def test_a_known_address_skips_the_wait_and_a_success_clears_it(db: Engine) -> None:
    with transaction(db) as session:
        record_success(session, username="olga", address="10.0.0.5", at=T)
    for _ in range(FREE_FAILURES + 3):
        _fail(db, "olga", T + 1)
    assert (_wait(db, "olga", "10.0.0.5", T + 1), _wait(db, "olga", "10.0.0.6", T + 1)) == (0, 4)
    with transaction(db) as session:
        record_success(session, username="olga", address="10.0.0.5", at=T + 2)
    assert _wait(db, "olga", "10.0.0.6", T + 2) == 0


def test_old_failures_are_forgotten(db: Engine) -> None:
    for name in ("a", "b"):
        _fail(db, name, T)
    _fail(db, "c", T + FORGET_AFTER_S + 1)
    with transaction(db) as session:
        names = sorted(row.username for row in session.query(SignInFailureRow))
    assert names == ["c"]
