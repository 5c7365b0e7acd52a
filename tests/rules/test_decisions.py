"""People's decisions: a moderator's verdict on a video, and the latest one in force."""

import pytest

from oyren.rules.decisions import Decision, latest_decisions


def test_latest_decisions_the_later_one_wins():
    first = Decision("1", "exclude", "spam", "a", 10)
    later = Decision("1", "include", "checked by hand", "b", 20)
    assert latest_decisions([later, first]) == {"1": later}
    assert latest_decisions([first, later]) == {"1": later}


def test_decision_exclusion_needs_a_reason():
    with pytest.raises(ValueError):
        Decision("1", "exclude", " ", "a", 1)


def test_latest_decisions_equal_times_the_later_listed_wins_per_video():
    a = Decision("1", "exclude", "spam", "a", 10)
    b = Decision("1", "include", "", "b", 10)
    other = Decision("2", "exclude", "bought views", "a", 5)
    assert latest_decisions([a, other, b]) == {"1": b, "2": other}
    assert latest_decisions([b, a]) == {"1": a}
    assert latest_decisions([]) == {}


@pytest.mark.parametrize("action", ["ban", "EXCLUDE", "", "include "])
def test_decision_action_must_be_exclude_or_include(action):
    with pytest.raises(ValueError, match="action must be one of"):
        Decision("1", action, "reason", "a", 1)


def test_decision_inclusion_needs_no_reason():
    assert Decision("1", "include", "", "a", 1).reason == ""
