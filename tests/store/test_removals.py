"""Removals in the store: by hand, from a file, and confirmed after consecutive missed crawls."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from oyren.errors import StoreError
from oyren.rules.campaign import Campaign
from oyren.store import (
    confirm_removals,
    import_removals,
    ingest_observations,
    remove_video,
)
from tests.store.conftest import CID, actions, winner


def test_remove_video_takes_it_out_once(ingested: Session) -> None:
    remove_video(ingested, campaign_id=CID, video_id="1", reason="deleted", by="m")
    assert winner(ingested) == "2"
    with pytest.raises(StoreError, match="already recorded as removed"):
        remove_video(ingested, campaign_id=CID, video_id="1", reason="again", by="m")


def test_import_removals_passes_over_removed(
    ingested: Session, write_jsonl: Callable[..., Path]
) -> None:
    remove_video(ingested, campaign_id=CID, video_id="1", reason="deleted", by="m")
    path = write_jsonl(
        [
            {"video_id": "1", "reason": "deleted", "at": "2024-04-25T10:00:00+04:00"},
            {"video_id": 2, "reason": "private", "at": 1714000000},
        ],
        name="removed.jsonl",
    )
    assert import_removals(ingested, campaign_id=CID, path=path, by="m") == 1
    assert winner(ingested) is None or winner(ingested) == "3"


def test_confirm_removals_after_consecutive_misses(ingested: Session, campaign: Campaign) -> None:
    seen = campaign.cutoff_ts - 3600  # when the fixture's observations were made
    crawls = [seen + 3600 * k for k in (1, 2, 3)]
    confirmed = [
        confirm_removals(
            ingested, campaign_id=CID, missing_video_ids=["1", "unknown"], crawled_at=at, needed=3
        )
        for at in crawls
    ]
    assert [[r.video_id for r in c] for c in confirmed] == [[], [], ["1"]]
    assert winner(ingested) == "2"
    assert actions(ingested)[-1] == "removal"


def test_confirm_removals_a_sighting_restarts_the_count(
    ingested: Session,
    campaign: Campaign,
    make_record: Callable[..., dict[str, Any]],
    write_jsonl: Callable[..., Path],
) -> None:
    seen = campaign.cutoff_ts - 3600
    confirm_removals(
        ingested, campaign_id=CID, missing_video_ids=["1"], crawled_at=seen + 10, needed=2
    )
    later = write_jsonl(
        [make_record(id=1, view_count=3100, collected_at=seen + 20)], name="l.jsonl"
    )
    ingest_observations(ingested, campaign_id=CID, path=later, by="crawler")
    again = confirm_removals(
        ingested, campaign_id=CID, missing_video_ids=["1"], crawled_at=seen + 30, needed=2
    )
    assert again == []


def test_confirm_removals_same_crawl_twice_counts_once(
    ingested: Session, campaign: Campaign
) -> None:
    at = campaign.cutoff_ts
    for _ in range(3):
        result = confirm_removals(
            ingested, campaign_id=CID, missing_video_ids=["2"], crawled_at=at, needed=2
        )
    assert result == []
