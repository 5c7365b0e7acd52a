"""Campaigns in the store: registering rules and changes to them, looking them up, listing."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from oyren.errors import StoreError
from oyren.rules.campaign import Campaign
from oyren.store import (
    audit_page,
    award,
    get_campaign,
    list_campaigns,
    register_campaign,
    standings,
)
from tests.store.conftest import AFTER, CID, actions, edited


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


def test_register_after_award_flagged_and_award_stays(
    ingested: Session, campaign: Campaign
) -> None:
    record = award(ingested, campaign_id=CID, by="organizer", at=AFTER).award
    changed = edited(campaign, "min_duration_s = 30", "min_duration_s = 60")
    outcome = register_campaign(ingested, campaign=changed, by="organizer", at=AFTER + 5)
    assert (outcome.after_start, outcome.awarded) == (True, True)
    assert standings(ingested, campaign_id=CID).award == record
