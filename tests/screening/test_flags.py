import math
import random

import pytest

from oyren.rules.observations import Observation
from oyren.rules.videos import Video
from oyren.screening.flags import FLAG_CODES, flag_videos

HOUR = 3600
DAY = 86400
START = 1_708_459_200  # 2024-02-21T00:00:00+04:00
TRACK_EVERY = 6 * HOUR
TRACK_UNTIL = START + 40 * DAY


def curve(total: int, tau_h: float, age_s: int) -> int:
    """Views of an honest video: fast at first, then levelling off."""
    return int(total * -math.expm1(-max(age_s, 0) / (tau_h * HOUR)))


def video(
    video_id: str,
    username: str,
    create: int,
    views,
    *,
    every: int = TRACK_EVERY,
    like_rate: float = 0.07,
    comment_rate: float = 0.005,
    share_rate: float = 0.008,
    **meta,
) -> Video:
    """A video tracked every ``every`` seconds; ``views(age)`` gives its count at an age."""
    times = tuple(range(create + every, TRACK_UNTIL, every))
    counts = tuple(views(t - create) for t in times)
    last = counts[-1]
    fields = {
        "description": f"Video {video_id} about something #TikTokdanOyren",
        "duration_s": 40 + int(video_id) % 100,
        "music_id": f"m{video_id}",
    }
    fields.update(meta)
    obs = Observation(
        video_id=video_id,
        username=username,
        create_time=create,
        collected_at=times[-1],
        view_count=last,
        like_count=int(last * like_rate),
        comment_count=int(last * comment_rate),
        share_count=int(last * share_rate),
        **fields,
    )
    return Video(meta=obs, times=times, views=counts)


