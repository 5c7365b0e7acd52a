"""Tests for the jury's ranking model: known answers, ties, undo, removing a juror."""

from __future__ import annotations

import itertools
import random
from math import log
from statistics import NormalDist

import numpy as np
import pytest

from oyren.inputs.judgments import Judgment, without_judges
from oyren.jury.model import fit, jury_picks, p_best, standings
from oyren.rules.awards import JuryPick, creator_totals, settle
from oyren.rules.results import Entry

IDS = [str(i) for i in range(101, 109)]  # 101 … 108


def beats(judge: str, winner: str, loser: str, times: int = 1) -> list[Judgment]:
    return [Judgment.pair(judge, winner, loser)] * times


def round_robin(order: list[str], jurors: list[str], times: int = 1) -> list[Judgment]:
    """Every juror compares every pair ``times`` times, always agreeing with ``order``."""
    out = []
    for juror in jurors:
        for i, winner in enumerate(order):
            for loser in order[i + 1 :]:
                out += beats(juror, winner, loser, times)
    return out


def test_fit_two_entries_matches_bradley_terry_closed_form() -> None:
    # With a flat prior and no juror or misclick terms, the Bradley–Terry estimate of the
    # difference is the log odds of the observed wins.
    judgments = beats("a", "101", "102", 6) + beats("a", "102", "101", 2)
    model = fit(judgments, ["101", "102"], juror_scales=False, misclick=0.0, prior_sd=1e4)
    gap = model.scores[0] - model.scores[1]
    assert round(gap, 5) == round(log(6 / 2), 5)
    assert model.tie_weight == 0.0


def test_fit_dominant_entry_wins() -> None:
    judgments = []
    for juror in ("aysel", "murad", "leyla"):
        for other in IDS[1:]:
            judgments += beats(juror, "101", other, 2)
    picks = jury_picks(judgments, IDS)
    assert picks[0].video_id == "101"
    # Three jurors, each with a private taste that two answers per entry cannot average out:
    # sure, but not above 0.95.
    assert 0.9 < picks[0].probability < 0.97
    assert round(sum(p.probability for p in picks), 6) == 1.0


def test_one_jurors_taste_cannot_settle_the_prize_however_often_asked() -> None:
    # Juror taste is shared by all their answers about an entry: one juror's 30 to 20 says
    # less than five jurors' 6 to 4 each, and much less than 50 independent answers would.
    ids = ["101", "102"]
    one = beats("aysel", "101", "102", 30) + beats("aysel", "102", "101", 20)
    five = [
        j
        for name in ("a", "b", "c", "d", "e")
        for j in beats(name, "101", "102", 6) + beats(name, "102", "101", 4)
    ]
    alone = p_best(fit(one, ids, juror_scales=False))[0]
    jury = p_best(fit(five, ids, juror_scales=False))[0]
    naive = p_best(fit(one, ids, juror_scales=False, taste=0.0))[0]
    assert 0.5 < alone < jury - 0.05
    assert jury < naive - 0.03


def test_taste_is_integrated_out_exactly_for_small_jurors() -> None:
    # One juror who judged one pair W times: the difference's precision is 2W/(1 + 2Wτ²)·½·…
    # checked against the closed form L (I + τ² L)⁻¹ for a two-entry Laplacian.
    from oyren.jury.model import _with_taste

    r, c, v = np.array([0]), np.array([1]), np.array([3.0])
    info = _with_taste(r, c, v, 2, 0.5).toarray()
    lap = np.array([[3.0, -3.0], [-3.0, 3.0]])
    assert np.allclose(info, lap @ np.linalg.inv(np.eye(2) + 0.25 * lap))
    assert np.allclose(info.sum(axis=1), 0.0)  # still a Laplacian: no information on the level


def test_taste_group_by_group_equals_the_whole_juror_at_once() -> None:
    # Two separate batches of three, a chain of three pairs and an entry nobody compared: the
    # groups are solved apart (two of one size together), the result is the dense formula.
    from oyren.jury.model import _with_taste

    r = np.array([0, 0, 1, 5, 5, 6, 9, 10, 11])
    c = np.array([1, 2, 2, 6, 7, 7, 10, 11, 12])
    v = np.array([0.9, 0.4, 1.3, 0.2, 2.0, 0.7, 1.1, 0.5, 0.8])
    n = 14
    info = _with_taste(r, c, v, n, 0.5).toarray()
    lap = np.zeros((n, n))
    for a, b, w in zip(r, c, v, strict=True):
        lap[[a, b], [b, a]] -= w
        lap[[a, b], [a, b]] += w
    assert np.allclose(info, lap @ np.linalg.inv(np.eye(n) + 0.25 * lap))
    assert not info[3].any() and not info[13].any()  # entries this juror never compared
    assert info[0, 5] == 0.0  # no information couples two groups


