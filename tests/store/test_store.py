"""The store's workflow: campaigns, moderation, removals, standings and frozen awards."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from oyren.errors import InputError, StoreError
from oyren.rules.campaign import Campaign, parse_campaign
from oyren.rules.results import results_json
from oyren.store import (
    audit_page,
    award,
    confirm_removals,
    current_award,
    entries_for_username,
    get_campaign,
    import_decisions,
    import_removals,
    ingest_observations,
    list_campaigns,
    moderate,
    moderation_queue,
    register_campaign,
    remove_video,
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


# --- campaigns ---


def test_register_campaign_twice_unchanged(session: Session, campaign: Campaign) -> None:
    assert register_campaign(session, campaign=campaign, by="organizer").status == "unchanged"
    assert actions(session) == ["campaign.register"]


def test_register_campaign_change_after_start_flagged(session: Session, campaign: Campaign) -> None:
    changed = edited(campaign, "min_duration_s = 30", "min_duration_s = 20")
    outcome = register_campaign(
        session, campaign=changed, by="organizer", at=campaign.window_start_ts + 3600
    )
    assert (outcome.status, outcome.after_start, outcome.awarded) == ("updated", True, False)
    entry = audit_page(session, campaign_id=CID).entries[0]
    assert (entry.action, entry.details["after_start"], entry.details["rules_digest"]) == (
        "campaign.update",
        True,
        changed.digest,
    )
    assert get_campaign(session, CID).min_duration_s == 20


def test_register_campaign_change_before_start_not_flagged(
    session: Session, campaign: Campaign
) -> None:
    changed = edited(campaign, "min_duration_s = 30", "min_duration_s = 20")
    outcome = register_campaign(
        session, campaign=changed, by="organizer", at=campaign.window_start_ts - 60
    )
    assert (outcome.status, outcome.after_start) == ("updated", False)


def test_get_campaign_unknown_lists_stored(session: Session) -> None:
    with pytest.raises(StoreError, match=f"no campaign 'other'.*stored: {CID}"):
        get_campaign(session, "other")


def test_list_campaigns_counts_videos(ingested: Session) -> None:
    [info] = list_campaigns(ingested)
    assert (info.id, info.name.en, info.videos, info.award) == (CID, "#LearnfromTikTok", 3, None)


# --- moderation ---


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


# --- removals ---


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


# --- awards ---

AFTER = 1_714_000_000  # 2024-04-24, after the deadline


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


def test_register_after_award_flagged_and_award_stays(
    ingested: Session, campaign: Campaign
) -> None:
    record = award(ingested, campaign_id=CID, by="organizer", at=AFTER).award
    changed = edited(campaign, "min_duration_s = 30", "min_duration_s = 60")
    outcome = register_campaign(ingested, campaign=changed, by="organizer", at=AFTER + 5)
    assert (outcome.after_start, outcome.awarded) == (True, True)
    assert standings(ingested, campaign_id=CID).award == record


# --- audit log ---


def test_audit_page_newest_first_in_pages(ingested: Session) -> None:
    for video_id in ("1", "2", "3"):
        moderate(ingested, campaign_id=CID, video_id=video_id, action="include", reason="", by="m")
    first = audit_page(ingested, campaign_id=CID, limit=2)
    second = audit_page(ingested, campaign_id=CID, limit=2, before=first.next_before)
    third = audit_page(ingested, campaign_id=CID, limit=2, before=second.next_before)
    assert [[e.details.get("video_id") for e in p.entries] for p in (first, second, third)] == [
        ["3", "2"],
        ["1", None],
        [None],
    ]
    assert [e.action for e in second.entries + third.entries] == [
        "moderation.include",
        "observations.ingest",
        "campaign.register",
    ]
    assert third.next_before is None


def test_entries_for_username_any_case(ingested: Session) -> None:
    entries = entries_for_username(ingested, campaign_id=CID, username="@NIGAR")
    assert [dataclasses.astuple(e)[:2] for e in entries] == [("2", "nigar")]
