"""Explaining a verdict to the creator: facts and fixes per reason."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from oyren.rules.campaign import Campaign
from oyren.rules.eligibility import REASONS
from oyren.rules.explain import FIXES, entry_status, explain

BAKU = ZoneInfo("Asia/Baku")


def test_explain_late_post_gives_baku_time_and_no_fix(campaign: Campaign) -> None:
    posted = int(datetime(2024, 4, 22, 1, 0, tzinfo=BAKU).timestamp())
    result = explain("outside_window", campaign=campaign, now=posted + 60, create_time=posted)
    assert (result.side, result.fix, result.can_fix) == ("late", "none", False)
    assert result.posted_at == datetime(2024, 4, 22, 1, 0, tzinfo=BAKU)
    assert result.posted_at.utcoffset() == campaign.cutoff.utcoffset()
    assert result.cutoff == datetime(2024, 4, 21, 23, 59, 59, tzinfo=BAKU)


def test_explain_early_post_can_post_again_before_deadline(campaign: Campaign) -> None:
    posted = campaign.window_start_ts - 3600
    before = explain("outside_window", campaign=campaign, now=posted, create_time=posted)
    after = explain(
        "outside_window", campaign=campaign, now=campaign.cutoff_ts + 1, create_time=posted
    )
    assert (before.side, before.fix, before.can_fix) == ("early", "post_again", True)
    assert (after.fix, after.can_fix) == ("none", False)


def test_explain_missing_hashtag_is_fixed_by_editing_until_the_deadline(
    campaign: Campaign,
) -> None:
    posted = campaign.cutoff_ts - 86400
    before = explain("no_campaign_hashtag", campaign=campaign, now=posted, create_time=posted)
    after = explain(
        "no_campaign_hashtag", campaign=campaign, now=campaign.cutoff_ts + 1, create_time=posted
    )
    assert (before.fix, before.can_fix, before.hashtag) == ("add_hashtag", True, "TikTokdanÖyrən")
    assert (after.fix, after.can_fix) == ("appeal", True)


def test_explain_deadline_second_itself_still_allows_fixes(campaign: Campaign) -> None:
    result = explain(
        "too_short", campaign=campaign, now=campaign.cutoff_ts, create_time=campaign.cutoff_ts - 9
    )
    assert (result.fix, result.can_fix) == ("post_again", True)


def test_explain_too_short_carries_both_lengths(campaign: Campaign) -> None:
    result = explain(
        "too_short", campaign=campaign, now=0, create_time=campaign.cutoff_ts - 10, duration_s=12
    )
    assert (result.duration_s, result.min_duration_s) == (12, 30)


def test_explain_region_and_partner_cannot_be_fixed(campaign: Campaign) -> None:
    for reason in ("outside_region", "partner_account"):
        result = explain(reason, campaign=campaign, now=0, create_time=campaign.cutoff_ts - 10,
                         region_code="TR")  # fmt: skip
        assert (result.fix, result.can_fix, result.regions) == ("none", False, ("AZ",))


def test_explain_moderator_exclusion_keeps_the_note_and_can_be_appealed(
    campaign: Campaign,
) -> None:
    result = explain(
        "excluded_by_moderator",
        campaign=campaign,
        now=campaign.cutoff_ts + 86400,
        create_time=campaign.cutoff_ts - 10,
        note="re-upload of another creator's video",
    )
    assert (result.fix, result.can_fix, result.note) == (
        "appeal",
        True,
        "re-upload of another creator's video",
    )


@pytest.mark.parametrize("reason", REASONS)
def test_explain_every_reason_has_a_known_fix(campaign: Campaign, reason: str) -> None:
    result = explain(reason, campaign=campaign, now=0, create_time=campaign.cutoff_ts - 10)
    assert result.fix in FIXES


def test_explain_unknown_reason_is_refused(campaign: Campaign) -> None:
    with pytest.raises(ValueError, match="unknown reason"):
        explain("cosmic_rays", campaign=campaign, now=0, create_time=0)


@pytest.mark.parametrize(
    ("reasons", "status"),
    [
        ((), "counted"),
        (("duration_unknown",), "pending"),
        (("duration_unknown", "region_unknown"), "pending"),
        (("duration_unknown", "too_short"), "not_counted"),
        (("outside_window",), "not_counted"),
    ],
)
def test_entry_status_of_reasons(reasons: tuple[str, ...], status: str) -> None:
    assert entry_status(reasons) == status
