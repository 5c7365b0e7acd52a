"""Gavel's judging method, re-implemented from its published description for the benchmark.

Crowd-BT (Chen, Bennett, Collins-Thompson & Horvitz, "Pairwise ranking aggregation in a
crowdsourced setting", WSDM 2013): each item has a Gaussian belief N(mu, s2) over its
Bradley–Terry score, each judge a Beta(alpha, beta) belief over the chance η that they report
the true order. A vote updates both by the paper's online moment matching; the next item is the
one with the largest expected information gain (KL divergence of the updated beliefs from the
present ones, the judge's weighted by GAMMA) against the judge's previous item.

Gavel (github.com/anishathalye/gavel) chains comparisons: a judge always compares the item just
seen with the one before; the candidates are items the judge has not seen, not being viewed by
another judge, and under MIN_VIEWS views if any are; with probability EPSILON a random
candidate is taken. Its code is AGPL and none of it is copied here.
"""

from __future__ import annotations

import numpy as np
from scipy.special import gammaln, psi

GAMMA = 0.1  # weight of information about the judge relative to the items
KAPPA = 1e-4  # floor of the variance multiplier
MU_PRIOR, SIGMA_SQ_PRIOR = 0.0, 1.0
ALPHA_PRIOR, BETA_PRIOR = 10.0, 1.0
EPSILON = 0.25
MIN_VIEWS = 2


def update(alpha, beta, mu_w, s2_w, mu_l, s2_l):  # type: ignore[no-untyped-def]
    """One vote "winner beats loser" by a judge: new (alpha, beta, mu_w, s2_w, mu_l, s2_l).

    Works elementwise on numpy arrays (the benchmark scores many candidates at once).
    """
    ew, el = np.exp(mu_w), np.exp(mu_l)
    # Items: a gradient step on the expected log-likelihood of the judge-noisy vote.
    judged = alpha * ew / (alpha * ew + beta * el)
    plain = ew / (ew + el)
    new_mu_w = mu_w + s2_w * (judged - plain)
    new_mu_l = mu_l - s2_l * (judged - plain)
    curvature = alpha * ew * beta * el / (alpha * ew + beta * el) ** 2 - ew * el / (ew + el) ** 2
    new_s2_w = s2_w * np.maximum(1.0 + s2_w * curvature, KAPPA)
    new_s2_l = s2_l * np.maximum(1.0 + s2_l * curvature, KAPPA)
    # Judge: match the first two moments of the posterior of η (second-order expansion of
    # E[σ(s_w − s_l)] under the item beliefs).
    c1 = plain + 0.5 * (s2_w + s2_l) * ew * el * (el - ew) / (ew + el) ** 3
    c2 = 1.0 - c1
    c = (c1 * alpha + c2 * beta) / (alpha + beta)
    m1 = (c1 * (alpha + 1) * alpha + c2 * alpha * beta) / (c * (alpha + beta + 1) * (alpha + beta))
    m2 = (c1 * (alpha + 2) * (alpha + 1) * alpha + c2 * (alpha + 1) * alpha * beta) / (
        c * (alpha + beta + 2) * (alpha + beta + 1) * (alpha + beta)
    )
    new_alpha = (m1 - m2) * m1 / (m2 - m1**2)
    new_beta = (m1 - m2) * (1 - m1) / (m2 - m1**2)
    return new_alpha, new_beta, new_mu_w, new_s2_w, new_mu_l, new_s2_l


def outcome_probability(alpha, beta, mu_a, s2_a, mu_b, s2_b):  # type: ignore[no-untyped-def]
    """P(the judge says a beats b) under the present beliefs."""
    ea, eb = np.exp(mu_a), np.exp(mu_b)
    c1 = ea / (ea + eb) + 0.5 * (s2_a + s2_b) * ea * eb * (eb - ea) / (ea + eb) ** 3
    return (c1 * alpha + (1.0 - c1) * beta) / (alpha + beta)


def kl_gaussian(mu_1, s2_1, mu_0, s2_0):  # type: ignore[no-untyped-def]
    """KL(N(mu_1, s2_1) ‖ N(mu_0, s2_0))."""
    return 0.5 * (np.log(s2_0 / s2_1) + (s2_1 + (mu_1 - mu_0) ** 2) / s2_0 - 1.0)


def kl_beta(a1, b1, a0, b0):  # type: ignore[no-untyped-def]
    """KL(Beta(a1, b1) ‖ Beta(a0, b0))."""
    return (
        _betaln(a0, b0) - _betaln(a1, b1)
        + (a1 - a0) * psi(a1) + (b1 - b0) * psi(b1)
        + (a0 - a1 + b0 - b1) * psi(a1 + b1)
    )  # fmt: skip


def _betaln(a, b):  # type: ignore[no-untyped-def]
    # log B(a, b) from log-gammas: a third of scipy's betaln's time, same digits here
    # (a and b stay between about 0.5 and a few hundred).
    return gammaln(a) + gammaln(b) - gammaln(a + b)


