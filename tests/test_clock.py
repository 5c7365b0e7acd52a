import pytest

from oyren.clock import ScaledClock, VirtualClock, next_utc_midnight, parse_duration, utc_day


def test_virtual_clock_moves_only_when_slept_on():
    clock = VirtualClock(1000)
    assert clock.now() == 1000
    clock.sleep(30)
    clock.sleep(-5)
    assert clock.now() == 1030
    assert clock.slept == 30


def test_virtual_clock_set_never_goes_back():
    clock = VirtualClock(1000)
    clock.set(900)
    clock.set(1500)
    assert clock.now() == 1500


def test_scaled_clock_runs_faster_and_sleeps_shorter():
    real = [0.0]
    slept: list[float] = []
    clock = ScaledClock(1_000_000, 3600, real=lambda: real[0], real_sleep=slept.append)
    real[0] = 2.0
    assert clock.now() == 1_000_000 + 7200
    clock.sleep(7200)
    assert slept == [2.0]


def test_utc_day_and_midnight_follow_utc_not_baku():
    # 2024-04-21T23:59:59+04:00 is 19:59:59 UTC: still the 21st in UTC, reset 4 h later.
    cutoff = 1713729599
    assert utc_day(cutoff) == "2024-04-21"
    assert next_utc_midnight(cutoff) == 1713744000
    assert next_utc_midnight(1713744000) == 1713744000 + 86400


def test_parse_duration_reads_seconds_minutes_hours_and_days():
    assert [parse_duration(t) for t in ("90", "90s", "30m", "2h", "1d", " 2H ")] == [
        90,
        90,
        1800,
        7200,
        86400,
        7200,
    ]
    with pytest.raises(ValueError, match="not a duration like 30m"):
        parse_duration("2 hours")
    with pytest.raises(ValueError):
        parse_duration("0h")
