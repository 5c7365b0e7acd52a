from datetime import date

import pytest

from oyren.collect.plan import (
    PlannerSettings,
    QuotaState,
    TrackedVideo,
    contenders,
    coverage,
    estimate_at_cutoff,
    make_batches,
    next_run_at,
    phase_of,
    plan_refresh,
    plan_round_robin,
)
from oyren.rules.eligibility import RuleSet
from oyren.rules.videos import collect_videos

CUTOFF = 1713729599  # 2024-04-21T19:59:59Z
RESET = 1713744000  # 00:00 UTC after the deadline
HOUR = 3600
DAY = 86400
S = PlannerSettings()


def tv(n, *, views=100, seen=CUTOFF - DAY, create=CUTOFF - 5 * DAY, user=None, can_win=True):
    """A tracked video seen once at ``seen`` with ``views`` (or a series of (t, v) pairs)."""
    series = views if isinstance(views, list) else [(seen, views)]
    return TrackedVideo(
        video_id=str(7340000000000000000 + n),
        username=user or f"user{n}",
        create_time=create,
        can_win=can_win,
        times=tuple(t for t, _ in series),
        views=tuple(v for _, v in series),
    )


def quota(requests=1000, records=100_000, reset=RESET):
    return QuotaState(requests, records, reset)


def test_phase_of_names_the_cycles_around_the_deadline():
    assert phase_of(CUTOFF - HOUR, CUTOFF, S) == "before"
    assert phase_of(CUTOFF - 600, CUTOFF, S) == "pre"
    assert phase_of(CUTOFF, CUTOFF, S) == "pre"
    assert phase_of(CUTOFF + 1, CUTOFF, S) == "post"
    assert phase_of(CUTOFF + 2 * HOUR, CUTOFF, S) == "after"


def test_next_run_at_wakes_on_both_sides_of_the_deadline():
    assert next_run_at(CUTOFF - 10 * HOUR, CUTOFF, S) == CUTOFF - 8 * HOUR
    assert next_run_at(CUTOFF - HOUR, CUTOFF, S) == CUTOFF - 600
    assert next_run_at(CUTOFF - 600, CUTOFF, S) == CUTOFF + 1
    assert next_run_at(CUTOFF + 1, CUTOFF, S) == CUTOFF + 1 + 2 * HOUR


def test_estimate_at_cutoff_rebuilds_when_bracketed_and_extrapolates_before():
    bracketed = tv(1, views=[(CUTOFF - 100, 1000), (CUTOFF + 100, 2000)])
    assert estimate_at_cutoff(bracketed, CUTOFF) == 1500
    rising = tv(2, views=[(CUTOFF - 2 * DAY, 1000), (CUTOFF - DAY, 2000)])
    assert estimate_at_cutoff(rising, CUTOFF) == 3000
    once = tv(3, views=[(CUTOFF - DAY, 500)], create=CUTOFF - 2 * DAY)
    assert estimate_at_cutoff(once, CUTOFF) == 1000
    late = tv(4, create=CUTOFF + 10, views=[(CUTOFF + 100, 50)])
    assert estimate_at_cutoff(late, CUTOFF) == 0


def test_contenders_are_the_top_videos_and_every_video_of_the_top_creators():
    videos = [
        tv(1, views=9000),
        tv(2, views=8000),
        tv(3, views=10, user="prolific"),
        tv(4, views=10, user="prolific"),
        *[tv(10 + i, views=5000, user="prolific") for i in range(2)],
        tv(20, views=7000),
        tv(21, views=99999, can_win=False),
        tv(22, views=99999, create=CUTOFF + 10, seen=CUTOFF + 100),
    ]
    chosen = contenders(videos, CUTOFF, 2)
    # Top 2 videos: 1 and 2; top 2 creators: "prolific" (10,020) and user1 (9,000).
    assert chosen == {videos[i].video_id for i in (0, 1, 2, 3, 4, 5)}


def test_make_batches_hold_100_ids_within_30_days():
    videos = [tv(i, create=CUTOFF - (i % 60) * DAY) for i in range(250)]
    batches = make_batches(videos, limit=10)
    assert sum(len(b.video_ids) for b in batches) == 250
    assert all(len(b.video_ids) <= 100 for b in batches)
    assert all((b.end_date - b.start_date).days <= 30 for b in batches)
    by_id = {v.video_id: v for v in videos}
    for batch in batches:
        days = [date.fromtimestamp(by_id[i].create_time) for i in batch.video_ids]
        assert batch.start_date <= min(days) and max(days) < batch.end_date


