"""Creators in the database: their tokens kept encrypted and refreshed, their entries withdrawn
and erased, the observations the Display API brings stored once."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import func, select

from oyren.collect.connectors.display import TokenRejected
from oyren.collect.connectors.login import GrantInvalid
from oyren.errors import StoreError
from oyren.rules.campaign import Campaign
from oyren.sandbox.login import creator_videos
from oyren.store.creators import DbCreatorStore, add_observations, rotate_keys
from oyren.store.db import transaction
from oyren.store.ingest import ObservationWriter
from oyren.store.models import CreatorTokenRow, ObservationRow
from oyren.store.tokens import TokenCipher
from tests.creatorsupport import cipher, sandbox_box, sign_up, stored_refresh


def test_tokens_are_refreshed_before_expiry_and_the_rotated_refresh_token_is_stored(
    creators_db, sandbox: Campaign
) -> None:
    key = cipher()
    with sandbox_box(sandbox) as box:
        creator = sign_up(box, creators_db, key, sandbox, "lala.learns", region="AZ")
        store = DbCreatorStore(creators_db, key)
        first, expires = stored_refresh(creators_db, key, creator)
        calls: list[str] = []

        def refresh(token: str):
            calls.append(token)
            return box.login.refresh(token)

        store.access_token(creator, now=int(box.clock.now()), refresh=refresh)
        assert calls == []  # far from its end: no refresh
        box.clock.set(expires - 300)  # five minutes before the end
        store.access_token(creator, now=int(box.clock.now()), refresh=refresh)
        assert calls == [first]
        second, later = stored_refresh(creators_db, key, creator)
        assert second != first and later > expires
        with pytest.raises(GrantInvalid):  # the old refresh token stopped working
            box.login.refresh(first)
        # Nothing in the table is readable without the key.
        with transaction(creators_db) as session:
            row = session.get(CreatorTokenRow, creator)
            assert row is not None and second not in row.refresh_token


def test_rotating_the_encryption_key_keeps_every_token_readable(
    creators_db, sandbox: Campaign
) -> None:
    old = Fernet.generate_key().decode()
    key = TokenCipher([old])
    with sandbox_box(sandbox) as box:
        creator = sign_up(box, creators_db, key, sandbox, "lala.learns", region="AZ")
    token, _ = stored_refresh(creators_db, key, creator)
    new = Fernet.generate_key().decode()
    with transaction(creators_db) as session:
        assert rotate_keys(session, TokenCipher([new, old])) == 1
    assert stored_refresh(creators_db, TokenCipher([new]), creator)[0] == token
    with pytest.raises(StoreError, match="cannot be decrypted"):
        stored_refresh(creators_db, TokenCipher([old]), creator)
    with pytest.raises(StoreError, match="Fernet"):
        TokenCipher(["not a key"])
    with pytest.raises(StoreError, match="TIKTOK_TOKEN_KEYS"):
        TokenCipher.from_env({})


def test_the_same_instant_from_two_sources_is_stored_once(creators_db, sandbox: Campaign) -> None:
    video = creator_videos(sandbox)[0]
    obs = video.observe(sandbox.cutoff_ts)
    with transaction(creators_db) as session:
        ObservationWriter(session, sandbox.id, source="research_api").insert([obs])
        assert add_observations(session, sandbox.id, [obs], source="display_api") == 0
        assert session.scalar(select(func.count()).select_from(ObservationRow)) == 1


def test_withdrawing_and_erasing_keep_only_what_the_audit_log_needs(
    creators_db, sandbox: Campaign
) -> None:
    from oyren.store.creators import (
        entries_of,
        erase_creator,
        get_creator,
        participation,
        withdraw_entry,
    )
    from oyren.store.models import CreatorWithdrawalRow, RemovalRow

    key = cipher()
    with sandbox_box(sandbox) as box:
        lala = sign_up(box, creators_db, key, sandbox, "lala.learns", region="AZ")
        now = int(box.clock.now())
        with transaction(creators_db) as session:
            observed = session.scalar(select(func.count()).select_from(ObservationRow))
            withdraw_entry(session, campaign_id=sandbox.id, creator_id=lala,
                           video_id="7399000000000000003", now=now)  # fmt: skip
            with pytest.raises(StoreError, match="no video"):
                withdraw_entry(session, campaign_id=sandbox.id, creator_id=lala,
                               video_id="7399000000000000004", now=now)  # fmt: skip
        from oyren.inputs.images import read_image
        from oyren.sandbox.login import thumbnail_png
        from oyren.store.thumbnails import get_thumbnail, save_thumbnail

        pictured = ["7399000000000000001", "7399000000000000004"]  # lala's, then samir's
        with transaction(creators_db) as session:
            for vid in pictured:
                save_thumbnail(session, campaign_id=sandbox.id, video_id=vid,
                               image=read_image(thumbnail_png(vid)), at=now)  # fmt: skip
        with transaction(creators_db) as session:
            token = erase_creator(session, key, creator_id=lala, now=now + 1)
            # The erased creator's pictures go; another creator's stay.
            assert get_thumbnail(session, campaign_id=sandbox.id, video_id=pictured[0]) is None
            assert get_thumbnail(session, campaign_id=sandbox.id, video_id=pictured[1]) is not None
        assert token is not None
        box.login.revoke(token)
        with pytest.raises(TokenRejected):
            box.display.user_info(token)
    with transaction(creators_db) as session:
        creator = get_creator(session, lala)
        assert creator is not None and creator.erased and creator.username == ""
        assert creator.token_status is None and session.get(CreatorTokenRow, lala) is None
        assert participation(session, sandbox.id, lala) is None
        assert entries_of(session, sandbox.id) == []
        reasons = dict(
            session.execute(
                select(CreatorWithdrawalRow.video_id, CreatorWithdrawalRow.reason)
            ).all()
        )
        assert reasons == {
            "7399000000000000001": "data_erased",
            "7399000000000000002": "data_erased",
            "7399000000000000003": "withdrawn_by_creator",
        }
        assert set(session.scalars(select(RemovalRow.video_id))) == set(reasons)
        assert session.scalar(select(func.count()).select_from(ObservationRow)) == observed
