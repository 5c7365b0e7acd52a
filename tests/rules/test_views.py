from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from oyren.rules.views import interpolate, views_at, views_at_each

CUT = 1_713_729_599


def test_views_at_observation_at_the_cutoff_is_observed():
    result = views_at([CUT - 10, CUT, CUT + 10], [5, 7, 9], cutoff=CUT, create_time=CUT - 100)
    assert (result.views, result.basis, result.gap_s) == (7, "observed", 0)


def test_views_at_between_two_observations_is_interpolated():
    result = views_at([CUT - 3600, CUT + 3600], [100, 300], cutoff=CUT, create_time=CUT - 7200)
    assert (result.views, result.basis, result.gap_s) == (200, "interpolated", 7200)
    assert (result.before, result.after) == ((CUT - 3600, 100), (CUT + 3600, 300))


def test_views_at_only_before_is_last_before_cutoff():
    result = views_at([CUT - 900, CUT - 100], [40, 50], cutoff=CUT, create_time=CUT - 1000)
    assert (result.views, result.basis, result.gap_s) == (50, "last_before_cutoff", None)


def test_views_at_only_after_is_from_creation():
    result = views_at([CUT + 100], [300], cutoff=CUT, create_time=CUT - 200)
    assert (result.views, result.basis) == (200, "from_creation")


def test_views_at_posted_after_cutoff_had_zero():
    result = views_at([CUT + 500], [300], cutoff=CUT, create_time=CUT + 1)
    assert (result.views, result.basis) == (0, "from_creation")


def test_views_at_rounds_half_up():
    # 1/2 of the way from 0 to 1 view is 0.5, which rounds to 1; 1/4 of 2 views rounds to 1 too.
    assert views_at([CUT - 1, CUT + 1], [0, 1], cutoff=CUT, create_time=0).views == 1
    assert interpolate(0, 0, 4, 2, 1) == 1
    assert interpolate(0, 0, 3, 1, 1) == 0  # 1/3 rounds down


def test_views_at_decreasing_counts_interpolate_downwards():
    result = views_at([CUT - 100, CUT + 100], [1000, 800], cutoff=CUT, create_time=0)
    assert result.views == 900


def test_views_at_empty_series_is_an_error():
    with pytest.raises(ValueError):
        views_at([], [], cutoff=CUT, create_time=0)


def test_interpolate_requires_increasing_times():
    with pytest.raises(ValueError):
        interpolate(10, 1, 10, 2, 10)


series = st.lists(
    st.tuples(st.integers(CUT - 10**6, CUT + 10**6), st.integers(0, 10**12)),
    min_size=1,
    max_size=12,
    unique_by=lambda p: p[0],
).map(sorted)


@given(series, st.integers(CUT - 2 * 10**6, CUT))
def test_views_at_matches_exact_rational_definition(points, create_time):
    times = [t for t, _ in points]
    views = [v for _, v in points]
    result = views_at(times, views, cutoff=CUT, create_time=create_time)
    before = [(t, v) for t, v in points if t <= CUT]
    after = [(t, v) for t, v in points if t > CUT]
    if before and before[-1][0] == CUT:
        expected = Fraction(before[-1][1])
    elif before and after:
        (t0, v0), (t1, v1) = before[-1], after[0]
        expected = v0 + Fraction(v1 - v0) * (CUT - t0) / (t1 - t0)
    elif before:
        expected = Fraction(before[-1][1])
    else:
        t1, v1 = after[0]
        if t1 <= create_time:
            expected = Fraction(v1)
        else:
            expected = Fraction(v1) * (CUT - create_time) / (t1 - create_time)
    assert result.views == (expected + Fraction(1, 2)).__floor__()


@given(series)
def test_views_at_lies_between_the_bracketing_counts(points):
    times = [t for t, _ in points]
    views = [v for _, v in points]
    result = views_at(times, views, cutoff=CUT, create_time=times[0] - 1)
    if result.basis == "interpolated":
        assert result.before is not None and result.after is not None
        low, high = sorted((result.before[1], result.after[1]))
        assert low <= result.views <= high


def test_views_at_each_of_no_series_is_an_error():
    with pytest.raises(ValueError):
        views_at_each([], [], [CUT], create_time=0)


@given(
    series,
    st.lists(st.integers(CUT - 2 * 10**6, CUT + 2 * 10**6), max_size=30).map(sorted),
    st.integers(CUT - 2 * 10**6, CUT + 2 * 10**6),
)
def test_views_at_each_cutoff_are_views_at_it(points, cutoffs, create_time):
    # Cutoffs before, between, on and after the points, repeated, before and after creation.
    times = [t for t, _ in points]
    views = [v for _, v in points]
    cutoffs += [t + d for t in times for d in (-1, 0, 1)]
    cutoffs.sort()
    expected = [views_at(times, views, cutoff=at, create_time=create_time).views for at in cutoffs]
    assert views_at_each(times, views, cutoffs, create_time=create_time) == expected
