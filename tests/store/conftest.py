"""Shared fixtures of the store tests: a stored campaign, three ingested videos, and helpers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from oyren.rules.campaign import Campaign, parse_campaign
from oyren.store import (
    audit_page,
    ingest_observations,
    standings,
)
from oyren.store.db import transaction

CID = "tiktokdan-oyren-2024"


@pytest.fixture
def session(stored_db: Engine) -> Iterator[Session]:
    """A session in a transaction on a database holding the shipped campaign."""
    with transaction(stored_db) as s:
        yield s


@pytest.fixture
def ingested(
    session: Session, make_record: Callable[..., dict[str, Any]], write_jsonl: Callable[..., Path]
) -> Session:
    """``session`` after importing three videos: 1 (aysel, 3000 views), 2 (nigar, 2000) and
    3 (aysel, 500, without a region)."""
    path = write_jsonl(
        [
            make_record(id=1, view_count=3000),
            make_record(id=2, username="nigar", view_count=2000),
            make_record(id=3, view_count=500, region_code=None),
        ]
    )
    ingest_observations(session, campaign_id=CID, path=path, by="organizer")
    return session


def winner(session: Session) -> str | None:
    best = standings(session, campaign_id=CID).results.winners.best_video
    return None if best is None else best.video_id


def actions(session: Session) -> list[str]:
    return [e.action for e in reversed(audit_page(session, campaign_id=CID).entries)]


def edited(campaign: Campaign, old: str, new: str) -> Campaign:
    return parse_campaign(campaign.source_text.replace(old, new, 1))


AFTER = 1_714_000_000  # 2024-04-24, after the deadline
