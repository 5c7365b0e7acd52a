"""Growth flags (view spikes, views that went down), as a whole campaign is screened."""

from __future__ import annotations

from oyren.screening.flags import flag_videos
from tests.screening.conftest import DAY, START, block, codes, curve, video


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


def test_flag_videos_growth_from_a_handful_of_views_is_not_a_spike(honest):
    def views(age: int) -> int:
        return 3 if age < 2 * DAY else 3 + curve(800, 1.5, age - 2 * DAY)

    late_start = video("50", "late_start", START + DAY, views)
    assert codes(flag_videos([*honest, late_start]), "50") == ()
