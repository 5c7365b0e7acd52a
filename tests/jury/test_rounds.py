"""Tests for a jury round: question choice, conflicts, skips, progress and the stop rule."""

from __future__ import annotations

import random

import numpy as np
import pytest

from oyren.inputs.judgments import Judgment
from oyren.jury.model import Fit, fit, jury_picks
from oyren.jury.rounds import (
    Focus,
    Progress,
    Tally,
    avoided_entries,
    choose_entries,
    met,
    next_question,
    progress,
    tally,
)

SHORTLIST = [str(i) for i in range(201, 213)]  # 12 entries
JURORS = ["aysel", "murad", "leyla"]
MERIT = {entry: -i for i, entry in enumerate(SHORTLIST)}  # 201 is the best, 212 the worst


def answer(juror: str, entries: tuple[str, ...]) -> Judgment:
    """A juror who orders by merit."""
    return Judgment.ranking(juror, sorted(entries, key=lambda e: -MERIT[e]))


def play(rounds: int, *, size: int, avoid: dict[str, frozenset[str]] | None = None,
         seed: int = 0) -> list[Judgment]:  # fmt: skip
    """Jurors take turns answering the questions the round asks them."""
    judgments: list[Judgment] = []
    for turn in range(rounds):
        juror = JURORS[turn % len(JURORS)]
        question = next_question(
            shortlist=SHORTLIST, judgments=judgments, juror=juror, size=size,
            avoid=(avoid or {}).get(juror, frozenset()), seed=seed,
        )  # fmt: skip
        assert question is not None
        judgments.append(answer(juror, question.entries))
    return judgments


def test_next_question_starts_with_unseen_entries() -> None:
    question = next_question(shortlist=SHORTLIST, judgments=[], juror="aysel", size=4)
    assert question is not None
    assert question.phase == "coverage"
    assert len(set(question.entries)) == 4
    assert set(question.entries) <= set(SHORTLIST)


def test_next_question_spreads_coverage_across_jurors() -> None:
    judgments = play(3, size=4)  # three jurors, twelve entries: everyone seen once
    seen_by = {
        juror: {e for j in judgments if j.judge == juror for e in j.entries} for juror in JURORS
    }
    assert set.union(*seen_by.values()) == set(SHORTLIST)
    question = next_question(shortlist=SHORTLIST, judgments=judgments, juror="aysel", size=4)
    assert question is not None and question.phase == "coverage"
    assert not set(question.entries) & seen_by["aysel"]  # a second view by another juror


def test_next_question_moves_to_the_leaders_after_coverage() -> None:
    judgments = play(9, size=4)
    jurors_of = {e: {j.judge for j in judgments if e in j.entries} for e in SHORTLIST}
    assert min(len(who) for who in jurors_of.values()) >= 2  # every entry seen by two jurors
    question = next_question(shortlist=SHORTLIST, judgments=judgments, juror="murad", size=2)
    assert question is not None
    assert question.phase == "leaders"


def test_next_question_asks_mostly_about_plausible_winners() -> None:
    judgments = play(21, size=4)
    asked = [e for j in judgments[9:] for e in j.entries]  # after coverage
    top = sum(asked.count(e) for e in SHORTLIST[:3])
    bottom = sum(asked.count(e) for e in SHORTLIST[-6:])
    assert top > 3 * bottom


def test_next_question_keeps_conflicted_entries_away() -> None:
    avoid = {"aysel": frozenset({"201", "205"}), "murad": frozenset({"212"})}
    judgments = play(24, size=3, avoid=avoid)
    for judgment in judgments:
        assert not set(judgment.entries) & avoid.get(judgment.judge, frozenset())


def test_next_question_never_shows_a_skipped_entry_again() -> None:
    judgments = [Judgment.skip("aysel", ["201", "202"])]
    for turn in range(20):
        question = next_question(
            shortlist=SHORTLIST, judgments=judgments, juror="aysel", size=3, seed=turn
        )
        assert question is not None
        assert not {"201", "202"} & set(question.entries)
        judgments.append(answer("aysel", question.entries))


def test_next_question_none_when_nothing_is_left_to_judge() -> None:
    avoid = frozenset(SHORTLIST[1:])
    assert next_question(shortlist=SHORTLIST, judgments=[], juror="aysel", avoid=avoid) is None


def test_next_question_shrinks_the_batch_to_what_is_left() -> None:
    avoid = frozenset(SHORTLIST[3:])
    question = next_question(shortlist=SHORTLIST, judgments=[], juror="aysel", size=6, avoid=avoid)
    assert question is not None
    assert sorted(question.entries) == SHORTLIST[:3]


