import pytest

from oyren.rules.campaign import parse_campaign
from oyren.rules.decisions import Decision
from oyren.rules.eligibility import HARD_REASONS, REASONS, SOFT_REASONS, RuleSet, decide
from tests.conftest import CAMPAIGN_FILE

# The shipped file with the first partner's username filled in, as an organizer would.
TEXT = CAMPAIGN_FILE.read_text(encoding="utf-8").replace(
    'username = ""', 'username = "milli_tarix_muzeyi"', 1
)


@pytest.fixture(scope="module")
def rules():
    return RuleSet.of(parse_campaign(TEXT))


def reasons(rules, make_obs, **kw):
    return decide(make_obs(**kw), rules).reasons


def test_decide_plain_entry_is_eligible(rules, make_obs):
    verdict = decide(make_obs(), rules)
    assert (verdict.eligible, verdict.reasons) == (True, ())


@pytest.mark.parametrize(
    "overrides, expected",
    [
        ({"video_description": "no tag", "hashtag_names": []}, ("no_campaign_hashtag",)),
        ({"hashtag_names": ["LearnOnTikTok"]}, ("no_campaign_hashtag",)),
        ({"hashtag_names": ["TikTokdanÖyrən2"]}, ("no_campaign_hashtag",)),
        ({"video_duration": 29}, ("too_short",)),
        ({"video_duration": None}, ("duration_unknown",)),
        ({"region_code": "TR"}, ("outside_region",)),
        ({"region_code": None}, ("region_unknown",)),
        ({"username": "Milli_Tarix_Muzeyi"}, ("partner_account",)),
    ],
)
def test_decide_each_reason_code(rules, make_obs, overrides, expected):
    assert reasons(rules, make_obs, **overrides) == expected


def test_decide_duration_exactly_the_minimum_is_enough(rules, make_obs):
    assert reasons(rules, make_obs, video_duration=30) == ()


def test_decide_any_spelling_of_the_tag_enters(rules, make_obs):
    for tag in ("tiktokdanoyren", "TİKTOKDANÖYRƏN", "LearnFromTikTok"):
        assert reasons(rules, make_obs, hashtag_names=[tag]) == (), tag


def test_decide_post_at_the_deadline_second_is_in_time(rules, make_obs):
    at_cutoff = rules.cutoff
    assert reasons(rules, make_obs, create_time=at_cutoff, collected_at=at_cutoff + 60) == ()
    late = reasons(rules, make_obs, create_time=at_cutoff + 1, collected_at=at_cutoff + 60)
    assert late == ("outside_window",)


def test_decide_window_start_is_midnight_baku_not_utc(rules, make_obs):
    # 20 Feb 21:00 UTC is 21 Feb 01:00 in Baku: in time, though the UTC date is the day before.
    assert reasons(rules, make_obs, create_time=rules.window_start + 3600) == ()
    assert reasons(rules, make_obs, create_time=rules.window_start - 1) == ("outside_window",)


def test_decide_post_on_22_april_baku_is_late_though_utc_says_21st(rules, make_obs):
    one_am_baku_22nd = rules.cutoff + 1 + 3600  # 21 April 21:00 UTC
    got = reasons(rules, make_obs, create_time=one_am_baku_22nd, collected_at=one_am_baku_22nd + 9)
    assert got == ("outside_window",)


def test_decide_reports_every_failing_rule_in_order(rules, make_obs):
    got = reasons(
        rules,
        make_obs,
        hashtag_names=["x"],
        video_duration=5,
        region_code="RU",
        username="milli_tarix_muzeyi",
        create_time=rules.cutoff + 10,
        collected_at=rules.cutoff + 20,
    )
    assert got == (
        "no_campaign_hashtag",
        "outside_window",
        "too_short",
        "outside_region",
        "partner_account",
    )


def test_decide_removed_video_is_not_counted(rules, make_obs):
    assert decide(make_obs(), rules, removed=True).reasons == ("removed",)


def test_decide_moderator_exclusion_adds_its_reason(rules, make_obs):
    decision = Decision("7340000000000000001", "exclude", "re-upload of another video", "aysel", 1)
    assert decide(make_obs(), rules, decision=decision).reasons == ("excluded_by_moderator",)


def test_decide_moderator_inclusion_clears_soft_reasons_only(rules, make_obs):
    decision = Decision("7340000000000000001", "include", "tag is in the caption image", "aysel", 1)
    soft = make_obs(hashtag_names=["x"], video_duration=None, region_code=None)
    assert decide(soft, rules, decision=decision).reasons == ()
    hard = make_obs(hashtag_names=["x"], video_duration=10, region_code="TR")
    assert decide(hard, rules, decision=decision).reasons == ("too_short", "outside_region")


def test_reason_sets_partition_the_codes():
    assert SOFT_REASONS | HARD_REASONS | {"excluded_by_moderator"} == set(REASONS)
    assert not SOFT_REASONS & HARD_REASONS
