"""The jury's ranking model: scores from pairs, ties and batch rankings, refitted from scratch.

Each entry i has a latent creativity score ``s_i`` with prior N(0, PRIOR_SD²). Juror r answers
with a temperature ``β_r = exp(ρ_r)`` that multiplies every score they compare: a careful
juror's answers weigh more than a hasty one's, learnt from how well they agree with the others.

- A batch ranked best first is Plackett–Luce: P(o_1 ≻ … ≻ o_k) = Π_m exp(β s_{o_m}) /
  Σ_{n≥m} exp(β s_{o_n}) (Luce, *Individual Choice Behavior*, 1959; Plackett, *J. R. Stat. Soc.
  C* 24, 1975). Its marginals are Plackett–Luce again, so a ranking restricted to some entries
  is exact, and a ranking of k carries k − 1 choices (Hunter, *Ann. Statist.* 32, 2004).
- A pair or an "equal" is Davidson's extension of Bradley–Terry (Bradley & Terry, *Biometrika*
  39, 1952; Davidson, *JASA* 65, 1970): with d = β(s_a − s_b), P(a ≻ b) = e^{d/2} / D and
  P(a = b) = ν / D, D = e^{d/2} + e^{−d/2} + ν. Without ties in the data ν = 0: plain
  Bradley–Terry. With ties, log ν is fitted with a N(log 0.5, 1.5²) prior.
- Any answer is, with probability MISCLICK, a uniformly random one: the annotator coin flip of
  Crowd-BT (Chen, Bennett, Collins-Thompson & Horvitz, WSDM 2013), kept fixed so that no single
  answer, however surprising, moves a score without bound.

Fitting has three steps, each a posterior mode found by L-BFGS (Byrd, Lu, Nocedal & Zhu, *SIAM
J. Sci. Comput.* 16, 1995): the scores with every β = 1; each juror's ρ = log β given those
scores, with prior N(0, JUROR_SD²), then shifted so that their mean weighted by answers is 0;
the scores again with those temperatures. (A joint mode is degenerate: the scores' prior
rewards shrinking every score while inflating most jurors' β, paid for by a few jurors set to
β ≈ 0. Rating jurors against an equal-weight consensus, once, is the one-step version of
Dawid & Skene's alternation, *Appl. Statist.* 28, 1979.) Each step starts from scratch over
the answers sorted into a canonical order, so the fit is a function of the set of answers:
undoing an answer or removing a juror gives exactly the fit that never had them.

The posterior of the scores is its Laplace approximation, with precision the prior plus the
Fisher information of the answers (a weighted graph Laplacian), inverted exactly up to EXACT
entries. In larger rounds the joint covariance is kept for the BLOCK entries that could
plausibly be best (Schur complement of the rest, each taken as independent given the block),
and marginal variances for the rest from one step of the same Schur complement. The
probability that an entry is the best is the share of posterior draws in which it scores
highest (fixed seed).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from math import lgamma, log

import numpy as np

# SciPy loads its submodules (linalg, optimize, sparse) when first used: every command that
# opens the store imports this module, and only jury rounds need them.
import scipy  # type: ignore[import-untyped]
from numpy.typing import NDArray

from oyren.inputs.judgments import Judgment, tiebreak
from oyren.rules.awards import JuryPick
from oyren.rules.results import id_sort_key

__all__ = [
    "BLOCK",
    "JUROR_SD",
    "MISCLICK",
    "PRIOR_SD",
    "SAMPLES",
    "TASTE_SD",
    "Fit",
    "Standing",
    "fit",
    "jury_picks",
    "p_best",
    "standings",
]

PRIOR_SD = 1.5  # spread of creativity scores, in logits: a 1.5-sd entry beats the median 90 %
JUROR_SD = 0.5  # jurors' temperatures mostly within ×e^{±1} of one another
TASTE_SD = 0.5  # a juror's lasting private taste per entry, in score units (a third of PRIOR_SD)
MISCLICK = 0.03  # share of answers taken to be random clicks (bounds one answer's influence)
TIE_PRIOR = (log(0.5), 1.5)  # ν = 0.5: two equal entries are called "equal" one time in five
EXACT = 1500  # up to this many entries the posterior covariance is inverted exactly
BLOCK = 300  # above it, entries whose scores keep a joint covariance: the plausible leaders
SAMPLES = 4000  # posterior draws for P(best): Monte Carlo sd ≤ 0.008, about 0.005 near 0.9

Floats = NDArray[np.float64]
Ints = NDArray[np.int64]


@dataclass(frozen=True, slots=True, eq=False)
class Fit:
    """A fitted model: each entry's score and posterior spread, each juror's temperature."""

    entries: tuple[str, ...]
    scores: Floats
    sd: Floats
    judges: tuple[str, ...]
    temperatures: Floats
    tie_weight: float
    block: Ints
    block_factor: Floats
    judgments: int
    taste_share: Floats | None = None  # per entry, the share of its variance due to taste

    def index(self) -> dict[str, int]:
        """Map each entry id to its position in ``entries``, ``scores`` and ``sd``."""
        return {entry: i for i, entry in enumerate(self.entries)}

    def draw(self, rng: np.random.Generator, count: int, among: Ints) -> Floats:
        """Draw ``count`` posterior score vectors for the entries at positions ``among``."""
        draws = self.scores[among] + self.sd[among] * rng.standard_normal((count, len(among)))
        if len(self.block):
            where = np.minimum(np.searchsorted(self.block, among), len(self.block) - 1)
            inside = self.block[where] == among
            if inside.any():
                # Correlated draws for the block members asked for: rows of the factor.
                z = rng.standard_normal((count, len(self.block)))
                rows = where[inside]
                draws[:, inside] = self.scores[self.block[rows]] + z @ self.block_factor[rows].T
        return draws

    def contenders(self, places: int, z: float = 4.0) -> Ints:
        """Positions of entries that could rank in the top ``places``: their upper bound
        (score + z sd) reaches the ``places``-th highest lower bound (score − z sd)."""
        n = len(self.entries)
        if n <= places:
            return np.arange(n, dtype=np.int64)
        lower = self.scores - z * self.sd
        bar = np.partition(lower, n - places)[n - places]
        return np.flatnonzero(self.scores + z * self.sd >= bar).astype(np.int64)


@dataclass(frozen=True, slots=True)
class Standing:
    """An entry's place in the jury's order: score, its posterior sd, and P(best)."""

    entry: str
    score: float
    sd: float
    p_best: float


def fit(
    judgments: Sequence[Judgment],
    entry_ids: Collection[str],
    *,
    juror_scales: bool = True,
    misclick: float = MISCLICK,
    prior_sd: float = PRIOR_SD,
    taste: float = TASTE_SD,
    start: Fit | None = None,
) -> Fit:
    """Fit the model to the answers that count (undone answers and skips are left out).

    Entries outside ``entry_ids`` are dropped from each answer, which is exact for rankings
    under Plackett–Luce; an answer left with fewer than two entries is dropped. ``start`` (an
    earlier fit) only speeds the search up: the optimum is the same to solver tolerance.
    """
    entries = tuple(sorted(set(entry_ids), key=id_sort_key))
    data = _Data.build(judgments, entries)
    n, j = len(entries), len(data.judges)
    objective = _Objective(data, n, misclick, prior_sd)
    scores = np.zeros(n)
    rho = np.zeros(j)
    eta = TIE_PRIOR[0] if data.has_ties else None
    if start is not None:
        scores = _carry(start.entries, start.scores, entries)
        if eta is not None and start.tie_weight > 0:
            eta = log(start.tie_weight)
    scores, eta = _fit_scores(objective, scores, rho, eta)
    if juror_scales and j:
        # One step, not a fixed point: iterating lets a juror who is weighted up pull the
        # consensus towards themselves and be weighted up further.
        choices = data.choices(j)
        rho = _fit_temperatures(objective, scores, rho, eta)
        rho -= float(rho @ choices) / float(choices.sum())
        scores, eta = _fit_scores(objective, scores, rho, eta)
    beta = np.exp(rho)
    nu = 0.0 if eta is None else float(np.exp(eta))
    sd, block, factor = _laplace(objective.precision(scores, beta, nu, taste), scores)
    share = np.zeros(n)
    if taste > 0.0 and n:
        # How much of each entry's uncertainty is the jurors' taste rather than their noise:
        # that part's size is estimated from the few jurors there are (see p_best).
        plain, _, _ = _laplace(objective.precision(scores, beta, nu), scores)
        share = np.clip(1.0 - (plain / np.maximum(sd, 1e-12)) ** 2, 0.0, 1.0)
    for array in (scores, sd, beta, block, factor, share):
        array.flags.writeable = False
    return Fit(entries, scores, sd, data.judges, beta, nu, block, factor, data.count, share)


_SOLVER = {"maxiter": 10_000, "maxcor": 20, "ftol": 1e-13, "gtol": 1e-8}


def _fit_scores(
    objective: _Objective, scores: Floats, rho: Floats, eta: float | None
) -> tuple[Floats, float | None]:
    """The posterior mode of the scores (and of log ν) with the temperatures held fixed."""
    n = len(scores)
    if n == 0:
        return scores, eta
    beta = np.exp(rho)
    # Precondition: rescale each score by the square root of its rough curvature, so that an
    # entry in hundreds of comparisons and one in two move at the same pace for the solver.
    scale = np.sqrt(1.0 / objective.prior_sd**2 + 0.25 * objective.data.degree(n))
    x0 = scores * scale if eta is None else np.append(scores * scale, eta)

    def value(y: Floats) -> tuple[float, Floats]:
        s = y[:n] / scale
        f, g_s, _, g_eta = objective(s, beta, None if eta is None else float(y[-1]))
        return f, g_s / scale if eta is None else np.append(g_s / scale, g_eta)

    result = scipy.optimize.minimize(value, x0, jac=True, method="L-BFGS-B", options=_SOLVER)
    y = np.asarray(result.x, dtype=np.float64)
    return y[:n] / scale, None if eta is None else float(y[-1])


def _fit_temperatures(
    objective: _Objective, scores: Floats, rho: Floats, eta: float | None
) -> Floats:
    """Each juror's posterior mode of log temperature with the scores held fixed."""

    def value(r: Floats) -> tuple[float, Floats]:
        f, _, g_rho, _ = objective(scores, np.exp(r), eta)
        return f + 0.5 * float(r @ r) / JUROR_SD**2, g_rho + r / JUROR_SD**2

    result = scipy.optimize.minimize(value, rho, jac=True, method="L-BFGS-B", options=_SOLVER)
    return np.asarray(result.x, dtype=np.float64)