def test_next_question_does_not_repeat_an_answered_question() -> None:
    judgments = play(12, size=2)
    for juror in JURORS:
        question = next_question(shortlist=SHORTLIST, judgments=judgments, juror=juror, size=2)
        assert question is not None
        answered = {frozenset(j.entries) for j in judgments if j.judge == juror}
        assert frozenset(question.entries) not in answered


def test_next_question_is_deterministic() -> None:
    judgments = play(10, size=3)
    ask = {"shortlist": SHORTLIST, "judgments": judgments, "juror": "leyla", "size": 3}
    assert next_question(**ask) == next_question(**ask)  # type: ignore[arg-type]


def test_next_question_undo_gives_the_question_back() -> None:
    judgments = play(3, size=4)
    undone = Judgment(judgments[-1].judge, "ranking", judgments[-1].entries, undone=True)
    views_after_undo = next_question(
        shortlist=SHORTLIST, judgments=[*judgments[:-1], undone], juror="leyla", size=4, seed=1
    )
    assert views_after_undo is not None
    assert set(views_after_undo.entries) & set(judgments[-1].entries)


def test_next_question_rejects_a_model_of_another_shortlist() -> None:
    model = fit([], SHORTLIST[:5])
    with pytest.raises(ValueError, match="another shortlist"):
        next_question(shortlist=SHORTLIST, judgments=[], juror="aysel", model=model)


def test_next_question_rejects_a_batch_too_large() -> None:
    with pytest.raises(ValueError, match="size"):
        next_question(shortlist=SHORTLIST, judgments=[], juror="aysel", size=9)


def test_avoided_entries_by_creator_and_by_entry() -> None:
    creator_of = {"201": "Nigar", "202": "elvin", "203": "nigar", "204": "sabina"}
    conflicts = {"aysel": ["NIGAR", "204"], "murad": []}
    assert avoided_entries("aysel", creator_of=creator_of, conflicts=conflicts) == {
        "201", "203", "204",
    }  # fmt: skip
    assert avoided_entries("murad", creator_of=creator_of, conflicts=conflicts) == frozenset()
    assert avoided_entries("leyla", creator_of=creator_of, conflicts=conflicts) == frozenset()


def test_progress_before_any_answer() -> None:
    status = progress(shortlist=SHORTLIST, judgments=[], threshold=0.9)
    assert status == Progress(
        answers=0, by_juror=(), entries=12, covered=0, leader=status.leader,
        leader_p_best=status.leader_p_best, threshold=0.9, done=False, to_cover=12,
        to_decide=status.to_decide, runner_up=status.runner_up,
        runner_up_p_best=status.runner_up_p_best, jurors=0, jurors_on_top=0, jurors_needed=1,
        close=False, tiebreak=None,
    )  # fmt: skip
    assert status.leader_p_best < 0.2


def test_progress_stops_once_the_leader_is_clear() -> None:
    judgments = play(36, size=4)
    status = progress(shortlist=SHORTLIST, judgments=judgments, threshold=0.9, size=4)
    assert status.answers == 36
    assert status.by_juror == (("aysel", 12), ("leyla", 12), ("murad", 12))
    assert status.covered == 12
    assert status.leader == "201"
    assert status.done
    assert (status.to_cover, status.to_decide) == (0, 0)


def test_progress_is_not_done_while_an_entry_is_uncovered() -> None:
    judgments = play(36, size=4, avoid={j: frozenset({"212"}) for j in JURORS})
    status = progress(shortlist=SHORTLIST, judgments=judgments, threshold=0.9, size=4)
    assert status.covered == 11
    assert not status.done
    assert status.to_cover == 1  # 212 still needs two jurors: one question of four at least


def test_progress_estimate_shrinks_as_the_leader_pulls_ahead() -> None:
    early = progress(shortlist=SHORTLIST, judgments=play(12, size=4), threshold=0.99, size=4)
    late = progress(shortlist=SHORTLIST, judgments=play(24, size=4), threshold=0.99, size=4)
    assert not early.done
    assert early.to_decide is not None and late.to_decide is not None
    assert early.to_decide > late.to_decide


