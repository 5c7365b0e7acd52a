"""Shared token buckets: burst, refill, long keys, forgotten clients."""

from __future__ import annotations

from sqlalchemy import Engine, func, select

from oyren.store.db import transaction
from oyren.store.ratelimits import FORGET_AFTER_S, RateBucketRow, spend_token


def _spend(engine: Engine, now: float, client: str = "1.2.3.4", purpose: str = "submit") -> float:
    with transaction(engine) as session:
        return spend_token(session, purpose=purpose, client=client, per_minute=6, burst=3, now=now)


def test_a_burst_then_a_wait_then_a_refill(db: Engine) -> None:
    assert [_spend(db, 1000.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert _spend(db, 1000.0) == 10.0  # 6 a minute: one token every 10 s
    assert _spend(db, 1010.0) == 0.0
    assert _spend(db, 1010.0) > 0


def test_clients_and_purposes_have_their_own_buckets(db: Engine) -> None:
    for _ in range(3):
        _spend(db, 1000.0)
    assert _spend(db, 1000.0) > 0
    assert _spend(db, 1000.0, client="5.6.7.8") == 0.0
    assert _spend(db, 1000.0, purpose="login") == 0.0


def test_no_limit_writes_nothing(db: Engine) -> None:
    with transaction(db) as session:
        wait = spend_token(session, purpose="p", client="c", per_minute=0, burst=1, now=1.0)
        assert wait == 0.0
        assert session.scalar(select(func.count()).select_from(RateBucketRow)) == 0


def test_hostile_keys_are_cut_to_size_and_still_limited(db: Engine) -> None:
    client = "x" * 10_000 + "'; drop table rate_buckets; --"
    for _ in range(3):
        assert _spend(db, 1000.0, client=client, purpose="p" * 100) == 0.0
    assert _spend(db, 1000.0, client=client, purpose="p" * 100) > 0


def test_a_clock_going_back_spends_no_extra_tokens(db: Engine) -> None:
    for _ in range(3):
        _spend(db, 1000.0)
    assert _spend(db, 500.0) > 0


def test_old_clients_are_forgotten_when_a_new_one_comes(db: Engine) -> None:
    _spend(db, 1000.0, client="old")
    _spend(db, 1000.0 + FORGET_AFTER_S + 1, client="new")
    with transaction(db) as session:
        clients = set(session.scalars(select(RateBucketRow.client)))
    assert clients == {"new"}
