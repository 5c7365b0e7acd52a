"""Tests for rubric mode: weighted criteria, per-juror normalisation, ranking with P(best)."""

from __future__ import annotations

import pytest
from rubric import Criterion, Score, rank_rubric, rubric_picks

IDEA = Criterion("idea", 0.7)
CRAFT = Criterion("craft", 0.3)
ENTRIES = ["301", "302", "303", "304"]


def scored(juror: str, values: dict[str, float], criterion: str = "idea") -> list[Score]:
    return [Score(juror, entry, criterion, value) for entry, value in values.items()]


def test_rank_rubric_normalisation_removes_leniency() -> None:
    # The severe juror and the lenient one agree on the order; only their scales differ.
    scores = scored("severe", {"301": 4, "302": 3, "303": 2, "304": 1})
    scores += scored("lenient", {"301": 10, "302": 9.5, "303": 9, "304": 8.5})
    scores += scored("middle", {"301": 7, "302": 6, "303": 5, "304": 4})
    ranked = rank_rubric(scores, [IDEA], ENTRIES)
    assert [s.entry for s in ranked] == ENTRIES
    assert ranked[0].jurors == 3
    assert round(sum(s.p_best for s in ranked), 6) == 1.0


def test_rank_rubric_a_lenient_juror_alone_does_not_win_it() -> None:
    # Raw means would put 304 first (one lenient juror's 10); after normalisation the entry
    # that every juror put on top wins.
    scores = scored("a", {"301": 6, "302": 4, "303": 3})
    scores += scored("b", {"301": 7, "302": 5, "303": 2})
    scores += scored("lenient", {"301": 10, "304": 9.9, "302": 9.8})
    ranked = rank_rubric(scores, [IDEA], ENTRIES)
    assert ranked[0].entry == "301"


def test_rank_rubric_weights_decide_between_strengths() -> None:
    scores = []
    for juror in ("a", "b", "c"):
        scores += scored(juror, {"301": 9, "302": 5, "303": 1}, "idea")
        scores += scored(juror, {"301": 1, "302": 5, "303": 9}, "craft")
    ranked = rank_rubric(scores, [IDEA, CRAFT], ENTRIES[:3])
    assert [s.entry for s in ranked] == ["301", "302", "303"]
    heavier_craft = rank_rubric(
        scores, [Criterion("idea", 0.3), Criterion("craft", 0.7)], ENTRIES[:3]
    )
    assert [s.entry for s in heavier_craft] == ["303", "302", "301"]


def test_rank_rubric_same_score_for_everyone_tells_nothing() -> None:
    scores = scored("flat", {"301": 8, "302": 8, "303": 8, "304": 8})
    scores += scored("a", {"301": 2, "302": 9, "303": 5, "304": 4})
    ranked = rank_rubric(scores, [IDEA], ENTRIES)
    assert ranked[0].entry == "302"


def test_rank_rubric_unrated_entry_sits_in_the_middle() -> None:
    scores = scored("a", {"301": 9, "302": 1}) + scored("b", {"301": 8, "302": 2})
    ranked = {s.entry: s for s in rank_rubric(scores, [IDEA], ["301", "302", "303"])}
    assert ranked["303"].rating == 0.0
    assert ranked["303"].jurors == 0
    assert ranked["302"].rating < 0.0 < ranked["301"].rating


def test_rank_rubric_latest_score_of_a_juror_counts() -> None:
    scores = scored("a", {"301": 9, "302": 1}) + scored("a", {"301": 1, "302": 9})
    scores += scored("b", {"301": 2, "302": 8})
    assert rank_rubric(scores, [IDEA], ["301", "302"])[0].entry == "302"


def test_rank_rubric_rejects_bad_scores() -> None:
    with pytest.raises(ValueError, match="unknown criterion"):
        rank_rubric([Score("a", "301", "humour", 5)], [IDEA], ENTRIES)
    with pytest.raises(ValueError, match="outside 1–10"):
        rank_rubric([Score("a", "301", "idea", 11)], [IDEA], ENTRIES)
    with pytest.raises(ValueError, match="unique"):
        rank_rubric([], [IDEA, Criterion("idea", 0.5)], ENTRIES)
    with pytest.raises(ValueError, match="positive"):
        Criterion("idea", 0.0)


def test_rubric_picks_are_deterministic() -> None:
    scores = scored("a", {"301": 7, "302": 6, "303": 9}) + scored("b", {"301": 8, "302": 3})
    first = rubric_picks(scores, [IDEA], ENTRIES)
    assert first == rubric_picks(scores, [IDEA], ENTRIES)
    assert {p.video_id for p in first} == set(ENTRIES)