def test_round_finds_the_best_with_misclicking_jurors() -> None:
    rng = random.Random(11)
    judgments: list[Judgment] = []
    for turn in range(36):
        juror = JURORS[turn % 3]
        question = next_question(shortlist=SHORTLIST, judgments=judgments, juror=juror, size=4)
        assert question is not None
        ranked = answer(juror, question.entries)
        if rng.random() < 0.1:  # a misclick swaps the top two
            ranked = Judgment.ranking(
                juror, [ranked.entries[1], ranked.entries[0], *ranked.entries[2:]]
            )
        judgments.append(ranked)
    status = progress(shortlist=SHORTLIST, judgments=judgments, size=4)
    assert status.leader == "201"


def test_tally_counts_jurors_first_places_and_bottom_halves() -> None:
    judgments = [
        Judgment.ranking("aysel", ["201", "202", "203", "204"]),
        Judgment.ranking("murad", ["203", "201", "204", "202"]),
        Judgment.pair("leyla", "202", "201"),
        Judgment.tie("leyla", "203", "204"),
        Judgment("leyla", "pair", ("204", "203"), undone=True),
    ]
    counts = tally(judgments, SHORTLIST[:4])
    assert counts.views.tolist() == [3, 3, 3, 3]
    assert counts.firsts.tolist() == [1, 1, 1, 0]
    assert counts.bottoms.tolist() == [1, 1, 1, 2]
    assert counts.needed.tolist() == [3, 3, 3, 2]  # first once and bottom once: a third juror


def test_met_marks_entries_answered_together_with_a_leader() -> None:
    judgments = [
        Judgment.ranking("aysel", ["201", "205", "206"]),
        Judgment.pair("murad", "207", "208"),
        Judgment("murad", "pair", ("202", "209"), undone=True),
    ]
    together = met(judgments, SHORTLIST, np.array([0, 1]))  # leaders 201 and 202
    assert [e for e, m in zip(SHORTLIST, together.tolist(), strict=True) if m] == [
        "201", "205", "206",
    ]  # fmt: skip


def buried_round() -> tuple[Fit, Tally]:
    """Leaders 201–203 far ahead; 209 won twice but came last once and scores middling."""
    n = len(SHORTLIST)
    scores = np.array([5.0, 4.8, 4.6] + [0.0] * (n - 3))
    model = Fit(
        entries=tuple(SHORTLIST), scores=scores, sd=np.full(n, 0.2), judges=("aysel",),
        temperatures=np.ones(1), tie_weight=0.0, block=np.zeros(0, dtype=np.int64),
        block_factor=np.zeros((0, 0)), judgments=30,
    )  # fmt: skip
    firsts = np.zeros(n, dtype=np.int64)
    bottoms = np.zeros(n, dtype=np.int64)
    firsts[8], bottoms[8] = 2, 1
    return model, Tally(np.full(n, 3), np.full(n, 2), firsts, bottoms)


@pytest.mark.parametrize("size", [2, 4])
def test_choose_entries_gives_a_buried_entry_a_meeting_with_the_leaders(size: int) -> None:
    model, counts = buried_round()
    picked, phase = choose_entries(
        pool=np.arange(len(SHORTLIST)), tallied=counts, seen=np.ones(len(SHORTLIST), dtype=bool),
        asked=set(), size=size, model=model, rng=np.random.default_rng(0),
        meetings=lambda leaders: np.zeros(len(SHORTLIST), dtype=bool),
    )  # fmt: skip
    assert phase == "leaders"
    assert 8 in picked
    assert 0 in picked  # next to the leader


def test_choose_entries_no_second_meeting_once_met() -> None:
    model, counts = buried_round()
    for seed in range(5):
        picked, _ = choose_entries(
            pool=np.arange(len(SHORTLIST)), tallied=counts,
            seen=np.ones(len(SHORTLIST), dtype=bool), asked=set(), size=4, model=model,
            rng=np.random.default_rng(seed),
            meetings=lambda leaders: np.arange(len(SHORTLIST)) == 8,
        )  # fmt: skip
        assert 8 not in picked


# --- Close races: the stop rule's jurors, the close flag, focus, face-off, tie-break ---------


def _split(a: str, b: str, jurors: list[str], wins: int, losses: int) -> list[Judgment]:
    out = []
    for juror in jurors:
        out += [Judgment.pair(juror, a, b)] * wins + [Judgment.pair(juror, b, a)] * losses
    return out


def _covered(shortlist: list[str]) -> list[Judgment]:
    """Every entry judged by three jurors, 201 and 202 well above the rest."""
    out = []
    for juror in JURORS:
        for low in shortlist[2:]:
            out += [Judgment.pair(juror, "201", low), Judgment.pair(juror, "202", low)]
    return out