def p_best(
    model: Fit, *, samples: int = SAMPLES, seed: int = 0, dof: float | None = None
) -> Floats:
    """Return, per entry of ``model``, the posterior probability that it is the best.

    The part of each draw's spread that comes from the jurors' taste is scaled, draw by draw,
    by one common factor √(ν/χ²_ν), ν = ``dof`` (by default one fewer than the jurors who
    answered): how far tastes spread is itself known only from those few jurors, and a
    posterior that treats it as known claims too much in close races, where taste is most of
    the uncertainty (an unknown variance estimated from J jurors turns a normal into a
    Student t with J − 1 degrees of freedom; Gosset 1908). Where the jurors' noise dominates
    (few answers), the draws stay nearly normal.
    """
    n = len(model.entries)
    out = np.zeros(n)
    if n == 0:
        return out
    if n == 1:
        out[0] = 1.0
        return out
    rng = np.random.default_rng(seed)
    # Entries 4.5 sd below the surest leader's lower bound cannot win a draw in practice
    # (odds below 1 in 300,000): leave them out of the Monte Carlo.
    floor = float(np.max(model.scores - 4.5 * model.sd))
    contenders = np.flatnonzero(model.scores + 4.5 * model.sd >= floor)
    in_block = np.zeros(n, dtype=bool)
    in_block[model.block] = True
    loose = contenders[~in_block[contenders]]
    columns = np.concatenate([model.block, loose])
    draws = np.empty((samples, len(columns)))
    if len(model.block):
        z = rng.standard_normal((samples, len(model.block)))
        draws[:, : len(model.block)] = model.scores[model.block] + z @ model.block_factor.T
    z = rng.standard_normal((samples, len(loose)))
    draws[:, len(model.block) :] = model.scores[loose] + model.sd[loose] * z
    nu = max(1.0, len(model.judges) - 1.0) if dof is None else dof
    if model.taste_share is not None and np.isfinite(nu):
        inverse = nu / rng.chisquare(nu, samples)  # the taste variance's factor, per draw
        share = model.taste_share[columns]
        scale = np.sqrt(1.0 - share + share * inverse[:, None])
        draws = model.scores[columns] + (draws - model.scores[columns]) * scale
    wins = np.bincount(np.argmax(draws, axis=1), minlength=len(columns))
    out[columns] = wins / samples
    return out