def expected_information_gain(alpha, beta, mu_a, s2_a, mu_b, s2_b):  # type: ignore[no-untyped-def]
    """Expected information from asking the judge "a or b?", averaged over both answers."""
    p = outcome_probability(alpha, beta, mu_a, s2_a, mu_b, s2_b)
    gain = []
    for wa, _wb in ((True, False), (False, True)):
        if wa:
            na, nb, ma, va, mb, vb = update(alpha, beta, mu_a, s2_a, mu_b, s2_b)
        else:
            na, nb, mb, vb, ma, va = update(alpha, beta, mu_b, s2_b, mu_a, s2_a)
        gain.append(
            kl_gaussian(ma, va, mu_a, s2_a) + kl_gaussian(mb, vb, mu_b, s2_b)
            + GAMMA * kl_beta(na, nb, alpha, beta)
        )  # fmt: skip
    return p * gain[0] + (1.0 - p) * gain[1]


def self_check() -> None:
    """Compare with the reference values published for Gavel's crowd_bt (see the docs)."""
    a, b, mw, sw, ml, sl = update(10.0, 1.0, 0.0, 1.0, 0.0, 1.0)
    assert abs(mw - 0.409) < 5e-4 and abs(ml + 0.409) < 5e-4, (mw, ml)
    assert abs(sw - 0.833) < 5e-4 and abs(sl - 0.833) < 5e-4, (sw, sl)
    assert abs(a - 10.0) < 0.1 and abs(b - 1.0) < 0.1, (a, b)
    gain = expected_information_gain(10.0, 1.0, 0.0, 1.0, 0.0, 1.0)
    assert abs(gain - 0.183) < 5e-4, gain
    assert expected_information_gain(10.0, 1.0, 0.0, 1.0, 3.0, 1.0) < gain


class Gavel:
    """Gavel's dispatch and Crowd-BT updates over arrays (items 0..n-1, judges 0..j-1)."""

    def __init__(self, n: int, judges: int, rng: np.random.Generator) -> None:
        self.n, self.rng = n, rng
        self.mu = np.full(n, MU_PRIOR)
        self.s2 = np.full(n, SIGMA_SQ_PRIOR)
        self.alpha = np.full(judges, ALPHA_PRIOR)
        self.beta = np.full(judges, BETA_PRIOR)
        self.ignore = np.zeros((judges, n), dtype=bool)
        self.viewed = np.zeros((judges, n), dtype=bool)
        self.views = np.zeros(n, dtype=np.int64)  # judges who have viewed each item
        self.prev = np.full(judges, -1)
        self.next = np.full(judges, -1)

    def _preferred(self, judge: int) -> np.ndarray:
        available = ~self.ignore[judge]
        if not available.any():
            # Gavel would stop here (the judge has seen everything); we let the judge start
            # over so that every method can spend the same budget.
            self.ignore[judge] = False
            if self.prev[judge] >= 0:
                self.ignore[judge, self.prev[judge]] = True
            available = ~self.ignore[judge]
        busy = np.zeros(self.n, dtype=bool)
        others = np.delete(self.next, judge)
        busy[others[others >= 0]] = True
        if (available & ~busy).any():
            available &= ~busy
        less_seen = available & (self.views < MIN_VIEWS)
        return np.flatnonzero(less_seen if less_seen.any() else available)

    def _choose(self, judge: int) -> int:
        items = self._preferred(judge)
        prev = self.prev[judge]
        if prev < 0 or self.rng.random() < EPSILON:
            return int(self.rng.choice(items))
        items = self.rng.permutation(items)  # Gavel shuffles, so ties fall randomly
        # Items with the same belief have the same gain (unseen items all share the prior):
        # compute it once per distinct belief.
        beliefs, where = np.unique(self.mu[items] + 1j * self.s2[items], return_inverse=True)
        gain = expected_information_gain(
            self.alpha[judge], self.beta[judge], self.mu[prev], self.s2[prev],
            beliefs.real, beliefs.imag,
        )  # fmt: skip
        return int(items[int(np.argmax(gain[where]))])

    def _show(self, judge: int, item: int) -> None:
        self.next[judge] = item
        if not self.viewed[judge, item]:
            self.viewed[judge, item] = True
            self.views[item] += 1

    def question(self, judge: int) -> tuple[int, int]:
        """The (previous, next) pair this judge is asked about; starts the judge if new."""
        if self.next[judge] < 0:
            self._show(judge, self._choose(judge))
        if self.prev[judge] < 0:
            self.prev[judge] = self.next[judge]
            self.ignore[judge, self.next[judge]] = True
            self._show(judge, self._choose(judge))
        return int(self.prev[judge]), int(self.next[judge])

    def vote(self, judge: int, winner: int, loser: int) -> None:
        """Record the judge's answer, update beliefs, and move the chain on."""
        a, b, mw, sw, ml, sl = update(
            self.alpha[judge], self.beta[judge],
            self.mu[winner], self.s2[winner], self.mu[loser], self.s2[loser],
        )  # fmt: skip
        self.alpha[judge], self.beta[judge] = a, b
        self.mu[winner], self.s2[winner], self.mu[loser], self.s2[loser] = mw, sw, ml, sl
        current = self.next[judge]
        self.prev[judge] = current
        self.ignore[judge, current] = True
        self._show(judge, self._choose(judge))
