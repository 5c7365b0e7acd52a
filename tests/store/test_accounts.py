"""Accounts: creating them, signing in with Argon2id hashes, sessions and the signing key."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select

from oyren.errors import StoreError
from oyren.store import audit_page
from oyren.store.accounts import (
    UserRow,
    authenticate,
    count_users,
    create_user,
    end_sessions,
    get_user,
    list_users,
    session_secret,
)
from oyren.store.db import transaction

PASSWORD = "a long enough password"


def test_create_user_stores_only_an_argon2id_hash(db: Engine) -> None:
    with transaction(db) as session:
        user = create_user(session, username="Olga", password=PASSWORD, role="organizer", by="t")
        stored = session.scalar(select(UserRow.password_hash))
    assert (user.username, user.role, user.active) == ("olga", "organizer", True)
    assert stored is not None
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored


def test_create_user_is_logged(db: Engine) -> None:
    with transaction(db) as session:
        create_user(session, username="olga", password=PASSWORD, role="juror", by="admin")
        entries = audit_page(session).entries
    assert [(e.action, e.by, e.details) for e in entries] == [
        ("user.add", "admin", {"username": "olga", "role": "juror"})
    ]


@pytest.mark.parametrize(
    ("username", "role", "password", "message"),
    [
        ("x", "organizer", PASSWORD, "cannot be a username"),
        ("<script>", "organizer", PASSWORD, "cannot be a username"),
        ("olga", "admin", PASSWORD, "a role is one of organizer, moderator, juror"),
        ("olga", "organizer", "short", "at least 10 characters"),
    ],
)
def test_create_user_refuses_bad_input(
    db: Engine, username: str, role: str, password: str, message: str
) -> None:
    with transaction(db) as session, pytest.raises(StoreError, match=message):
        create_user(session, username=username, password=password, role=role, by="t")


def test_create_user_twice_is_refused(db: Engine) -> None:
    with transaction(db) as session:
        create_user(session, username="olga", password=PASSWORD, role="organizer", by="t")
        with pytest.raises(StoreError, match="already an account 'olga'"):
            create_user(session, username="OLGA", password=PASSWORD, role="juror", by="t")


def test_authenticate_right_and_wrong_password(db: Engine) -> None:
    with transaction(db) as session:
        made = create_user(session, username="olga", password=PASSWORD, role="organizer", by="t")
        assert authenticate(session, username=" OLGA ", password=PASSWORD) == made
        assert authenticate(session, username="olga", password=PASSWORD + "x") is None
        assert authenticate(session, username="nobody", password=PASSWORD) is None


def test_end_sessions_raises_the_epoch(db: Engine) -> None:
    with transaction(db) as session:
        made = create_user(session, username="olga", password=PASSWORD, role="moderator", by="t")
        end_sessions(session, user_id=made.id)
        found = get_user(session, made.id)
    assert found is not None
    assert (made.session_epoch, found.session_epoch) == (0, 1)


def test_list_and_count_users(db: Engine) -> None:
    with transaction(db) as session:
        for name in ("zara", "aysel"):
            create_user(session, username=name, password=PASSWORD, role="juror", by="t")
        assert [u.username for u in list_users(session)] == ["aysel", "zara"]
        assert count_users(session) == 2


def test_session_secret_is_made_once_and_kept(db: Engine) -> None:
    with transaction(db) as session:
        first = session_secret(session)
    with transaction(db) as session:
        second = session_secret(session)
    assert (len(first), first) == (32, second)
