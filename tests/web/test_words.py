"""Words: the core's codes and facts become sentences in the reader's language."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from oyren.rules.explain import Explanation
from oyren.web.i18n import Translator, load_catalogs
from oyren.web.words import (
    action_text,
    basis_text,
    explanation_text,
    fix_text,
    lookup_problem_text,
    reason_title,
    region_list,
    region_name,
    role_text,
    status_text,
)

BAKU = ZoneInfo("Asia/Baku")
CATALOGS = load_catalogs()
EN = CATALOGS.translator("en")
AZ = CATALOGS.translator("az")

LATE = Explanation(
    reason="outside_window",
    fix="post_again",
    can_fix=True,
    posted_at=datetime(2024, 4, 22, 0, 30, tzinfo=BAKU),
    window_start=datetime(2024, 2, 21, 0, 0, tzinfo=BAKU),
    cutoff=datetime(2024, 4, 21, 23, 59, 59, tzinfo=BAKU),
    side="late",
)
REASONS = (
    "no_campaign_hashtag",
    "outside_window",
    "too_short",
    "duration_unknown",
    "outside_region",
    "region_unknown",
    "partner_account",
    "removed",
    "excluded_by_moderator",
)


def test_region_names_in_the_readers_language_and_unknown_codes_kept() -> None:
    assert region_name(EN, "AZ") == "Azerbaijan"
    assert region_name(AZ, "AZ") == "Azərbaycan"
    assert region_name(EN, "ZZ9") == "ZZ9"
    assert region_list(EN, ["TR", "AZ", "GE"]) == "Azerbaijan, Georgia, Türkiye"
    assert region_list(EN, []) == ""


@pytest.mark.parametrize("t", [EN, AZ], ids=["en", "az"])
def test_every_reason_has_its_own_title_and_sentence(t: Translator) -> None:
    titles = [reason_title(t, reason) for reason in REASONS]
    sentences = [explanation_text(t, dataclasses.replace(LATE, reason=r)) for r in REASONS]
    assert len(set(titles)) == len(REASONS)
    assert len(set(sentences)) == len(REASONS)
    assert not set(titles) & set(REASONS)


def test_unknown_codes_are_shown_as_they_are() -> None:
    for word in (
        reason_title,
        status_text,
        basis_text,
        lookup_problem_text,
        role_text,
        action_text,
    ):
        assert word(EN, "brand_new_code") == "brand_new_code"


def test_late_post_is_explained_in_the_campaigns_time_zone() -> None:
    assert explanation_text(EN, LATE) == (
        "Posted at 00:30 on 22 April Baku time, after the deadline (23:59:59 on 21 April)."
    )
    early = dataclasses.replace(LATE, side="early", posted_at=datetime(2024, 2, 20, tzinfo=BAKU))
    assert "before the contest began (00:00 on 21 February)" in explanation_text(EN, early)


def test_facts_of_each_reason_appear_in_its_sentence() -> None:
    short = dataclasses.replace(LATE, reason="too_short", duration_s=12, min_duration_s=30)
    region = dataclasses.replace(LATE, reason="outside_region", region_code="TR", regions=("AZ",))
    hashtag = dataclasses.replace(LATE, reason="no_campaign_hashtag", hashtag="TikTokdanÖyrən")
    assert ("12" in explanation_text(EN, short), "30" in explanation_text(EN, short)) == (
        True,
        True,
    )
    assert "Türkiye" in explanation_text(EN, region)
    assert "Azerbaijan" in explanation_text(EN, region)
    assert "#TikTokdanÖyrən" in explanation_text(EN, hashtag)


def test_moderators_note_is_quoted_as_plain_text() -> None:
    note = '<script>alert("x")</script>'
    excluded = dataclasses.replace(LATE, reason="excluded_by_moderator", note=note)
    assert explanation_text(EN, excluded) == f"A moderator excluded the video: “{note}”"
    silent = dataclasses.replace(LATE, reason="excluded_by_moderator")
    assert explanation_text(EN, silent) == "A moderator excluded the video."


def test_fix_says_what_can_still_be_done() -> None:
    fixes = {
        fix: fix_text(EN, dataclasses.replace(LATE, fix=fix, hashtag="TikTokdanÖyrən"))
        for fix in ("add_hashtag", "post_again", "wait_for_check", "none")
    }
    assert fixes["add_hashtag"].startswith("Add #TikTokdanÖyrən to the description before 23:59")
    assert fixes["post_again"].startswith("Post a new video")
    assert fixes["wait_for_check"] == "Nothing to do for now: a person will check the video."
    assert fixes["none"] == "If you think this is a mistake, write to the organizer."
    closed = dataclasses.replace(LATE, can_fix=False)
    assert fix_text(EN, closed) == "This can no longer be changed."
    assert fix_text(AZ, closed) != fix_text(EN, closed)


def test_codes_in_words_are_translated() -> None:
    assert [status_text(EN, s) for s in ("counted", "pending", "not_counted", "submitted")] == [
        "Counted",
        "Pending",
        "Not counted",
        "Submitted, not seen yet",
    ]
    assert basis_text(EN, "interpolated") == "between two observations"
    assert lookup_problem_text(EN, "not_tiktok") == "Only links to tiktok.com can be checked."
    assert (role_text(EN, "juror"), action_text(EN, "exclude")) == ("juror", "excluded")
    for word, code in (
        (status_text, "counted"),
        (basis_text, "observed"),
        (action_text, "include"),
    ):
        assert word(AZ, code) != word(EN, code)