def standings(model: Fit, *, samples: int = SAMPLES, seed: int = 0) -> tuple[Standing, ...]:
    """Return every entry in the jury's order: most likely best first, then by score."""
    chances = p_best(model, samples=samples, seed=seed)
    order = sorted(
        range(len(model.entries)),
        key=lambda i: (-chances[i], -model.scores[i], id_sort_key(model.entries[i])),
    )
    return tuple(
        Standing(model.entries[i], float(model.scores[i]), float(model.sd[i]), float(chances[i]))
        for i in order
    )


def jury_picks(
    judgments: Sequence[Judgment], entry_ids: Collection[str], *, seed: int = 0
) -> list[JuryPick]:
    """Fit the judgments and return ``entry_ids`` in the jury's order for :func:`awards.settle`.

    An organizer's tie-break in ``judgments`` (see :func:`oyren.inputs.judgments.tiebreak`)
    puts its first entry directly ahead of its second when the model had them the other way;
    each keeps the probability the model gives it.
    """
    picks = [JuryPick(s.entry, s.p_best) for s in standings(fit(judgments, entry_ids), seed=seed)]
    decided = tiebreak(judgments)
    if decided is not None:
        place = {p.video_id: k for k, p in enumerate(picks)}
        first, second = decided.entries
        if first in place and second in place and place[first] > place[second]:
            moved = picks.pop(place[first])
            picks.insert(place[second], moved)
    return picks


