"""Standings and awards in the store: frozen awards, superseding one, a creator's entries."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from oyren.errors import StoreError
from oyren.rules.campaign import Campaign
from oyren.rules.results import results_json
from oyren.store import (
    audit_page,
    award,
    current_award,
    entries_for_username,
    ingest_observations,
    moderate,
    standings,
)
from tests.store.conftest import AFTER, CID, winner


def test_award_before_deadline_refused(ingested: Session, campaign: Campaign) -> None:
    with pytest.raises(StoreError, match="open until 2024-04-21T23:59:59"):
        award(ingested, campaign_id=CID, by="organizer", at=campaign.cutoff_ts)


def test_award_freezes_standings(
    ingested: Session, write_jsonl: Callable[..., Path], make_record: Callable[..., Any]
) -> None:
    before = results_json(standings(ingested, campaign_id=CID).results)
    record = award(ingested, campaign_id=CID, by="organizer", at=AFTER).award
    later = write_jsonl([make_record(id=2, username="nigar", view_count=9000)], name="l.jsonl")
    ingest_observations(ingested, campaign_id=CID, path=later, by="crawler")
    moderate(ingested, campaign_id=CID, video_id="1", action="exclude", reason="late", by="m")
    frozen = standings(ingested, campaign_id=CID)
    assert (frozen.award, results_json(frozen.results)) == (record, before)
    assert record is not None
    assert (record.number, record.by, winner(ingested)) == (1, "organizer", "1")


def test_award_again_needs_supersede_and_reason(ingested: Session) -> None:
    award(ingested, campaign_id=CID, by="organizer", at=AFTER)
    with pytest.raises(StoreError, match="--supersede --reason"):
        award(ingested, campaign_id=CID, by="organizer", at=AFTER + 1)
    with pytest.raises(StoreError, match="needs a reason"):
        award(ingested, campaign_id=CID, by="organizer", supersede=True, at=AFTER + 1)


def test_award_supersede_takes_new_inputs_and_is_logged(ingested: Session) -> None:
    award(ingested, campaign_id=CID, by="organizer", at=AFTER)
    moderate(
        ingested, campaign_id=CID, video_id="1", action="exclude", reason="bought views", by="m"
    )
    second = award(
        ingested,
        campaign_id=CID,
        by="director",
        supersede=True,
        reason="winner bought views",
        at=AFTER + 60,
    ).award
    assert second is not None
    assert (second.number, winner(ingested)) == (2, "2")
    assert current_award(ingested, campaign_id=CID) == second
    entry = audit_page(ingested, campaign_id=CID).entries[0]
    assert (entry.action, entry.by, entry.details["supersedes"], entry.details["reason"]) == (
        "award.supersede",
        "director",
        1,
        "winner bought views",
    )


def test_award_supersede_without_award_refused(ingested: Session) -> None:
    with pytest.raises(StoreError, match="no award to supersede"):
        award(ingested, campaign_id=CID, by="o", supersede=True, reason="x", at=AFTER)


def test_entries_for_username_any_case(ingested: Session) -> None:
    entries = entries_for_username(ingested, campaign_id=CID, username="@NIGAR")
    assert [dataclasses.astuple(e)[:2] for e in entries] == [("2", "nigar")]
