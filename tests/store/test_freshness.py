"""The pages' version: it moves with every write a page shows, and only then."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from oyren.store import ingest_observations, moderate, refresh_flags, remove_video
from oyren.store.db import transaction
from oyren.store.freshness import campaign_version, site_version
from tests.store.conftest import CID


def _version(engine: Engine) -> Any:
    with transaction(engine, write=False) as session:
        return campaign_version(session, CID)


def test_unknown_or_impossible_campaigns_have_no_version(stored_db: Engine) -> None:
    with transaction(stored_db, write=False) as session:
        assert campaign_version(session, "no-such-campaign") is None
        assert campaign_version(session, "") is None
        assert campaign_version(session, "x" * 65) is None
        assert campaign_version(session, "'; drop table campaigns; --") is None
        assert campaign_version(session, CID) is not None


def test_reading_twice_gives_the_same_version(stored_db: Engine) -> None:
    assert _version(stored_db) == _version(stored_db)


def test_each_write_moves_the_version(
    stored_db: Engine,
    make_record: Callable[..., dict[str, Any]],
    write_jsonl: Callable[..., Path],
) -> None:
    seen = [_version(stored_db)]
    path = write_jsonl([make_record(id=1, view_count=3000)])
    with transaction(stored_db) as session:
        ingest_observations(session, campaign_id=CID, path=path, by="test")
    seen.append(_version(stored_db))
    with transaction(stored_db) as session:
        moderate(
            session,
            campaign_id=CID,
            video_id="1",
            action="exclude",
            reason="r",
            by="m",
            at=2_000_000_000,
        )
    seen.append(_version(stored_db))
    with transaction(stored_db) as session:
        remove_video(session, campaign_id=CID, video_id="1", reason="gone", by="m")
    seen.append(_version(stored_db))
    digests = [v.digest for v in seen]
    assert len(set(digests)) == len(digests), digests
    # The decision's time (in the future here) is the newest moment any write carries.
    assert seen[2].modified_at == 2_000_000_000


def test_site_version_moves_with_a_new_campaign(stored_db: Engine) -> None:
    from oyren.rules.campaign import parse_campaign
    from oyren.store import register_campaign

    with transaction(stored_db, write=False) as session:
        before = site_version(session)
    source = (Path(__file__).parents[2] / "campaigns" / "tiktokdan-oyren-2024.toml").read_text()
    with transaction(stored_db) as session:
        register_campaign(
            session, campaign=parse_campaign(source.replace(CID, "another-one")), by="t"
        )
    with transaction(stored_db, write=False) as session:
        after = site_version(session)
    assert after.digest != before.digest


def test_site_version_moves_with_new_videos(
    stored_db: Engine,
    make_record: Callable[..., dict[str, Any]],
    write_jsonl: Callable[..., Path],
) -> None:
    # The list of campaigns shows how many videos each has.
    with transaction(stored_db, write=False) as session:
        before = site_version(session)
    path = write_jsonl([make_record(id=777, view_count=10)])
    with transaction(stored_db) as session:
        ingest_observations(session, campaign_id=CID, path=path, by="test")
    with transaction(stored_db, write=False) as session:
        assert site_version(session).digest != before.digest


def test_stored_flags_move_the_version(stored_db: Engine) -> None:
    # The background screening changes what moderators and the charts see without a new input
    # row: its stored time must move the version, or a cached page would keep the old flags.
    before = _version(stored_db)
    refresh_flags(stored_db, CID, at=1_900_000_000)
    after = _version(stored_db)
    assert after.digest != before.digest
    assert after.modified_at >= 1_900_000_000
    assert _version(stored_db) == after
