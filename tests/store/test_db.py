"""The database: URLs, opening, transactions and migrations, on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import orjson
import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import DBAPIError

from oyren.batch.bundle import verify_bundle
from oyren.batch.evaluate import evaluate_observations
from oyren.errors import StoreError
from oyren.rules.campaign import Campaign
from oyren.rules.observations import Observation
from oyren.rules.results import results_json
from oyren.store import export_bundle, remove_video, standings
from oyren.store.db import (
    SCHEMA_REVISION,
    current_revision,
    downgrade,
    head_revision,
    normalize_url,
    open_database,
    plain_batches,
    probe_each,
    show_url,
    transaction,
    upgrade,
)
from oyren.store.ingest import content_hash
from oyren.store.models import AuditRow, CampaignRow, DecisionRow, VideoRow


def url_of(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


@pytest.mark.parametrize(
    ("url", "driver"),
    [
        ("postgresql://postgres@localhost/oyren", "postgresql+psycopg"),
        ("postgres://postgres@localhost/oyren", "postgresql+psycopg"),
        ("postgresql+psycopg://postgres@localhost/oyren", "postgresql+psycopg"),
        ("sqlite:///oyren.db", "sqlite"),
    ],
)
def test_normalize_url_routes_postgresql_to_psycopg(url: str, driver: str) -> None:
    assert normalize_url(url).drivername == driver


def test_normalize_url_not_a_url_is_store_error() -> None:
    with pytest.raises(StoreError, match="not a database URL"):
        normalize_url("oyren.db")


def test_show_url_hides_password() -> None:
    assert show_url("postgresql://aysel:s3cret@db/oyren") == (
        "postgresql+psycopg://aysel:***@db/oyren"
    )


def test_schema_revision_is_the_newest_migration() -> None:
    assert head_revision() == SCHEMA_REVISION


def test_downgrade_to_base_and_upgrade_again(empty_db: Engine) -> None:
    upgrade(empty_db)
    downgrade(empty_db, "base")
    assert current_revision(empty_db) is None
    upgrade(empty_db)
    assert current_revision(empty_db) == head_revision()


def test_audit_log_refuses_update_and_delete(db: Engine) -> None:
    with transaction(db) as session:
        session.add(AuditRow(campaign_id=None, at=1, actor="aysel", action="test", details="{}"))
    for statement in ("UPDATE audit_log SET actor = 'mallory'", "DELETE FROM audit_log"):
        with pytest.raises(DBAPIError, match="append-only"), transaction(db) as session:
            session.execute(text(statement))
    with transaction(db) as session:
        assert session.scalars(select(AuditRow.actor)).all() == ["aysel"]


@pytest.mark.parametrize("snapshot", [True, False])
def test_a_snapshot_transaction_sees_no_commit_made_after_its_first_query(
    db: Engine, snapshot: bool
) -> None:
    if db.dialect.name != "postgresql":
        # A SQLite reader holds the database as it first read it, and a writer waits for it.
        pytest.skip("only PostgreSQL lets others commit while a transaction reads")
    count = select(func.count()).select_from(AuditRow)
    with transaction(db, write=False, snapshot=snapshot) as reader:
        before = reader.scalar(count)
        with transaction(db) as writer:
            writer.add(AuditRow(campaign_id=None, at=1, actor="aysel", action="x", details="{}"))
        seen = reader.scalar(count)
    assert seen == (before if snapshot else before + 1)


def test_transaction_rolls_back_on_error(db: Engine) -> None:
    with pytest.raises(RuntimeError), transaction(db) as session:
        session.add(
            CampaignRow(
                id="c", rules_digest="0" * 64, source_text="", registered_at=1, updated_at=1
            )
        )
        session.flush()
        raise RuntimeError("boom")
    with transaction(db) as session:
        assert session.scalar(select(func.count()).select_from(CampaignRow)) == 0


def test_open_database_missing_sqlite_file_creates_nothing(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="oyren init"):
        open_database(f"sqlite:///{tmp_path / 'absent.db'}")
    assert list(tmp_path.iterdir()) == []


def test_open_database_create_makes_folder_and_schema(tmp_path: Path) -> None:
    engine = open_database(f"sqlite:///{tmp_path / 'data' / 'oyren.db'}", create=True)
    assert current_revision(engine) == head_revision()
    engine.dispose()


def test_open_database_without_tables_says_init(empty_db: Engine) -> None:
    with pytest.raises(StoreError, match="has no Öyrən tables"):
        open_database(url_of(empty_db))


def test_open_database_behind_head_says_migrate(empty_db: Engine) -> None:
    upgrade(empty_db, "0001")
    with pytest.raises(StoreError, match=r"revision 0001.*oyren migrate"):
        open_database(url_of(empty_db))


def test_open_database_at_head_opens(db: Engine) -> None:
    engine = open_database(url_of(db))
    assert current_revision(engine) == head_revision()
    engine.dispose()


def test_open_database_unreachable_server_is_store_error() -> None:
    with pytest.raises(StoreError, match="cannot open the database"):
        open_database("postgresql://nobody:pw@127.0.0.1:1/oyren")


def test_upgrade_from_0001_keeps_data_and_its_award(
    empty_db: Engine, campaign: Campaign, make_obs: Callable[..., Observation], tmp_path: Path
) -> None:
    upgrade(empty_db, "0001")
    observations = [make_obs(id=1, view_count=10), make_obs(id=2, username="nigar", view_count=20)]
    results = evaluate_observations(campaign, observations)
    payload = results_json(results)
    with empty_db.begin() as connection:
        insert = connection.execute
        insert(
            text("INSERT INTO campaigns VALUES (:id, :digest, :source, 1, 1)"),
            {"id": campaign.id, "digest": campaign.digest, "source": campaign.source_text},
        )
        for pk, obs in enumerate(observations, start=1):
            insert(
                text("INSERT INTO videos VALUES (:pk, :cid, :vid, 1)"),
                {"pk": pk, "cid": campaign.id, "vid": obs.video_id},
            )
            insert(
                text(
                    "INSERT INTO observations VALUES (:pk, :pk, :at, :views, :user, :created,"
                    " 'AZ', :text, :tags, 45, NULL, NULL, NULL, NULL, NULL, :hash)"
                ),
                {
                    "pk": pk,
                    "at": obs.collected_at,
                    "views": obs.view_count,
                    "user": obs.username,
                    "created": obs.create_time,
                    "text": obs.description,
                    "tags": orjson.dumps(obs.hashtags).decode(),
                    "hash": content_hash(obs),
                },
            )
        insert(
            text("INSERT INTO decisions VALUES (1, :cid, '2', 'include', '', 'm', 5)"),
            {"cid": campaign.id},
        )
        insert(
            text(
                "INSERT INTO awards VALUES (1, :cid, 1, :at, 'organizer', NULL, :digest,"
                " :source, 2, 1, :results, :results_digest)"
            ),
            {
                "cid": campaign.id,
                "at": campaign.cutoff_ts + 86400,
                "digest": campaign.digest,
                "source": campaign.source_text,
                "results": payload.decode(),
                "results_digest": hashlib.sha256(payload).hexdigest(),
            },
        )
    upgrade(empty_db)
    with transaction(empty_db) as session:
        frozen = standings(session, campaign_id=campaign.id)
        assert (frozen.award is not None, results_json(frozen.results)) == (True, payload)
        export_bundle(session, campaign_id=campaign.id, out=tmp_path / "bundle")
        remove_video(session, campaign_id=campaign.id, video_id="2", reason="gone", by="m")
    assert verify_bundle(tmp_path / "bundle").problems == ()


def test_probe_each_finds_each_value_or_none_whatever_its_characters(stored_db: Engine) -> None:
    if stored_db.dialect.name != "postgresql":
        pytest.skip("a PostgreSQL query (SQLite's planner uses the index for IN lists)")
    hostile = ['a"b', "c,d", "{e}", "f\\g", "h'i", "NULL", "", "ə İ ı", "j k"]
    mine = VideoRow.campaign_id == "tiktokdan-oyren-2024"
    with transaction(stored_db) as session:
        session.add_all(
            VideoRow(campaign_id="tiktokdan-oyren-2024", video_id=v, first_ingested_at=0)
            for v in hostile[::2]
        )
        session.flush()
        stored = {v: pk for v, pk in session.execute(select(VideoRow.video_id, VideoRow.id))}
        asked = [*hostile, "absent"]
        found = list(session.execute(probe_each(VideoRow.video_id, asked, VideoRow.id, mine)))
        elsewhere = probe_each(
            VideoRow.video_id, hostile, VideoRow.id, VideoRow.campaign_id == "other"
        )
        assert all(pk is None for _, pk in session.execute(elsewhere))
    assert found == [(v, stored.get(v)) for v in asked]
    assert sum(pk is not None for _, pk in found) == len(hostile[::2])


@pytest.mark.parametrize("stream", [False, True])
def test_plain_batches_see_pending_objects_and_come_in_batches(
    stored_db: Engine, campaign: Campaign, stream: bool
) -> None:
    with transaction(stored_db) as session:
        for n in range(5):  # added, not yet flushed
            session.add(DecisionRow(campaign_id=campaign.id, video_id=str(n), action="include",
                                    reason="", actor="m", at=n))  # fmt: skip
        query = select(DecisionRow.video_id, DecisionRow.at).order_by(DecisionRow.at)
        batches = list(plain_batches(session, query, 2, stream=stream))
    assert [len(b) for b in batches] == [2, 2, 1]
    assert [tuple(r) for b in batches for r in b] == [(str(n), n) for n in range(5)]