def _carry(
    names: Sequence[str], values: Floats, into: Sequence[str], default: float = 0.0
) -> Floats:
    known = dict(zip(names, values.tolist(), strict=True))
    return np.array([known.get(name, default) for name in into], dtype=np.float64)


@dataclass(frozen=True, slots=True)
class _Data:
    """Answers as arrays: rankings of three or more (Plackett–Luce) and pairs/ties (Davidson)."""

    judges: tuple[str, ...]
    count: int
    has_ties: bool
    order: Ints  # rankings × longest, best first, -1 pads
    length: Ints
    order_judge: Ints
    first: Ints  # pairs and ties: winner (or either side of a tie)
    second: Ints
    tie: NDArray[np.bool_]
    pair_judge: Ints

    @classmethod
    def build(cls, judgments: Sequence[Judgment], entries: tuple[str, ...]) -> _Data:
        index = {entry: i for i, entry in enumerate(entries)}
        kept: list[tuple[str, str, tuple[int, ...]]] = []
        for judgment in judgments:
            if not judgment.counts:
                continue
            ids = tuple(index[e] for e in judgment.entries if e in index)
            if len(ids) >= 2:
                kept.append((judgment.judge, judgment.kind, ids))
        # Canonical order: the fit then depends on the set of answers, not on their order.
        kept.sort()
        judges = tuple(sorted({judge for judge, _, _ in kept}))
        who = {judge: r for r, judge in enumerate(judges)}
        rankings = [(who[g], ids) for g, kind, ids in kept if kind != "tie" and len(ids) > 2]
        duels = [(who[g], kind == "tie", ids) for g, kind, ids in kept if len(ids) == 2]
        longest = max((len(ids) for _, ids in rankings), default=0)
        order = np.full((len(rankings), longest), -1, dtype=np.int64)
        for row, (_, ids) in enumerate(rankings):
            order[row, : len(ids)] = ids
        return cls(
            judges=judges,
            count=len(kept),
            has_ties=any(tie for _, tie, _ in duels),
            order=order,
            length=np.array([len(ids) for _, ids in rankings], dtype=np.int64),
            order_judge=np.array([r for r, _ in rankings], dtype=np.int64),
            first=np.array([ids[0] for _, _, ids in duels], dtype=np.int64),
            second=np.array([ids[1] for _, _, ids in duels], dtype=np.int64),
            tie=np.array([tie for _, tie, _ in duels], dtype=np.bool_),
            pair_judge=np.array([r for r, _, _ in duels], dtype=np.int64),
        )

    def choices(self, j: int) -> Floats:
        """How many choices each juror made (a ranking of k is k − 1 choices)."""
        per = np.bincount(self.order_judge, self.length - 1.0, minlength=j)
        pairs = np.bincount(self.pair_judge, minlength=j)
        return np.asarray(per + pairs, dtype=np.float64)

    def degree(self, n: int) -> Floats:
        """How many answers each entry appears in (a stand-in for its curvature)."""
        items = np.concatenate([self.order[self.order >= 0], self.first, self.second])
        return np.bincount(items, minlength=n).astype(np.float64)


