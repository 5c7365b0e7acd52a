"""Moderation in the store: decisions one by one or from a file, and the queue awaiting a check."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from oyren.errors import InputError, StoreError
from oyren.store import (
    entries_for_username,
    import_decisions,
    ingest_observations,
    moderate,
    moderation_queue,
)
from oyren.store.db import transaction
from tests.store.conftest import CID, actions, winner


def test_moderate_exclude_takes_the_video_out(ingested: Session) -> None:
    moderate(
        ingested,
        campaign_id=CID,
        video_id="1",
        action="exclude",
        reason="re-upload",
        by="moderator",
    )
    assert winner(ingested) == "2"
    assert actions(ingested)[-1] == "moderation.exclude"


def test_moderate_include_clears_soft_reason(ingested: Session) -> None:
    [entry] = entries_for_username(ingested, campaign_id=CID, username="@AYSEL_teaches")[1:]
    assert entry.reasons == ("region_unknown",)
    moderate(ingested, campaign_id=CID, video_id="3", action="include", reason="", by="m")
    assert [
        e.eligible
        for e in entries_for_username(ingested, campaign_id=CID, username="aysel_teaches")
    ] == [True, True]


@pytest.mark.parametrize(
    ("video_id", "action", "reason", "message"),
    [
        ("1", "exclude", "  ", "needs a reason"),
        ("1", "ban", "spam", "one of exclude, include"),
        ("404", "exclude", "spam", "no video '404'"),
    ],
)
def test_moderate_bad_decision_is_store_error(
    ingested: Session, video_id: str, action: str, reason: str, message: str
) -> None:
    with pytest.raises(StoreError, match=message):
        moderate(ingested, campaign_id=CID, video_id=video_id, action=action, reason=reason, by="m")


def test_import_decisions_unknown_video_stores_none(
    stored_db: Engine,
    write_jsonl: Callable[..., Path],
    snapshot: Callable[[Engine], Any],
    make_record: Callable[..., dict[str, Any]],
) -> None:
    with transaction(stored_db) as s:
        path = write_jsonl([make_record(id=1)])
        ingest_observations(s, campaign_id=CID, path=path, by="o")
    before = snapshot(stored_db)
    decisions = write_jsonl(
        [
            {"video_id": "1", "action": "exclude", "reason": "spam", "at": 1713000000},
            {"video_id": "9", "action": "exclude", "reason": "spam", "at": 1713000000},
        ],
        name="decisions.jsonl",
    )
    with pytest.raises(InputError, match="no video '9'"), transaction(stored_db) as s:
        import_decisions(s, campaign_id=CID, path=decisions, by="m")
    assert snapshot(stored_db) == before


def test_moderation_queue_lists_soft_reasons_until_decided(ingested: Session) -> None:
    assert [(i.entry.video_id, i.why) for i in moderation_queue(ingested, campaign_id=CID)] == [
        ("3", "soft_reasons")
    ]
    moderate(ingested, campaign_id=CID, video_id="3", action="exclude", reason="not AZ", by="m")
    assert moderation_queue(ingested, campaign_id=CID) == []
