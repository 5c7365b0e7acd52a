"""Creators' tokens at rest: encrypted with the installation's Fernet keys, rotated, never shown."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from oyren.errors import StoreError
from oyren.store.tokens import KEYS_ENV, TokenCipher, TokenSet


def key() -> str:
    return Fernet.generate_key().decode()


def test_a_token_comes_back_as_it_went_in_and_is_unreadable_in_between() -> None:
    cipher = TokenCipher([key()])
    secret = "act.1!aBcD-Öyrən"
    stored = cipher.encrypt(secret)
    assert secret not in stored and "act.1" not in stored
    assert cipher.encrypt(secret) != stored  # a fresh nonce every time
    assert cipher.decrypt(stored) == secret


def test_a_token_made_with_another_key_or_tampered_with_is_refused_by_name() -> None:
    stored = TokenCipher([key()]).encrypt("act.1")
    with pytest.raises(StoreError, match=f"cannot be decrypted with the keys in {KEYS_ENV}"):
        TokenCipher([key()]).decrypt(stored)
    own = TokenCipher([key()])
    good = own.encrypt("act.1")
    tampered = good[:-6] + ("AAAAAA" if not good.endswith("AAAAAA") else "BBBBBB")
    for bad in (tampered, "", "not a token", "gAAAAA" + "x" * 100):
        with pytest.raises(StoreError, match="cannot be decrypted"):
            own.decrypt(bad)


def test_rotation_re_encrypts_with_the_newest_key_so_the_old_one_can_go() -> None:
    old, new = key(), key()
    stored = TokenCipher([old]).encrypt("rft.1")
    both = TokenCipher([new, old])
    assert both.decrypt(stored) == "rft.1"  # every key decrypts
    rotated = both.rotate(stored)
    assert rotated != stored
    assert TokenCipher([new]).decrypt(rotated) == "rft.1"
    with pytest.raises(StoreError, match="cannot be decrypted"):
        TokenCipher([old]).decrypt(rotated)
    with pytest.raises(StoreError, match="cannot be decrypted"):
        TokenCipher([new]).rotate(stored)  # the old key was dropped too early
    # The first key encrypts.
    assert TokenCipher([new]).decrypt(both.encrypt("x")) == "x"


def test_keys_come_from_the_environment_newest_first_and_bad_ones_are_named() -> None:
    old, new = key(), key()
    stored = TokenCipher([old]).encrypt("act.2")
    cipher = TokenCipher.from_env({KEYS_ENV: f" {new} , {old},,"})
    assert cipher.decrypt(stored) == "act.2"
    assert TokenCipher([new]).decrypt(cipher.encrypt("y")) == "y"
    for env in ({}, {KEYS_ENV: ""}, {KEYS_ENV: " , "}):
        with pytest.raises(StoreError, match=f"{KEYS_ENV} is not set"):
            TokenCipher.from_env(env)
    for bad in ("not a key", new[:-4], "x" * 44):
        with pytest.raises(StoreError, match="must hold Fernet keys"):
            TokenCipher.from_env({KEYS_ENV: f"{new},{bad}"})


def test_a_token_set_never_shows_its_tokens() -> None:
    tokens = TokenSet("o1", ("video.list",), "act.secret", 10, "rft.secret", 20)
    shown = repr(tokens)
    assert "act.secret" not in shown and "rft.secret" not in shown
    assert "o1" in shown and "refresh_expires_at=20" in shown