class _Objective:
    """Negative log posterior of the scores, with gradients in scores, log β and log ν."""

    def __init__(self, data: _Data, n: int, misclick: float, prior_sd: float) -> None:
        self.data, self.n = data, n
        self.misclick, self.prior_sd = misclick, prior_sd
        # Log-probability of each answer under the random-click alternative: 1/k! for a ranking
        # of k, 1/3 for a pair or tie when "equal" is an option, else 1/2.
        self.random_rank = np.array([-lgamma(k + 1) for k in data.length.tolist()])
        self.random_pair = -log(3.0 if data.has_ties else 2.0)
        self.valid = data.order >= 0

    def _mix(self, loglik: Floats, random: Floats | float) -> tuple[float, Floats]:
        """Log-likelihood of the click mixture and each answer's weight as a genuine answer."""
        if self.misclick == 0.0:
            return float(loglik.sum()), np.ones_like(loglik)
        genuine = log(1.0 - self.misclick) + loglik
        total = np.logaddexp(genuine, log(self.misclick) + random)
        return float(total.sum()), np.exp(genuine - total)

    def __call__(
        self, s: Floats, beta: Floats, eta: float | None
    ) -> tuple[float, Floats, Floats, float]:
        """Value; gradients in the scores, in log β (likelihood only) and in log ν."""
        d, n, j = self.data, self.n, len(beta)
        nu = 0.0 if eta is None else float(np.exp(eta))
        value = 0.5 * float(s @ s) / self.prior_sd**2
        g_s = s / self.prior_sd**2
        g_rho = np.zeros(j)
        g_eta = 0.0
        if eta is not None:
            eta0, eta_sd = TIE_PRIOR
            value += 0.5 * (eta - eta0) ** 2 / eta_sd**2
            g_eta = (eta - eta0) / eta_sd**2
        if len(d.order):
            ll, g_x, logits = self._rankings(s, beta)
            mix, w = self._mix(ll, self.random_rank)
            value -= mix
            g = (w[:, None] * g_x) * self.valid
            b = beta[d.order_judge][:, None]
            g_s = g_s - np.bincount(d.order[self.valid], (g * b)[self.valid], minlength=n)
            per = (g * np.where(self.valid, logits, 0.0)).sum(axis=1)
            g_rho -= np.bincount(d.order_judge, per, minlength=j)
        if len(d.first):
            ll, g_d, g_nu, diff = self._duels(s, beta, nu)
            mix, w = self._mix(ll, self.random_pair)
            value -= mix
            gs = w * g_d * beta[d.pair_judge]
            g_s = (
                g_s - np.bincount(d.first, gs, minlength=n) + np.bincount(d.second, gs, minlength=n)
            )
            g_rho -= np.bincount(d.pair_judge, w * g_d * diff, minlength=j)
            g_eta -= float((w * g_nu).sum())
        return value, g_s, g_rho, g_eta

    def _rankings(self, s: Floats, beta: Floats) -> tuple[Floats, Floats, Floats]:
        """Plackett–Luce log-likelihood per ranking, and its gradient in the logits β·s."""
        d = self.data
        logits = beta[d.order_judge][:, None] * s[d.order]
        x = np.where(self.valid, logits, -np.inf)
        k = x.shape[1]
        tail = np.empty_like(x)  # tail[:, m] = log Σ_{n ≥ m} exp(x_n)
        tail[:, -1] = x[:, -1]
        for m in range(k - 2, -1, -1):
            tail[:, m] = np.logaddexp(x[:, m], tail[:, m + 1])
        loglik = np.zeros(len(x))
        grad = np.zeros_like(x)
        for m in range(k - 1):
            stage = m < d.length - 1
            top = np.where(stage, tail[:, m], 0.0)
            loglik += np.where(stage, np.where(stage, x[:, m], 0.0) - top, 0.0)
            p = np.exp(x[:, m:] - top[:, None]) * stage[:, None]
            grad[:, m] += stage
            grad[:, m:] -= p
        return loglik, grad, logits

    def _duels(self, s: Floats, beta: Floats, nu: float) -> tuple[Floats, Floats, Floats, Floats]:
        """Davidson log-likelihood per pair or tie; gradients in d = β(s_a − s_b) and log ν."""
        d = self.data
        diff = beta[d.pair_judge] * (s[d.first] - s[d.second])
        a = np.abs(diff)
        e1, eh = np.exp(-a), np.exp(-0.5 * a)
        rest = 1.0 + e1 + nu * eh  # D = e^{|d|/2} · rest
        log_d = 0.5 * a + np.log(rest)
        slope = np.sign(diff) * (1.0 - e1) / (2.0 * rest)  # ∂ log D / ∂d
        share = nu * eh / rest  # ν / D = ∂ log D / ∂ log ν
        loglik = np.where(d.tie, (log(nu) if nu > 0 else 0.0) - log_d, 0.5 * diff - log_d)
        g_d = np.where(d.tie, -slope, 0.5 - slope)
        g_eta = np.where(d.tie, 1.0 - share, -share)
        return loglik, g_d, g_eta, diff

    def precision(
        self, s: Floats, beta: Floats, nu: float, taste: float = 0.0
    ) -> scipy.sparse.csr_array:
        """Posterior precision of the scores: prior plus the answers' Fisher information.

        With ``taste`` > 0 each juror sees entry i as s_i + t_ri, t_ri ~ N(0, taste²) their own
        lasting taste, shared by all their answers about i. Integrating t out turns juror r's
        information L_r (a graph Laplacian over the entries they judged) into
        L_r (I + taste² L_r)⁻¹: however often one juror is asked about two entries, their
        answers cannot settle the difference beyond their own taste.
        """
        d, n = self.data, self.n
        rows: list[Ints] = []
        cols: list[Ints] = []
        weights: list[Floats] = []
        who: list[Ints] = []
        if len(d.order):
            ll, _, _ = self._rankings(s, beta)
            _, w = self._mix(ll, self.random_rank)
            x = np.where(self.valid, beta[d.order_judge][:, None] * s[d.order], -np.inf)
            k = x.shape[1]
            pair_weight = np.zeros((len(x), k, k))
            for m in range(k - 1):
                stage = m < d.length - 1
                top = np.where(stage, np.logaddexp.reduce(x[:, m:], axis=1), 0.0)
                p = np.zeros_like(x)
                p[:, m:] = np.exp(x[:, m:] - top[:, None]) * stage[:, None]
                pair_weight += p[:, :, None] * p[:, None, :]
            scale = w * beta[d.order_judge] ** 2
            for a in range(k):
                for b in range(a + 1, k):
                    ok = self.valid[:, b]
                    rows.append(d.order[ok, a])
                    cols.append(d.order[ok, b])
                    weights.append((scale * pair_weight[:, a, b])[ok])
                    who.append(d.order_judge[ok])
        if len(d.first):
            ll, _, _, diff = self._duels(s, beta, nu)
            _, w = self._mix(ll, self.random_pair)
            gap = np.abs(diff)
            e1, eh = np.exp(-gap), np.exp(-0.5 * gap)
            curvature = (4 * e1 + nu * eh * (1 + e1)) / (4 * (1 + e1 + nu * eh) ** 2)
            rows.append(d.first)
            cols.append(d.second)
            weights.append(w * beta[d.pair_judge] ** 2 * curvature)
            who.append(d.pair_judge)
        r = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
        c = np.concatenate(cols) if cols else np.zeros(0, dtype=np.int64)
        v = np.concatenate(weights) if weights else np.zeros(0)
        g = np.concatenate(who) if who else np.zeros(0, dtype=np.int64)
        prior = scipy.sparse.diags_array(np.full(n, 1.0 / self.prior_sd**2))
        if taste <= 0.0 or not len(v):
            return (prior + _laplacian(r, c, v, n)).tocsr()
        parts = [scipy.sparse.coo_array(prior)]
        for juror in np.unique(g).tolist():
            mine = g == juror
            parts.append(scipy.sparse.coo_array(_with_taste(r[mine], c[mine], v[mine], n, taste)))
        data = np.concatenate([part.data for part in parts])
        where = (np.concatenate([part.row for part in parts]),
                 np.concatenate([part.col for part in parts]))  # fmt: skip
        return scipy.sparse.coo_array((data, where), shape=(n, n)).tocsr()  # duplicates summed


