"""The tables: the models match the migrated schema, and their keys refuse duplicate rows."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError

from oyren.store.db import current_revision, head_revision, transaction, upgrade
from oyren.store.models import (
    AwardRow,
    Base,
    CampaignRow,
    ObservationRow,
    RemovalRow,
    VideoRow,
)


def test_upgrade_empty_database_reaches_head_matching_models(empty_db: Engine) -> None:
    assert current_revision(empty_db) is None
    upgrade(empty_db)
    assert current_revision(empty_db) == head_revision()
    with empty_db.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []


def _campaign(session, campaign_id: str = "c") -> None:
    session.add(
        CampaignRow(
            id=campaign_id, rules_digest="0" * 64, source_text="", registered_at=1, updated_at=1
        )
    )
    session.flush()


def _video(session, video_id: str = "1", campaign_id: str = "c") -> VideoRow:
    row = VideoRow(campaign_id=campaign_id, video_id=video_id, first_ingested_at=1)
    session.add(row)
    session.flush()
    return row


def test_models_declare_every_table_the_store_uses() -> None:
    assert {
        "campaigns",
        "videos",
        "observations",
        "decisions",
        "awards",
        "removals",
        "crawl_misses",
        "crawl_checkpoints",
        "quota_ledger",
        "audit_log",
        "jury_rounds",
        "jury_jurors",
        "jury_judgments",
    } <= set(Base.metadata.tables)


def test_a_video_is_stored_once_per_campaign(db: Engine) -> None:
    with transaction(db) as session:
        _campaign(session)
        _campaign(session, "d")
        _video(session)
        _video(session, campaign_id="d")  # the same id in another campaign is another video
    with pytest.raises(IntegrityError), transaction(db) as session:
        _video(session)


def test_an_award_number_and_a_removal_are_unique_per_campaign(db: Engine) -> None:
    award = {
        "awarded_at": 1,
        "actor": "o",
        "rules_digest": "r",
        "campaign_source": "",
        "last_observation_id": 0,
        "last_decision_id": 0,
        "results": "{}",
        "results_digest": "s",
    }
    removal = {"video_id": "1", "actor": "m", "at": 1, "source": "moderator"}
    with transaction(db) as session:
        _campaign(session)
        session.add(AwardRow(campaign_id="c", number=1, **award))
        session.add(RemovalRow(campaign_id="c", reason="gone", **removal))
    with pytest.raises(IntegrityError), transaction(db) as session:
        session.add(AwardRow(campaign_id="c", number=1, **award))
    with pytest.raises(IntegrityError), transaction(db) as session:
        session.add(RemovalRow(campaign_id="c", reason="again", **removal))


def test_an_observation_needs_its_video(db: Engine) -> None:
    with pytest.raises(IntegrityError), transaction(db) as session:
        session.add(
            ObservationRow(
                video_pk=12345,
                collected_at=1,
                view_count=1,
                username="u",
                create_time=1,
                description="",
                hashtags="[]",
                content_hash="h",
            )
        )
