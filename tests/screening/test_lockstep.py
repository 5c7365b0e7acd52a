"""Lockstep groups (accounts boosted at the same moments), as a whole campaign is screened."""

from __future__ import annotations

from oyren.screening.flags import flag_videos
from tests.screening.conftest import DAY, HOUR, START, block, codes, curve, video


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
