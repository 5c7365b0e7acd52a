"""Published signing keys: public keys only, publishing is idempotent, retiring keeps them."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine

from oyren.batch.signing import generate_key
from oyren.errors import StoreError
from oyren.store.audit import audit_page
from oyren.store.db import transaction
from oyren.store.keys import list_keys, publish_key, require_signing_key, retire_key


def test_publishing_twice_keeps_one_key_and_logs_once(db: Engine, tmp_path: Path) -> None:
    key = generate_key(tmp_path / "organizer.key")
    with transaction(db) as session:
        first = publish_key(session, key=key, by="aysel", at=1_700_000_000)
        again = publish_key(session, key=key, by="nigar", at=1_700_000_100)
        keys = list_keys(session)
        log = audit_page(session, campaign_id=None, limit=10).entries
    assert first == again
    assert [k.key_id for k in keys] == [key.key_id]
    assert keys[0].published_by == "aysel" and keys[0].retired_at is None
    assert [e.action for e in log].count("keys.publish") == 1


def test_a_retired_key_stays_published_but_signs_nothing_new(db: Engine, tmp_path: Path) -> None:
    old = generate_key(tmp_path / "old.key")
    new = generate_key(tmp_path / "new.key")
    with transaction(db) as session:
        publish_key(session, key=old, by="aysel", at=1_700_000_000)
        retired = retire_key(session, key_id=old.key_id, by="aysel", at=1_700_000_500)
        assert retired.retired_at == 1_700_000_500
        with pytest.raises(StoreError, match="retired"):
            require_signing_key(session, key=old, by="aysel", at=1_700_000_600)
        signing = require_signing_key(session, key=new, by="aysel", at=1_700_000_700)
        keys = {k.key_id: k for k in list_keys(session)}
    assert signing.key_id == new.key_id
    assert set(keys) == {old.key_id, new.key_id}  # the old one still verifies older awards
    assert keys[old.key_id].retired_at == 1_700_000_500


@pytest.mark.parametrize("key_id", ["", "nope", "../../etc/passwd", "x" * 5000])
def test_retiring_an_unknown_key_names_it(db: Engine, key_id: str) -> None:
    with transaction(db) as session, pytest.raises(StoreError, match="no published key"):
        retire_key(session, key_id=key_id, by="aysel")