def test_make_batches_keep_priority_order_when_the_limit_cuts():
    videos = [tv(i) for i in range(250)]
    batches = make_batches(videos, limit=2)
    assert [i for b in batches for i in b.video_ids] == [v.video_id for v in videos[:200]]


def test_plan_refresh_on_the_last_day_refreshes_contenders_every_cycle():
    now = CUTOFF - 12 * HOUR
    videos = [tv(i, views=i, seen=now - 3 * HOUR) for i in range(500)]
    plan = plan_refresh(
        videos,
        now=now,
        cutoff=CUTOFF,
        quota=quota(requests=40, reset=now + 4 * HOUR),
        settings=PlannerSettings(contenders=5),
    )
    # 40 requests less 10% for retries, over the two cycles left today: 18 now.
    assert plan.phase == "before"
    assert plan.budget == 18
    # Only the contenders are due: the others were seen three hours ago, due after a day.
    assert set(plan.video_ids) == plan.contenders
    assert len(plan.contenders) == 5


def test_plan_refresh_weeks_ahead_looks_at_contenders_daily():
    now = CUTOFF - 20 * DAY
    fresh = [tv(i, views=i, seen=now - 12 * HOUR) for i in range(50)]
    stale = [tv(100 + i, views=i, seen=now - DAY) for i in range(50)]
    plan = plan_refresh(
        fresh + stale, now=now, cutoff=CUTOFF, quota=quota(), settings=PlannerSettings(contenders=5)
    )
    assert set(plan.video_ids) == {v.video_id for v in stale}


def test_plan_refresh_holds_back_the_deadline_sweeps_on_the_deadline_day():
    videos = [tv(i, seen=CUTOFF - 2 * DAY) for i in range(1000)]
    now = CUTOFF - 12 * HOUR  # the deadline's UTC day: both sweeps come before the reset
    plan = plan_refresh(videos, now=now, cutoff=CUTOFF, quota=quota(requests=100, reset=RESET))
    # 90 usable, 2 sweeps of 10 requests held back, 70 spread over 6 cycles until the first one.
    assert plan.budget == 70 // 6
    assert len(plan.batches) == 10  # everyone fits


def test_plan_refresh_pre_sweeps_every_entry_with_contenders_last():
    videos = [tv(i, views=i) for i in range(250)] + [tv(900, can_win=False)]
    plan = plan_refresh(
        videos,
        now=CUTOFF - 600,
        cutoff=CUTOFF,
        quota=quota(),
        settings=PlannerSettings(contenders=3),
    )
    assert plan.phase == "pre"
    assert set(plan.video_ids) == {v.video_id for v in videos[:250]}
    assert plan.batches[-1].contenders
    assert set(plan.batches[-1].video_ids) == plan.contenders
    assert not any(b.contenders for b in plan.batches[:-1])


def test_plan_refresh_pre_with_little_budget_keeps_the_contenders():
    videos = [tv(i, views=i) for i in range(1000)]
    settings = PlannerSettings(contenders=3)
    plan = plan_refresh(
        videos, now=CUTOFF - 600, cutoff=CUTOFF, quota=quota(requests=12), settings=settings
    )
    # 10 usable: not enough for 10 + 10; the contenders go before, the rest waits for after.
    assert plan.budget == 1
    assert set(plan.video_ids) == plan.contenders


def test_plan_refresh_post_asks_only_for_entries_not_seen_since_with_contenders_first():
    seen_after = tv(1, views=[(CUTOFF - 600, 10), (CUTOFF + 5, 11)])
    videos = [seen_after] + [tv(i, views=i, seen=CUTOFF - 600) for i in range(2, 150)]
    plan = plan_refresh(
        videos,
        now=CUTOFF + 60,
        cutoff=CUTOFF,
        quota=quota(),
        settings=PlannerSettings(contenders=3),
    )
    assert plan.phase == "post"
    assert seen_after.video_id not in plan.video_ids
    assert len(plan.video_ids) == 148
    assert plan.batches[0].contenders
    assert set(plan.video_ids[:3]) == plan.contenders