def _laplacian(r: Ints, c: Ints, v: Floats, n: int) -> scipy.sparse.coo_array:
    """The weighted graph Laplacian of edges (r, c) with weights v over n nodes."""
    degree = np.bincount(r, v, minlength=n) + np.bincount(c, v, minlength=n)
    idx = np.arange(n)
    return scipy.sparse.coo_array(
        (np.concatenate([-v, -v, degree]),
         (np.concatenate([r, c, idx]), np.concatenate([c, r, idx]))),
        shape=(n, n),
    )  # fmt: skip


TASTE_EXACT = 1000  # up to this many entries per connected group, taste is integrated out exactly


def _with_taste(
    r: Ints, c: Ints, v: Floats, n: int, taste: float, exact: int = TASTE_EXACT
) -> scipy.sparse.coo_array:
    """One juror's information about the scores once their own taste is integrated out.

    L (I + τ² L)⁻¹ is block diagonal over the connected groups of entries this juror
    compared (the batches of coverage are mostly separate groups of six), so it is computed
    group by group, groups of one size together: exact, and sparse where L is. A group of
    more than ``exact`` entries is approximated (see below).
    """
    nodes, local = np.unique(np.concatenate([r, c]), return_inverse=True)
    m = len(nodes)
    lr, lc = local[: len(r)], local[len(r) :]
    adjacency = scipy.sparse.coo_array((np.ones(len(lr)), (lr, lc)), shape=(m, m))
    groups, label = scipy.sparse.csgraph.connected_components(adjacency, directed=False)
    order = np.argsort(label, kind="stable")
    sizes = np.bincount(label, minlength=groups)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    place = np.empty(m, dtype=np.int64)  # each entry's place within its group
    place[order] = np.arange(m) - starts[label[order]]
    rows: list[Ints] = []
    cols: list[Ints] = []
    vals: list[Floats] = []
    big: list[Ints] = []
    for size in np.unique(sizes).tolist():
        if size < 2:
            continue  # an entry compared with nothing else by this juror: no information
        these = np.flatnonzero(sizes == size)
        members = order[starts[these][:, None] + np.arange(size)]  # groups × size
        if size > exact:
            big.extend(members)
            continue
        slot = np.full(groups, -1, dtype=np.int64)
        slot[these] = np.arange(len(these))
        e = slot[label[lr]] >= 0
        g, a, b, w = slot[label[lr[e]]], place[lr[e]], place[lc[e]], v[e]
        blocks = np.zeros((len(these), size, size))  # each group's Laplacian
        np.add.at(blocks, (g, a, b), -w)
        np.add.at(blocks, (g, b, a), -w)
        np.add.at(blocks, (g, a, a), w)
        np.add.at(blocks, (g, b, b), w)
        # L (I + τ² L)⁻¹, symmetric because the two factors commute.
        info = np.linalg.solve(np.eye(size) + taste**2 * blocks, blocks)
        info = 0.5 * (info + np.swapaxes(info, 1, 2))
        rows.append(np.repeat(members, size, axis=1).ravel())
        cols.append(np.tile(members, (1, size)).ravel())
        vals.append(np.asarray(info, dtype=np.float64).ravel())
    out = scipy.sparse.coo_array(
        (np.concatenate(vals) if vals else np.zeros(0),
         (nodes[np.concatenate(rows)] if rows else np.zeros(0, dtype=np.int64),
          nodes[np.concatenate(cols)] if cols else np.zeros(0, dtype=np.int64))),
        shape=(n, n),
    )  # fmt: skip
    if not big:
        return out
    # A group of more than ``exact`` entries: shrink each comparison by its two entries'
    # information from this juror, which keeps the Laplacian sparse and is exact for a single
    # pair (and more cautious than exact when a juror's comparisons overlap).
    inside = np.zeros(m, dtype=bool)
    inside[np.concatenate(big)] = True
    keep = inside[lr]
    degree = np.bincount(lr, v, minlength=m) + np.bincount(lc, v, minlength=m)
    shrunk = v[keep] / (1.0 + taste**2 * (degree[lr[keep]] + degree[lc[keep]]))
    return scipy.sparse.coo_array(out + _laplacian(nodes[lr[keep]], nodes[lc[keep]], shrunk, n))