def test_taste_in_a_group_too_big_for_exactness_shrinks_each_comparison() -> None:
    # Above ``exact`` entries in one group, each comparison is divided by 1 + τ² times its two
    # entries' information: exact for one pair, more cautious than exact for a chain.
    from oyren.jury.model import _with_taste

    pair = _with_taste(np.array([0]), np.array([1]), np.array([3.0]), 2, 0.5, exact=1)
    assert np.allclose(pair.toarray(), _with_taste(np.array([0]), np.array([1]),
                                                   np.array([3.0]), 2, 0.5).toarray())  # fmt: skip
    r, c, v = np.array([0, 1]), np.array([1, 2]), np.array([2.0, 2.0])
    rough = _with_taste(r, c, v, 3, 0.5, exact=2).toarray()
    exact = _with_taste(r, c, v, 3, 0.5).toarray()
    assert np.allclose(rough.sum(axis=1), 0.0)
    # The precision of the ends' difference is smaller with the shortcut: more cautious.
    d = np.array([1.0, 0.0, -1.0])
    assert 0.0 < d @ rough @ d < d @ exact @ d


def test_fit_transitive_chain_orders_scores() -> None:
    chain = ["104", "102", "107", "101", "108"]
    judgments = []
    for juror in ("aysel", "murad"):
        for winner, loser in itertools.pairwise(chain):
            judgments += beats(juror, winner, loser, 3)
    model = fit(judgments, chain)
    score = dict(zip(model.entries, model.scores.tolist(), strict=True))
    assert sorted(chain, key=lambda e: -score[e]) == chain


def test_fit_batch_ranking_orders_like_its_juror() -> None:
    order = ["105", "101", "108", "103"]
    judgments = [Judgment.ranking(juror, order) for juror in ("aysel", "murad", "leyla")]
    model = fit(judgments, order)
    score = dict(zip(model.entries, model.scores.tolist(), strict=True))
    assert sorted(order, key=lambda e: -score[e]) == order


def test_fit_ranking_restricted_to_the_shortlist_is_its_marginal() -> None:
    # Plackett–Luce marginals are Plackett–Luce: dropping an entry from a ranking is exact.
    with_outsider = [Judgment.ranking("a", ["101", "999", "102", "103"])]
    without = [Judgment.ranking("a", ["101", "102", "103"])]
    shortlist = ["101", "102", "103"]
    assert fit(with_outsider, shortlist).scores.tolist() == fit(without, shortlist).scores.tolist()


def test_fit_ties_pull_scores_together() -> None:
    base = beats("a", "101", "102", 3) + beats("b", "102", "103", 3)
    with_ties = base + [Judgment.tie("c", "101", "102")] * 4
    apart = fit(base, ["101", "102", "103"])
    together = fit(with_ties, ["101", "102", "103"])
    assert together.tie_weight > 0.0
    gap = apart.scores[0] - apart.scores[1]
    assert 0 < together.scores[0] - together.scores[1] < gap


def test_fit_undone_answer_counts_like_never_given() -> None:
    judgments = round_robin(IDS[:5], ["aysel", "murad"])
    misclick = Judgment("aysel", "pair", ("105", "101"), undone=True)
    skip = Judgment.skip("aysel", ["106"])
    undone = fit([*judgments[:3], misclick, *judgments[3:], skip], IDS)
    never = fit(judgments, IDS)
    assert undone.scores.tolist() == never.scores.tolist()
    assert undone.sd.tolist() == never.sd.tolist()


def test_fit_removing_a_juror_is_exactly_never_having_them() -> None:
    good = round_robin(["103", "101", "102", "104"], ["aysel", "murad", "leyla"])
    bad = round_robin(["104", "102", "101", "103"], ["troll"], times=5)
    mixed = [j for pair in zip(good, bad, strict=False) for j in pair] + good[len(bad) :]
    swayed = fit(mixed, ["101", "102", "103", "104"])
    cleaned = fit(without_judges(mixed, {"troll"}), ["101", "102", "103", "104"])
    never = fit(good, ["101", "102", "103", "104"])
    assert cleaned.scores.tolist() == never.scores.tolist()
    assert cleaned.judges == ("aysel", "leyla", "murad")
    assert swayed.scores.tolist() != never.scores.tolist()


def test_fit_does_not_depend_on_the_order_of_answers() -> None:
    judgments = [*round_robin(IDS[:6], ["aysel", "murad"]), Judgment.ranking("leyla", IDS[2:7])]
    shuffled = judgments[:]
    random.Random(3).shuffle(shuffled)
    first, second = fit(judgments, IDS), fit(shuffled, list(reversed(IDS)))
    assert first.scores.tolist() == second.scores.tolist()
    assert first.temperatures.tolist() == second.temperatures.tolist()