def test_plan_refresh_after_is_done_once_every_entry_is_bracketed():
    bracketed = [tv(i, views=[(CUTOFF - 60, 1), (CUTOFF + 60, 2)]) for i in range(5)]
    cannot_win = tv(9, can_win=False, seen=CUTOFF - DAY)
    plan = plan_refresh([*bracketed, cannot_win], now=CUTOFF + DAY, cutoff=CUTOFF, quota=quota())
    assert (plan.phase, plan.batches, plan.done) == ("after", (), True)
    missing = tv(7, seen=CUTOFF - DAY)
    plan = plan_refresh([*bracketed, missing], now=CUTOFF + DAY, cutoff=CUTOFF, quota=quota())
    assert (plan.video_ids, plan.done) == ([missing.video_id], False)


def test_plan_refresh_respects_the_records_quota_and_keeps_a_retry_share():
    videos = [tv(i, seen=CUTOFF - 600) for i in range(900)]
    plan = plan_refresh(
        videos, now=CUTOFF + 60, cutoff=CUTOFF, quota=quota(requests=5, records=250)
    )
    assert plan.budget == 2
    assert len(plan.batches) == 2


def test_plan_round_robin_spreads_the_budget_least_recently_seen_first():
    videos = [tv(i, seen=CUTOFF - DAY + i) for i in range(300)]
    plan = plan_round_robin(
        videos,
        now=CUTOFF - 20 * HOUR,
        cutoff=CUTOFF,
        quota=quota(requests=100, reset=CUTOFF - 12 * HOUR),
    )
    assert plan.budget == 90 // 4
    assert plan.video_ids == [v.video_id for v in videos]


def test_tracked_video_knows_whether_a_hard_rule_keeps_it_out(sandbox_rules, make_obs):
    ok = collect_videos([make_obs()], cutoff=CUTOFF)
    short = collect_videos([make_obs(video_duration=10)], cutoff=CUTOFF)
    no_tag = collect_videos([make_obs(video_description="no tag")], cutoff=CUTOFF)
    assert TrackedVideo.of(next(iter(ok.values())), sandbox_rules).can_win
    assert not TrackedVideo.of(next(iter(short.values())), sandbox_rules).can_win
    # A missing hashtag is soft: a moderator can include the video, so it is still tracked.
    assert TrackedVideo.of(next(iter(no_tag.values())), sandbox_rules).can_win


@pytest.fixture
def sandbox_rules(campaign):
    return RuleSet.of(campaign)


def test_coverage_tells_basis_and_gap_for_each_prizes_top(campaign, make_obs):
    cutoff = campaign.cutoff_ts
    observations = [
        make_obs(id=1, username="a", collected_at=cutoff - 300, view_count=900),
        make_obs(id=1, username="a", collected_at=cutoff + 300, view_count=1100),
        make_obs(id=2, username="b", collected_at=cutoff, view_count=700),
        make_obs(id=3, username="b", collected_at=cutoff - 3600, view_count=600),
    ]
    videos = collect_videos(observations, cutoff=cutoff).values()
    report = coverage(campaign, videos, top=10)
    assert [(r.name, r.views, r.basis, r.gap_s) for r in report.best_video] == [
        ("1", 1000, "interpolated", 600),
        ("2", 700, "observed", 0),
        ("3", 600, "last_before_cutoff", None),
    ]
    assert [(r.name, r.views, r.basis, r.gap_s, r.videos) for r in report.discover] == [
        ("b", 1300, "last_before_cutoff", None, 2),
        ("a", 1000, "interpolated", 600, 1),
    ]


def test_plan_refresh_leaves_discovery_what_the_sweeps_do_not_need():
    videos = [tv(i, seen=CUTOFF - 2 * DAY) for i in range(1000)]
    deadline_day = plan_refresh(
        videos, now=CUTOFF - 12 * HOUR, cutoff=CUTOFF, quota=quota(requests=25, reset=RESET)
    )
    # 22 usable, 20 held back for the two sweeps: one request for refreshing, one for discovery.
    assert (deadline_day.reserve, len(deadline_day.batches), deadline_day.spare) == (20, 1, 1)
    pre = plan_refresh(videos, now=CUTOFF - 600, cutoff=CUTOFF, quota=quota(requests=23))
    assert (pre.reserve, len(pre.batches), pre.spare) == (10, 10, 0)


def test_plan_refresh_spends_a_small_budget_early_rather_than_never():
    videos = [tv(i, seen=CUTOFF - 30 * DAY) for i in range(1000)]
    now = CUTOFF - 20 * DAY
    plan = plan_refresh(videos, now=now, cutoff=CUTOFF, quota=quota(requests=8, reset=now + DAY))
    # 7 usable over 12 cycles: one now.
    assert (plan.budget, len(plan.batches)) == (1, 1)