def test_progress_needs_several_jurors_on_the_top_two() -> None:
    # One juror alone compared 201 and 202 many times: however sure the model, the stop rule
    # waits until MIN_JURORS different jurors have seen the two side by side.
    shortlist = SHORTLIST[:6]
    judgments = _covered(shortlist) + _split("201", "202", ["aysel"], 40, 0)
    status = progress(shortlist=shortlist, judgments=judgments, threshold=0.9)
    assert status.leader == "201" and status.runner_up == "202"
    assert status.jurors_on_top == 1 and status.jurors_needed == 3
    assert not status.done and not status.met(0.5) and not status.settled
    more = judgments + _split("201", "202", ["murad", "leyla"], 40, 0)
    status = progress(shortlist=shortlist, judgments=more, threshold=0.9)
    assert status.jurors_on_top == 3
    assert status.done and status.settled


def test_progress_says_when_two_entries_stay_close() -> None:
    shortlist = SHORTLIST[:6]
    judgments = _covered(shortlist) + _split("201", "202", JURORS, 3, 3)
    status = progress(shortlist=shortlist, judgments=judgments, threshold=0.9)
    assert {status.leader, status.runner_up} == {"201", "202"}
    assert status.close and not status.done
    assert status.leader_p_best + status.runner_up_p_best >= 0.8
    clear = _covered(shortlist) + _split("201", "202", JURORS, 8, 0)
    assert not progress(shortlist=shortlist, judgments=clear, threshold=0.9).close


def test_focus_more_puts_both_entries_in_every_question_after_coverage() -> None:
    focus = Focus(("205", "209"), "more", 0)
    judgments = play(36, size=4)
    for juror in JURORS:
        question = next_question(shortlist=SHORTLIST, judgments=judgments, juror=juror,
                                 size=4, focus=focus)  # fmt: skip
        assert question is not None
        assert {"205", "209"} <= set(question.entries) and len(question.entries) == 4
        assert question.phase == "focus"
    # Not before coverage: coverage comes first.
    early = next_question(shortlist=SHORTLIST, judgments=[], juror="aysel", size=4, focus=focus)
    assert early is not None and early.phase == "coverage"


def test_faceoff_asks_every_juror_the_pair_once() -> None:
    focus = Focus(("205", "209"), "faceoff", 1000)
    judgments = play(6, size=4)  # coverage not even done: a face-off goes first
    question = next_question(shortlist=SHORTLIST, judgments=judgments, juror="murad", size=4,
                             focus=focus)  # fmt: skip
    assert question is not None and set(question.entries) == {"205", "209"}
    assert question.phase == "faceoff"
    judgments.append(Judgment.pair("murad", "209", "205", at=1001))
    after = next_question(shortlist=SHORTLIST, judgments=judgments, juror="murad", size=4,
                          focus=focus)  # fmt: skip
    assert after is not None and after.phase != "faceoff"
    # An answer on the pair from before the face-off does not count as the face-off.
    old = [Judgment.pair("leyla", "205", "209", at=999)]
    again = next_question(shortlist=SHORTLIST, judgments=old, juror="leyla", size=4, focus=focus)
    assert again is not None and again.phase == "faceoff"
    # A juror kept away from one of the two is not asked.
    kept = next_question(shortlist=SHORTLIST, judgments=[], juror="aysel", size=4, focus=focus,
                         avoid={"205"})  # fmt: skip
    assert kept is not None and kept.phase == "coverage" and "205" not in kept.entries


def test_tiebreak_orders_the_two_and_leaves_the_model_alone() -> None:
    shortlist = SHORTLIST[:6]
    judgments = _covered(shortlist) + _split("201", "202", JURORS, 3, 3)
    before = jury_picks(judgments, shortlist)
    first, second = before[0].video_id, before[1].video_id
    decided = [*judgments, Judgment.tiebreak("organizer", second, first, "a sharper idea")]
    after = jury_picks(decided, shortlist)
    assert [p.video_id for p in after[:2]] == [second, first]
    assert {p.video_id: p.probability for p in after} == {p.video_id: p.probability for p in before}
    status = progress(shortlist=shortlist, judgments=decided)
    assert status.tiebreak == (second, first, "a sharper idea", "organizer")
    # Undone, it no longer counts; the latest in force wins.
    undone = Judgment("organizer", "tiebreak", (second, first), None, True, "oops")
    assert [p.video_id for p in jury_picks([*judgments, undone], shortlist)[:2]] == [first, second]
