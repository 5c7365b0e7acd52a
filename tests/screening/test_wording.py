"""The wording of evidence: durations, moments, rounded estimates and scores people can read."""

from __future__ import annotations

import pytest

from oyren.screening.wording import about, duration, moment, significant, threshold_score

MIN, HOUR, DAY = 60, 3600, 86400


@pytest.mark.parametrize(
    ("seconds", "said"),
    [
        (0, "1 min"),
        (29, "1 min"),
        (45 * MIN, "45 min"),
        (HOUR, "1 h"),
        (2 * HOUR + 20 * MIN, "2 h"),
        (23 * HOUR, "23 h"),
        (DAY, "1 day"),
        (DAY + 4 * HOUR, "1 day 4 h"),
        (2 * DAY + 5 * HOUR, "2 days 5 h"),
        (DAY + 23 * HOUR + 50 * MIN, "2 days"),
        (3 * DAY + 5 * HOUR, "3 days"),
        (9 * DAY, "9 days"),
    ],
)
def test_duration_is_said_in_the_largest_sensible_unit(seconds, said):
    assert duration(seconds) == said


def test_moment_is_utc_to_the_minute():
    assert moment(1713729599) == "2024-04-21 19:59 UTC"
    assert moment(0) == "1970-01-01 00:00 UTC"


@pytest.mark.parametrize(
    ("x", "rounded"),
    [
        (0, 0),
        (7.6, 8),
        (99.4, 99),
        (100, 100),
        (1234, 1200),
        (98765, 99000),
        (1_049_999, 1_000_000),
    ],
)
def test_about_keeps_two_significant_figures(x, rounded):
    assert about(x) == rounded


def test_threshold_score_is_half_at_the_threshold_and_rises_towards_one():
    assert threshold_score(4.0, 4.0) == 0.5
    assert threshold_score(1.0, 4.0) == 0.5  # below the threshold never scores lower
    assert threshold_score(8.0, 4.0) == 0.75
    assert threshold_score(400.0, 4.0) == 0.995
    scores = [threshold_score(s, 3) for s in (3, 4, 6, 30, 3000)]
    assert scores == sorted(scores)
    assert all(0.5 <= s <= 1.0 for s in scores)


def test_significant_gives_a_python_float_for_a_numpy_scalar():
    import numpy as np
    import orjson

    value = significant(np.float64(889.6))
    assert type(value) is float and value == 890.0
    assert orjson.dumps(value) == b"890.0"