def test_fit_gives_a_careless_juror_a_lower_temperature() -> None:
    order = IDS[:6]
    rng = random.Random(7)
    careless = []
    for _ in range(12):
        batch = rng.sample(order, 4)
        careless.append(Judgment.ranking("careless", batch))  # shown order: unrelated to merit
    careful = [Judgment.ranking(j, order) for j in ("aysel", "murad") for _ in range(3)]
    model = fit(careful + careless, order)
    temperature = dict(zip(model.judges, model.temperatures.tolist(), strict=True))
    assert temperature["careless"] < temperature["aysel"]


def test_fit_one_misclick_does_not_topple_a_clear_leader() -> None:
    judgments = round_robin(IDS[:4], ["aysel", "murad", "leyla"], times=2)
    judgments += beats("aysel", "104", "101")
    assert jury_picks(judgments, IDS[:4])[0].video_id == "101"


def test_fit_more_answers_shrink_the_uncertainty() -> None:
    few = fit(round_robin(IDS[:4], ["aysel"]), IDS[:4])
    many = fit(round_robin(IDS[:4], ["aysel", "murad", "leyla", "nigar"]), IDS[:4])
    assert all(many.sd < few.sd)


def test_fit_unjudged_entry_keeps_its_prior() -> None:
    model = fit(beats("a", "101", "102", 2), ["101", "102", "103"])
    assert model.scores[2] == 0.0
    assert round(float(model.sd[2]), 6) == 1.5


def test_p_best_of_two_entries_matches_the_normal_formula() -> None:
    model = fit(beats("a", "101", "102", 3) + beats("b", "102", "101", 1), ["101", "102"])
    cov = model.block_factor @ model.block_factor.T
    var = cov[0, 0] + cov[1, 1] - 2 * cov[0, 1]
    exact = NormalDist().cdf((model.scores[0] - model.scores[1]) / var**0.5)
    # With the jurors' taste spread taken as known (infinite degrees of freedom): the normal.
    estimate = p_best(model, samples=40_000, seed=1, dof=float("inf"))
    assert abs(estimate[0] - exact) < 0.01
    assert estimate[0] + estimate[1] == 1.0
    # Estimated from two jurors, the taste part gets heavy tails: less sure, never more.
    cautious = p_best(model, samples=40_000, seed=1)
    assert 0.5 < cautious[0] < estimate[0]


def test_p_best_of_one_or_no_entries() -> None:
    assert p_best(fit([], ["101"])).tolist() == [1.0]
    assert p_best(fit([], [])).tolist() == []


def test_standings_are_deterministic() -> None:
    judgments = [*round_robin(IDS[:5], ["aysel"]), Judgment.ranking("murad", IDS[3:8])]
    assert standings(fit(judgments, IDS)) == standings(fit(judgments, IDS))


def test_large_round_approximation_agrees_with_exact_covariance(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Above EXACT entries only the plausible leaders keep a joint covariance. What P(best)
    # needs, the spread of the differences between leaders, must stay close to the exact one.
    import oyren.jury.model as judging

    rng = random.Random(5)
    ids = [str(i) for i in range(300)]
    judgments = [Judgment.ranking(f"j{k % 4}", rng.sample(ids, 6)) for k in range(100)]
    judgments += [Judgment.ranking(f"j{k % 4}", rng.sample(ids[:12], 6)) for k in range(30)]
    exact = fit(judgments, ids)
    monkeypatch.setattr(judging, "EXACT", 0)
    monkeypatch.setattr(judging, "BLOCK", 40)
    approx = fit(judgments, ids)
    assert len(approx.block) == 40

    def spread(model: judging.Fit, a: int, b: int) -> float:
        cov = model.block_factor @ model.block_factor.T
        i, j = model.block.tolist().index(a), model.block.tolist().index(b)
        return float(cov[i, i] + cov[j, j] - 2 * cov[i, j]) ** 0.5

    leaders = sorted(approx.block.tolist(), key=lambda i: -exact.scores[i])[:4]
    for a, b in itertools.pairwise(leaders):
        assert abs(spread(approx, a, b) / spread(exact, a, b) - 1) < 0.02
    assert np.max(np.abs(p_best(approx, samples=20_000) - p_best(exact, samples=20_000))) < 0.01


def test_jury_picks_feed_settle_which_skips_a_creator_at_the_limit() -> None:
    judgments = round_robin(["101", "102", "103"], ["aysel", "murad"], times=2)
    picks = jury_picks(judgments, ["101", "102", "103"])
    assert [p.video_id for p in picks] == ["101", "102", "103"]
    ranked = [
        Entry("101", "nigar", 1, True, (), 900, "observed", 1),  # most views: wins best video
        Entry("102", "elvin", 2, True, (), 500, "observed", 1),
        Entry("103", "sabina", 3, True, (), 100, "observed", 1),
    ]
    winners = settle(ranked, creator_totals(ranked), max_prizes_per_creator=1, jury=picks)
    assert winners.best_video is not None and winners.best_video.video_id == "101"
    assert winners.most_creative is not None
    assert winners.most_creative.video_id == "103"  # 101 and 102's creators already hold one
    assert isinstance(picks[0], JuryPick)