def _laplace(precision: scipy.sparse.csr_array, scores: Floats) -> tuple[Floats, Ints, Floats]:
    """Marginal sds for all entries, and a covariance factor for the plausible leaders."""
    n = len(scores)
    if n == 0:
        return np.zeros(0), np.zeros(0, dtype=np.int64), np.zeros((0, 0))
    if n <= EXACT:
        full = _inverse(precision.toarray())
        sd = np.sqrt(np.diag(full))
        block = _leaders(scores, sd)
        cov = full[np.ix_(block, block)]
    else:
        diagonal = precision.diagonal()
        # One step of the Schur complement: each entry's own precision, less what its
        # neighbours' uncertainty takes away (exact when they are not compared with one
        # another; within a few per cent when answers are sparse, as in a large round).
        off = precision - scipy.sparse.diags_array(diagonal)
        leak = (off * off) @ (1.0 / diagonal)
        sd = 1.0 / np.sqrt(diagonal - leak)
        block = _leaders(scores, sd)
        rest = np.ones(n, dtype=bool)
        rest[block] = False
        coupling = precision[block][:, np.flatnonzero(rest)]
        joint = precision[block][:, block].toarray()
        joint -= (coupling @ scipy.sparse.diags_array(1.0 / diagonal[rest]) @ coupling.T).toarray()
        cov = _inverse(joint)
        sd[block] = np.sqrt(np.diag(cov))
    cov = 0.5 * (cov + cov.T)
    factor = np.asarray(np.linalg.cholesky(cov), dtype=np.float64)
    return np.asarray(sd, dtype=np.float64), block, factor


def _leaders(scores: Floats, sd: Floats) -> Ints:
    """The BLOCK entries with the highest upper bounds, in index order."""
    size = min(len(scores), BLOCK)
    return np.sort(np.argsort(-(scores + 2.0 * sd), kind="stable")[:size]).astype(np.int64)


def _inverse(matrix: Floats) -> Floats:
    """Inverse of a symmetric positive definite matrix, through its Cholesky factor."""
    factor, info = scipy.linalg.lapack.dpotrf(matrix, lower=True)
    if info == 0:
        inverse, info = scipy.linalg.lapack.dpotri(factor, lower=True)
    if info != 0:  # not positive definite to working precision: fall back to LU
        return np.asarray(np.linalg.inv(matrix), dtype=np.float64)
    lower = np.tril(inverse)
    return np.asarray(lower + np.tril(lower, -1).T, dtype=np.float64)
