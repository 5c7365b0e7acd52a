"""Snapshots: the kept verdicts as pages read them, the contest's phase, on both databases."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from oyren.pages import organizer as oversight
from oyren.pages import public as publishing
from oyren.pages import trends
from oyren.pages.snapshots import phase, snapshot_of
from oyren.rules.campaign import Campaign
from oyren.store import award, ingest_observations, moderate
from oyren.store.db import transaction
from tests.conftest import SECOND_ID, TOP_ID

ID = "sandbox-2024"


def test_phase_moves_through_the_contest(campaign: Campaign) -> None:
    start, cutoff = campaign.window_start_ts, campaign.cutoff_ts
    assert [phase(campaign, t, None) for t in (start - 1, start, cutoff, cutoff + 1)] == [
        "upcoming",
        "open",
        "open",
        "closed",
    ]


def test_a_decision_shows_on_the_next_read_with_no_cache(sandbox_db: Engine) -> None:
    with transaction(sandbox_db) as session:
        first = snapshot_of(session, ID).videos(session, limit=1)
    with transaction(sandbox_db) as session:
        moderate(
            session,
            campaign_id=ID,
            video_id=TOP_ID,
            action="exclude",
            reason="bought views",
            by="murad",
            at=0,
        )
    with transaction(sandbox_db) as session:
        snap = snapshot_of(session, ID)
        after = snap.videos(session, limit=1)
        excluded = snap.entries(session, video_ids=[TOP_ID])
    assert (first[0].entry.video_id, after[0].entry.video_id) == (TOP_ID, SECOND_ID)
    assert [v.entry.reasons for v in excluded] == [("excluded_by_moderator",)]


def test_read_side_works_on_every_database(
    stored_db: Engine,
    campaign: Campaign,
    make_record: Callable[..., dict[str, Any]],
    write_jsonl: Callable[..., Path],
) -> None:
    path = write_jsonl(
        [
            make_record(),
            make_record(id=7340000000000000002, username="nigar", view_count=5, region_code=None),
        ]
    )
    cid, now = campaign.id, campaign.cutoff_ts + 3600
    with transaction(stored_db) as session:
        ingest_observations(session, campaign_id=cid, path=path, by="t")
    with transaction(stored_db) as session:
        board = publishing.leaderboard(session, campaign_id=cid, now=now)
        check = publishing.self_check(session, campaign_id=cid, query="@nigar", now=now)
        stats = trends.stats(session, campaign_id=cid, now=now)
        health = oversight.health(session, campaign_id=cid, now=now)
        queue = oversight.moderation_rows(session, campaign_id=cid, now=now)
        evidence = oversight.evidence(
            session, campaign_id=cid, video_id="7340000000000000001", now=now
        )
        award(session, campaign_id=cid, by="olga", at=now)
    with transaction(stored_db) as session:
        page = publishing.winners(session, campaign_id=cid, now=now)
    assert [r.username for r in board.videos] == ["aysel_teaches"]
    assert [v.status for v in check.videos] == ["pending"]
    assert stats.entries_by_day[-1].value == 1
    assert (health.videos, health.eligible, health.pending, health.observations) == (2, 1, 1, 2)
    assert [r.video.username for r in queue.rows] == ["nigar"]
    assert evidence.series[0][1] == 1000
    assert page.bundle_digest is not None
