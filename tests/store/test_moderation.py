"""Moderation in the store: decisions one by one or from a file, and the queue awaiting a check."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, delete, update
from sqlalchemy.orm import Session

from oyren.errors import InputError, StoreError
from oyren.screening.themes import LOW_CONFIDENCE
from oyren.screening.triage import doubtful_topic
from oyren.store import (
    decided,
    entries_for_username,
    import_decisions,
    ingest_observations,
    moderate,
    moderation_queue,
    remove_video,
    waiting,
    waiting_in,
)
from oyren.store.db import transaction
from oyren.store.models import DecidedFlagsRow, DecidedStateRow, DecidedVideoRow
from oyren.store.rows import parse_stored, require_campaign
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


def _varied_campaign(session: Session, make_record: Callable[..., dict[str, Any]],
                     write_jsonl: Callable[..., Path]) -> None:  # fmt: skip
    """Thirty videos of every kind the queue and the dashboard tell apart: eligible, kept out by
    what a person can clear (region, duration, hashtag), by what no one can (too short),
    decided on, removed, flagged, with topics sure, doubtful and missing."""
    kinds: list[dict[str, Any]] = [
        {},
        {"region_code": None},
        {"video_duration": None},
        {"video_description": "Fotosintez nədir? #elm"},
        {"video_duration": 12},
        {"region_code": None, "video_duration": 12},
    ]
    records = [
        make_record(id=1000 + n, username=f"user{n % 7}", view_count=100 * n, **kinds[n % 6])
        for n in range(30)
    ]
    ingest_observations(session, campaign_id=CID, path=write_jsonl(records), by="organizer")
    for n, action in ((1, "include"), (2, "exclude"), (6, "exclude"), (7, "include")):
        moderate(session, campaign_id=CID, video_id=str(1000 + n), action=action,
                 reason="checked", by="m")  # fmt: skip
    remove_video(session, campaign_id=CID, video_id="1012", reason="deleted", by="m")
    status = decided.status(session, CID)
    topics = [(None, None), ("science", 0.9), ("science", LOW_CONFIDENCE / 2), (None, 0.8),
              ("history", LOW_CONFIDENCE)]  # fmt: skip
    for n in range(30):
        topic, confidence = topics[n % 5]
        session.execute(
            update(DecidedVideoRow)
            .where(DecidedVideoRow.campaign_id == CID,
                   DecidedVideoRow.generation == status.generation,
                   DecidedVideoRow.video_id == str(1000 + n))
            .values(topic=topic, topic_confidence=confidence)
        )  # fmt: skip
    flag = '[{"code": "view_spike", "score": 0.9, "explanation": "a jump", "ev": []}]'
    session.add_all(
        DecidedFlagsRow(campaign_id=CID, video_id=str(1000 + n), flags=flag)
        for n in (0, 3, 4, 6, 9, 17, 29)
    )
    session.flush()


def test_waiting_counts_the_queue_without_reading_it(
    session: Session, make_record: Callable[..., dict[str, Any]], write_jsonl: Callable[..., Path]
) -> None:
    _varied_campaign(session, make_record, write_jsonl)
    status = decided.status(session, CID)
    queue = moderation_queue(session, campaign_id=CID)
    assert {i.why for i in queue} == {"flagged", "soft_reasons", "topic"}
    assert waiting(session, campaign_id=CID) == len(queue)
    assert waiting_in(decided.tallies(session, status, CID)) == len(queue)
    # Rows of one kind are one tally: the count is a grouped query, not the rows.
    kinds = decided.tallies(session, status, CID)
    assert sum(t.videos for t in kinds) == 30
    assert len(kinds) < 30
    # Each kind the queue tells apart is one the tallies tell apart.
    entries = decided.results(session, status, parse_stored(
        require_campaign(session, CID).source_text, CID)).entries  # fmt: skip
    decided_ids = {"1001", "1002", "1006", "1007"}
    expected = Counter(
        (e.eligible, e.reasons, bool(e.flags), doubtful_topic(e.topic, e.topic_confidence),
         e.video_id in decided_ids)
        for e in entries
    )  # fmt: skip
    assert {(t.eligible, t.reasons, t.flagged, t.doubtful_topic, t.decided): t.videos
            for t in kinds} == dict(expected)  # fmt: skip


def test_waiting_before_the_rows_are_built_is_the_queue_of_the_live_results(
    session: Session, make_record: Callable[..., dict[str, Any]], write_jsonl: Callable[..., Path]
) -> None:
    path = write_jsonl([make_record(id=1), make_record(id=3, region_code=None)])
    ingest_observations(session, campaign_id=CID, path=path, by="organizer")
    session.execute(delete(DecidedStateRow).where(DecidedStateRow.campaign_id == CID))
    assert not decided.status(session, CID).ready
    assert waiting(session, campaign_id=CID) == len(moderation_queue(session, campaign_id=CID)) == 1
