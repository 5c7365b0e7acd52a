"""Oversight: the organizer's read side — health, queue, evidence, award preview."""

from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import Engine

from oyren.errors import StoreError
from oyren.pages.organizer import (
    QueueFilter,
    award_preview,
    evidence,
    health,
    moderation_rows,
)
from oyren.rules.campaign import Campaign
from oyren.rules.explain import entry_status
from oyren.store import award, decided, moderate, moderation_queue, remove_video
from oyren.store.db import transaction
from tests.conftest import PENDING_ID, SECOND_ID, TOP_ID

ID = "sandbox-2024"


def test_health_counts_what_is_stored(sandbox_db: Engine, sandbox: Campaign) -> None:
    with transaction(sandbox_db) as session:
        h = health(session, campaign_id=ID, now=sandbox.cutoff_ts + 86400)
    assert h.videos == 306
    assert 0 < h.eligible < h.videos
    assert h.pending >= 1
    assert (h.excluded_by_moderators, h.removed, h.open_submissions, h.award) == (0, 0, 0, None)
    assert h.observations > h.videos


def test_health_counts_in_the_database_what_the_whole_results_hold(
    sandbox_db: Engine, sandbox: Campaign
) -> None:
    # The dashboard counts the decided rows by kind in one query; the same numbers as counting
    # the campaign's whole results, after decisions and a removal (flags: the store's tests).
    with transaction(sandbox_db) as session:
        moderate(session, campaign_id=ID, video_id=TOP_ID, action="exclude", reason="bought views",
                 by="murad", at=1)  # fmt: skip
        moderate(session, campaign_id=ID, video_id=PENDING_ID, action="include", reason="in Baku",
                 by="murad", at=2)  # fmt: skip
        remove_video(session, campaign_id=ID, video_id=SECOND_ID, reason="deleted", by="murad")
        h = health(session, campaign_id=ID, now=sandbox.cutoff_ts + 86400)
        state = decided.status(session, ID)
        entries = decided.results(session, state, sandbox).entries
        queue = moderation_queue(session, campaign_id=ID)
    assert any(e.topic for e in entries)
    assert (h.videos, h.eligible, h.pending, h.excluded_by_moderators, h.removed, h.waiting) == (
        len(entries),
        sum(e.eligible for e in entries),
        sum(entry_status(e.reasons) == "pending" for e in entries),
        sum("excluded_by_moderator" in e.reasons for e in entries),
        sum("removed" in e.reasons for e in entries),
        len(queue),
    )
    assert h.excluded_by_moderators == h.removed == 1 and h.waiting > 0


def test_moderation_rows_list_the_video_waiting_for_a_check(
    sandbox_db: Engine, sandbox: Campaign
) -> None:
    with transaction(sandbox_db) as session:
        queue = moderation_rows(session, campaign_id=ID, now=sandbox.cutoff_ts)
        moderate(
            session,
            campaign_id=ID,
            video_id=PENDING_ID,
            action="include",
            reason="Checked: the account is in Baku",
            by="murad",
            at=1,
        )
        later = moderation_rows(session, campaign_id=ID, now=sandbox.cutoff_ts)
    row = next(r for r in queue.rows if r.video.video_id == PENDING_ID)
    assert (row.why, row.video.status) == ("pending_check", "pending")
    assert PENDING_ID not in [r.video.video_id for r in later.rows]
    assert later.total == queue.total - 1


@pytest.mark.parametrize(
    "chosen",
    [
        QueueFilter(),
        QueueFilter(why="pending_check", sort="views"),
        QueueFilter(why="topic", theme="none", sort="posted"),
        QueueFilter(why="flagged"),
        QueueFilter(why="soft_reasons"),  # the store's word, not the page's: keeps nothing
    ],
)
def test_moderation_rows_are_the_whole_queue_filtered(
    sandbox_db: Engine, sandbox: Campaign, chosen: QueueFilter
) -> None:
    with transaction(sandbox_db) as session:
        queue = moderation_rows(session, campaign_id=ID, now=sandbox.cutoff_ts, filter=chosen,
                                limit=200)  # fmt: skip
        status = decided.status(session, ID)
        items = moderation_queue(session, campaign_id=ID,
                                 results=decided.results(session, status, sandbox))  # fmt: skip
    page_why = {"soft_reasons": "pending_check"}
    kept = [
        i
        for i in items
        if (not chosen.why or page_why.get(i.why, i.why) == chosen.why)
        and (not chosen.theme or (i.entry.topic or "none") == chosen.theme)
    ]
    if chosen.sort == "views":
        kept.sort(key=lambda i: -i.entry.views_at_cutoff)
    elif chosen.sort == "posted":
        kept.sort(key=lambda i: i.entry.create_time)
    assert [(r.video.video_id, r.why, r.detail) for r in queue.rows] == [
        (i.entry.video_id, page_why.get(i.why, i.why), i.detail) for i in kept[:200]
    ]
    assert (queue.total, queue.matching) == (len(items), len(kept))
    assert dict(queue.whys) == Counter(page_why.get(i.why, i.why) for i in items)
    assert queue.total > 0


def test_evidence_shows_series_and_decisions(sandbox_db: Engine, sandbox: Campaign) -> None:
    with transaction(sandbox_db) as session:
        moderate(
            session,
            campaign_id=ID,
            video_id=TOP_ID,
            action="exclude",
            reason="views bought",
            by="murad",
            at=sandbox.cutoff_ts,
        )
        found = evidence(session, campaign_id=ID, video_id=TOP_ID, now=sandbox.cutoff_ts)
    assert (found.video.status, found.reasons) == ("not_counted", ("excluded_by_moderator",))
    assert [(d.action, d.reason, d.by) for d in found.decisions] == [
        ("exclude", "views bought", "murad")
    ]
    assert found.video.explanations[0].note == "views bought"
    assert [views for _, views in found.series] == [90_000_000]


def test_evidence_of_an_unknown_video_is_refused(sandbox_db: Engine) -> None:
    with transaction(sandbox_db) as session, pytest.raises(StoreError, match="no video"):
        evidence(session, campaign_id=ID, video_id="1", now=0)


def test_award_preview_uses_live_verdicts_even_after_an_award(
    sandbox_db: Engine, sandbox: Campaign
) -> None:
    at = sandbox.cutoff_ts + 86400
    with transaction(sandbox_db) as session:
        award(session, campaign_id=ID, by="olga", at=at)
        moderate(
            session,
            campaign_id=ID,
            video_id=TOP_ID,
            action="exclude",
            reason="bought",
            by="olga",
            at=at + 1,
        )
        preview = award_preview(session, campaign_id=ID, now=at + 2)
    best = next(p for p in preview.prizes if p.category == "best_video")
    assert (preview.phase, preview.award is not None, best.video_id) == (
        "awarded",
        True,
        SECOND_ID,
    )