def honest_campaign(n: int = 80, seed: int = 4) -> list[Video]:
    """Honest videos of many sizes and lifetimes, with a little spread in their ratios."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        total = int(rng.lognormvariate(8.5, 1.5))
        tau = rng.uniform(12, 96)
        out.append(
            video(
                str(1000 + i),
                f"creator{i}",
                START + rng.randrange(0, 20 * DAY),
                lambda age, total=total, tau=tau: curve(total, tau, age),
                like_rate=rng.uniform(0.04, 0.1),
                comment_rate=rng.uniform(0.003, 0.008),
                share_rate=rng.uniform(0.004, 0.012),
            )
        )
    return out


@pytest.fixture(scope="module")
def honest():
    return honest_campaign()


def codes(flags, video_id):
    return tuple(f.code for f in flags.get(video_id, ()))


def block(at_age: int, views: int, over_s: int = 2 * HOUR):
    """Views bought at ``at_age``, delivered evenly over ``over_s``."""
    return lambda age: min(max(age - at_age, 0), over_s) * views // over_s


def test_flag_videos_honest_campaign_raises_no_flag(honest):
    assert flag_videos(honest) == {}


def test_flag_videos_empty_campaign_has_no_flags():
    assert flag_videos([]) == {}


def test_flag_videos_bought_block_is_a_view_spike(honest):
    bought = block(9 * DAY, 40_000)
    buyer = video("1", "buyer", START + DAY, lambda a: curve(30_000, 48, a) + bought(a))
    flags = flag_videos([*honest, buyer])
    assert codes(flags, "1") == ("view_spike",)
    text = flags["1"][0].explanation
    assert text.startswith("gained ")
    assert "at age 9 days" in text
    assert "99th percentile" in text
    assert 0.5 <= flags["1"][0].score <= 1.0


def test_flag_videos_viral_newcomer_is_not_flagged(honest):
    # Two million views in a few days, from an account with no other video: fast growth early in
    # life follows the usual decay shape, so nothing is suspicious.
    viral = video("2", "first_timer", START + 5 * DAY, lambda a: curve(2_000_000, 20, a))
    assert codes(flag_videos([*honest, viral]), "2") == ()


def test_flag_videos_organic_second_wave_is_not_a_view_spike(honest):
    # Pushed again at age 12 days: a fast rise that keeps going for a day is not a bought block.
    def views(age: int) -> int:
        return curve(20_000, 30, age) + curve(30_000, 24, age - 12 * DAY)

    wave = video("3", "comeback", START + DAY, views)
    assert codes(flag_videos([*honest, wave]), "3") == ()


def test_flag_videos_small_video_with_odd_ratios_is_not_flagged(honest):
    small = video("4", "tiny", START + 3 * DAY, lambda a: curve(150, 24, a), like_rate=0.4)
    assert codes(flag_videos([*honest, small]), "4") == ()


def test_flag_videos_bought_likes_are_an_engagement_outlier(honest):
    liked = video("5", "liked", START + 2 * DAY, lambda a: curve(50_000, 40, a), like_rate=0.6)
    flags = flag_videos([*honest, liked])
    assert codes(flags, "5") == ("engagement_outlier",)
    assert flags["5"][0].explanation.startswith("at 49,999 views: 600 likes per 1,000 views, ")
    assert "times above the campaign median" in flags["5"][0].explanation


def test_flag_videos_views_without_likes_are_an_engagement_outlier(honest):
    hollow = video(
        "6",
        "hollow",
        START + 2 * DAY,
        lambda a: curve(80_000, 40, a),
        like_rate=0.004,
        comment_rate=0.0003,
        share_rate=0.0004,
    )
    flags = flag_videos([*honest, hollow])
    assert codes(flags, "6") == ("engagement_outlier",)
    assert "times below the campaign median" in flags["6"][0].explanation


def test_flag_videos_count_that_went_down_is_views_decreased(honest):
    def views(age: int) -> int:
        taken_back = 6_000 if age >= 10 * DAY else 0
        return curve(20_000, 30, age) - taken_back

    dropped = video("7", "dropped", START + DAY, views)
    flags = flag_videos([*honest, dropped])
    assert codes(flags, "7") == ("views_decreased",)
    assert "fewer (30 % of the peak)" in flags["7"][0].explanation


def test_flag_videos_wobble_of_a_few_views_is_not_views_decreased(honest):
    def views(age: int, total: int, wobble: int) -> int:
        return curve(total, 30, age) - (wobble if 10 * DAY <= age < 11 * DAY else 0)

    large = video("8", "large", START + DAY, lambda a: views(a, 20_000, 90))
    small = video("9", "small", START + DAY, lambda a: views(a, 500, 15))
    flags = flag_videos([*honest, large, small])
    assert (codes(flags, "8"), codes(flags, "9")) == ((), ())


def test_flag_videos_accounts_boosted_together_are_coordinated(honest):
    moments = (START + 15 * DAY, START + 19 * DAY, START + 24 * DAY)
    group = []
    for n in range(4):
        create = START + (n + 1) * DAY

        def views(age: int, create: int = create, total: int = 5_000 + 1_000 * n) -> int:
            bought = sum(block(m - create, 8_000)(age) for m in moments)
            return curve(total, 36, age) + bought

        group.append(video(str(10 + n), f"ring{n}", create, views))
    flags = flag_videos([*honest, *group])
    for n in range(4):
        assert codes(flags, str(10 + n)) == ("view_spike", "coordinated_accounts")
    text = flags["10"][1].explanation
    assert text.startswith("views burst at the same moments as videos of @ring1, @ring2, @ring3")
    assert "on 3 occasions" in text


def test_flag_videos_two_accounts_in_step_are_not_a_group(honest):
    moments = (START + 15 * DAY, START + 19 * DAY, START + 24 * DAY)
    pair = []
    for n in range(2):
        create = START + (n + 1) * DAY

        def views(age: int, create: int = create) -> int:
            return curve(5_000, 36, age) + sum(block(m - create, 8_000)(age) for m in moments)

        pair.append(video(str(20 + n), f"pair{n}", create, views))
    other = block(11 * DAY, 8_000)
    loner = video("22", "loner", START, lambda a: curve(5_000, 36, a) + other(a))
    flags = flag_videos([*honest, *pair, loner])
    assert [codes(flags, v.video_id) for v in (*pair, loner)] == [("view_spike",)] * 3


def test_flag_videos_one_long_boosting_spell_does_not_tie_others_into_a_group(honest):
    # @spell bursts every 18 h for a week: one long occasion. It meets each of @b and @c twice
    # within it, but that is one occasion on its side, so only @b and @c are linked: no group.
    spell = [block(d * HOUR, 4_000) for d in range(14 * 24, 21 * 24, 18)]
    both = [block(15 * DAY, 8_000), block(19 * DAY, 8_000)]
    accounts = [
        video("60", "spell", START, lambda a: curve(9_000, 36, a) + sum(b(a) for b in spell)),
        video("61", "b", START, lambda a: curve(5_000, 36, a) + sum(b(a) for b in both)),
        video("62", "c", START, lambda a: curve(6_000, 36, a) + sum(b(a) for b in both)),
    ]
    flags = flag_videos([*honest, *accounts])
    assert [codes(flags, v.video_id) for v in accounts] == [("view_spike",)] * 3


def test_flag_videos_codes_are_the_documented_ones(honest):
    bought = block(9 * DAY, 40_000)
    buyer = video("1", "buyer", START + DAY, lambda a: curve(30_000, 48, a) + bought(a))
    flags = flag_videos([*honest, buyer])
    assert {f.code for fs in flags.values() for f in fs} <= set(FLAG_CODES)


def test_flag_videos_busy_accounts_meeting_by_chance_are_not_a_group(honest):
    # Three accounts buy views every few days; with so many bursts each, a few shared days
    # are what chance gives, so they are not a lockstep group (each is still a view spike).
    busy = []
    for n, every in enumerate((3, 4, 5)):
        days = range(2, 39, every)

        def views(age: int, days: range = days) -> int:
            return curve(4_000, 36, age) + sum(block(d * DAY + HOUR, 3_000)(age) for d in days)

        busy.append(video(str(30 + n), f"busy{n}", START, views))
    flags = flag_videos([*honest, *busy])
    assert [codes(flags, v.video_id) for v in busy] == [("view_spike",)] * 3


def test_flag_videos_one_moment_shared_by_three_accounts_is_not_a_group(honest):
    # A shout-out can lift several videos at once; one shared moment proves nothing, even when
    # its views arrive across two looks of the tracker.
    moment = START + 15 * DAY + 4 * HOUR
    lifted = []
    for n in range(3):
        create = START + (n + 1) * DAY

        def views(age: int, create: int = create) -> int:
            return curve(5_000, 36, age) + block(moment - create, 8_000, over_s=4 * HOUR)(age)

        lifted.append(video(str(40 + n), f"lifted{n}", create, views))
    flags = flag_videos([*honest, *lifted])
    assert [codes(flags, v.video_id) for v in lifted] == [("view_spike",)] * 3


def test_flag_videos_growth_from_a_handful_of_views_is_not_a_spike(honest):
    def views(age: int) -> int:
        return 3 if age < 2 * DAY else 3 + curve(800, 1.5, age - 2 * DAY)

    late_start = video("50", "late_start", START + DAY, views)
    assert codes(flag_videos([*honest, late_start]), "50") == ()


def test_flag_videos_unknown_engagement_counts_are_left_out(honest):
    # The API may omit like, comment and share counts: such videos are left out of the maths.
    unknown = [
        Video(
            meta=Observation(**{**_fields(v.meta), "like_count": None, "share_count": None}),
            times=v.times,
            views=v.views,
        )
        for v in honest[:20]
    ]
    flags = flag_videos(unknown + honest[20:])
    assert [codes(flags, v.video_id) for v in unknown] == [()] * 20


def _fields(obs: Observation) -> dict:
    return {name: getattr(obs, name) for name in Observation.__slots__}
