"""Simulated juries: how many judgments each method needs to find the most creative entry.

Usage: python benchmarks/jury.py [--quick] [--jobs N]
       python benchmarks/jury.py --close [--quick] [--runs R] [--large] [--jobs N]

A world has N entries with a latent creativity θ ~ N(0, 1) and ten planted standouts above the
natural maximum (#1 leads #2 by 0.6, #2…#10 are 0.1 apart). J jurors each see θ_i + τ·u_ij
(taste they do not share, τ = 0.3) plus fresh noise of their own sd σ_j ~ U(0.5, 1.5) each time
they look, and misclick with their own rate U(0, 5 %) (a misclick swaps two places). Jurors take
turns. Every method answers the same worlds (common random numbers) and is measured by:

- P(top-1): how often its pick is the true best; top-10 recall; the Brier score of the
  probability it reports for its pick being the best;
- at equal judgments (one answer: a pair, a batch ordered, or one entry scored) and at equal
  videos watched (each entry on screen counts, except one the juror saw in their previous
  question: Gavel's chained pairs cost one new video per judgment, a side-by-side pair two);
- judgments (and videos) per entry until P(top-1) ≥ 0.9, and the ratio to Gavel.

Methods: Öyrən (this project: coverage, then top-two Thompson sampling; batches of 6 and
pairs); Gavel (Crowd-BT, chained pairs, ε = 0.25, two minimum views); random pairs fitted by
maximum likelihood (Bradley–Terry); repeated Quicksort fitted the same way (Maystre &
Grossglauser, ICML 2017); rubric scores on three weighted criteria with per-juror z-scores.

``--close``: close races, to check that the certainty Öyrən reports is honest. Rounds of 100
entries (a few of 1,000, and with ``--large`` of 5,000) whose best entry is planted 0 (a genuine
tie), 0.15, 0.3 or 0.6 above the natural maximum; five jurors (ten for 1,000, twenty for 5,000)
with taste sd 0.3 per entry, noise sd U(0.5, 1.2) and 3 % misclicks; pairs and batches of six.
Each round runs until its stop rule is met at 0.9 and 0.95 (checked after every refit, as an
organizer watching `oyren jury progress` would) or a budget runs out. Per world it prints the
share of stops on a wrong entry with an exact 95 % interval, the cost at the stop, the claimed
P(best) at the stop against the share truly best, and a calibration curve (claimed vs observed
by decile) over checkpoints at fixed budgets, and there the claims of four variants of the model
(normal tails, no taste, equal jurors, twice the taste) to see where overconfidence comes from.
``--plan 100:30,1000:2`` sets rounds per size, ``--save``/``--load`` keep rounds as they finish
and summarise several runs together. ``--taste 0 --min-jurors 0`` runs the model as it was
before juror taste and the jurors-on-the-top-two rule, for comparison.
"""

from __future__ import annotations

import argparse
import itertools
import os
import pickle
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field

# One BLAS thread per process: the benchmark runs one world per process, and a BLAS that
# spreads small matrices over busy cores runs thirty times slower.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402
import scipy.stats  # type: ignore[import-untyped]  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src"))

from gavel_crowd_bt import Gavel, self_check  # noqa: E402
from rubric import Criterion, Score, rank_rubric  # noqa: E402

from oyren.inputs.judgments import Judgment  # noqa: E402
from oyren.jury.model import TASTE_SD, Fit, fit, p_best  # noqa: E402
from oyren.jury.rounds import MIN_JURORS, Tally, choose_entries, progress  # noqa: E402

GRID = (0.5, 1, 1.5, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64)  # budgets per entry
PLANTED = (1.6, 1.0, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2)  # above the natural maximum
TASTE = 0.3
TARGET = 0.9
EVAL_SAMPLES = 1000
CRITERIA = (Criterion("idea", 0.5), Criterion("clarity", 0.3), Criterion("craft", 0.2))


@dataclass
class World:
    """Latent creativity, and the jurors who perceive it."""

    theta: np.ndarray
    sigma: np.ndarray
    taste: np.ndarray  # jurors × entries
    misclick: np.ndarray
    lenient: np.ndarray  # rubric offset per juror
    stretch: np.ndarray  # rubric scale per juror
    rng: np.random.Generator

    @classmethod
    def make(
        cls,
        n: int,
        jurors: int,
        seed: int,
        *,
        planted: tuple[float, ...] = PLANTED,
        noise: tuple[float, float] = (0.5, 1.5),
        misclick: tuple[float, float] = (0.0, 0.05),
    ) -> World:
        rng = np.random.default_rng(seed)
        theta = rng.standard_normal(n)
        top = rng.choice(n, len(planted), replace=False)
        others = np.setdiff1d(np.arange(n), top)
        theta[top] = theta[others].max() + np.array(planted)
        return cls(
            theta=theta,
            sigma=rng.uniform(*noise, jurors),
            taste=TASTE * rng.standard_normal((jurors, n)),
            misclick=rng.uniform(*misclick, jurors),
            lenient=rng.uniform(-1.0, 1.0, jurors),
            stretch=rng.uniform(0.8, 1.6, jurors),
            rng=np.random.default_rng(seed + 1),
        )

    def order(self, juror: int, items: list[int]) -> list[int]:
        """The juror's ranking of ``items``, best first."""
        seen = self.theta[items] + self.taste[juror, items]
        seen = seen + self.sigma[juror] * self.rng.standard_normal(len(items))
        ranked = [items[i] for i in np.argsort(-seen, kind="stable")]
        if self.rng.random() < self.misclick[juror]:
            a, b = self.rng.choice(len(ranked), 2, replace=False)
            ranked[a], ranked[b] = ranked[b], ranked[a]
        return ranked

    def scores(self, juror: int, item: int) -> list[float]:
        """The juror's rubric scores (1–10) of ``item`` on each criterion."""
        out = []
        for _ in CRITERIA:
            seen = self.theta[item] + self.taste[juror, item]
            seen += self.sigma[juror] * self.rng.standard_normal()
            raw = 5.5 + self.lenient[juror] + self.stretch[juror] * seen
            out.append(float(np.clip(np.round(raw), 1, 10)))
        return out

    @property
    def best(self) -> int:
        return int(np.argmax(self.theta))

    def is_best(self, entry: int) -> bool:
        """Whether ``entry`` is a true best (in a genuine tie, either of the tied entries)."""
        return bool(self.theta[entry] >= self.theta.max())

    @property
    def top10(self) -> set[int]:
        return {int(i) for i in np.argsort(-self.theta)[:10]}


@dataclass
class Estimate:
    top1: int
    top10: list[int]
    p_top1: float


@dataclass
class Trace:
    """What a method knew at each budget, on both axes."""

    method: str
    n: int
    rep: int
    by_judgments: dict[float, tuple[bool, float, float]] = field(default_factory=dict)
    by_views: dict[float, tuple[bool, float, float]] = field(default_factory=dict)
    stop: tuple[float, float, bool] | None = None  # judgments/N, views/N, correct at stop
    seconds: float = 0.0


class Method:
    """A judging method: asks a juror a question, then estimates the best."""

    name = ""

    def __init__(self, world: World, n: int, jurors: int, seed: int) -> None:
        self.world, self.n, self.jurors = world, n, jurors
        self.rng = np.random.default_rng(seed)

    def ask(self, juror: int) -> list[int]:
        """Entries shown to the juror for one judgment (the juror answers in ``answer``)."""
        raise NotImplementedError

    def answer(self, juror: int, items: list[int]) -> None:
        raise NotImplementedError

    def estimate(self) -> Estimate:
        raise NotImplementedError

    def stop_check(self) -> bool | None:
        """For methods with a stop rule: True once it says stop (else False); None if none."""
        return None


def _model_estimate(model: Fit, samples: int = EVAL_SAMPLES) -> Estimate:
    chances = p_best(model, samples=samples)
    top1 = int(np.argmax(chances))
    order = np.argsort(-model.scores, kind="stable")[:10]
    pos = [int(model.entries[i]) for i in order]
    return Estimate(int(model.entries[top1]), pos, float(chances[top1]))


class Oyren(Method):
    """This project: coverage by distinct jurors, then top-two Thompson sampling."""

    def __init__(self, world: World, n: int, jurors: int, seed: int, size: int) -> None:
        super().__init__(world, n, jurors, seed)
        self.size = size
        self.name = f"oyren k={size}" if size > 2 else "oyren pairs"
        self.ids = [str(i) for i in range(n)]
        self.judgments: list[Judgment] = []
        self.seen = np.zeros((jurors, n), dtype=bool)
        self.views = np.zeros(n, dtype=np.int64)  # different jurors who judged each entry
        self.firsts = np.zeros(n, dtype=np.int64)  # times ranked first
        self.bottoms = np.zeros(n, dtype=np.int64)  # times ranked in the bottom half
        self.met = np.zeros(n, dtype=bool)  # appeared with one of self.top
        self.top: frozenset[int] = frozenset()
        self.asked: list[set[frozenset[int]]] = [set() for _ in range(jurors)]
        self.model: Fit | None = None
        self.fitted_at = -1
        self.pool = np.arange(n, dtype=np.int64)
        self.stopped = False

    def _fit(self) -> Fit:
        count = len(self.judgments)
        # Refit after every tenth more answers (at least one per juror): in a live round the
        # store refits in the background while jurors keep answering.
        stale = count - self.fitted_at >= max(self.jurors, count // 10)
        if self.model is None or stale:
            self.model = fit(self.judgments, self.ids, start=self.model)
            self.fitted_at = count
        return self.model

    def _tally(self) -> Tally:
        contested = (self.firsts > 0) & (self.bottoms > 0)
        return Tally(self.views, 2 + contested, self.firsts, self.bottoms)

    def _meetings(self, leaders: np.ndarray) -> np.ndarray:
        # Same as oyren.jury.rounds.met, kept up to date answer by answer instead of recounted.
        if frozenset(leaders.tolist()) != self.top:
            self.top = frozenset(leaders.tolist())
            self.met[:] = False
            for judgment in self.judgments:
                items = [int(e) for e in judgment.entries]
                if not self.top.isdisjoint(items):
                    self.met[items] = True
        return self.met

    def ask(self, juror: int) -> list[int]:
        picked, _ = choose_entries(
            pool=self.pool, tallied=self._tally(), seen=self.seen[juror],
            asked=self.asked[juror], size=self.size, model=self._fit, meetings=self._meetings,
            rng=self.rng,
        )  # fmt: skip
        return picked

    def answer(self, juror: int, items: list[int]) -> None:
        ranked = self.world.order(juror, items)
        self.judgments.append(Judgment.ranking(f"j{juror}", [self.ids[i] for i in ranked]))
        self.views[[i for i in items if not self.seen[juror, i]]] += 1
        self.firsts[ranked[0]] += 1
        self.bottoms[ranked[(len(ranked) + 1) // 2 :]] += 1
        if not self.top.isdisjoint(items):
            self.met[items] = True
        self.seen[juror, items] = True
        self.asked[juror].add(frozenset(items))

    def estimate(self) -> Estimate:
        self.model = fit(self.judgments, self.ids, start=self.model)
        self.fitted_at = len(self.judgments)
        return _model_estimate(self.model)

    def stop_check(self) -> bool:
        if self.stopped or self.fitted_at != len(self.judgments) or self.model is None:
            return self.stopped
        if (self.views >= self._tally().needed).all():
            # The product's stop rule: coverage, P(best), jurors on the top two, evidence.
            status = progress(shortlist=self.ids, judgments=self.judgments, model=self.model,
                              size=self.size)  # fmt: skip
            self.stopped = status.met(TARGET)
        return self.stopped


class GavelMethod(Method):
    name = "gavel"

    def __init__(self, world: World, n: int, jurors: int, seed: int) -> None:
        super().__init__(world, n, jurors, seed)
        self.gavel = Gavel(n, jurors, self.rng)

    def ask(self, juror: int) -> list[int]:
        return list(self.gavel.question(juror))

    def answer(self, juror: int, items: list[int]) -> None:
        winner, loser = self.world.order(juror, items)
        self.gavel.vote(juror, winner, loser)

    def estimate(self) -> Estimate:
        mu, sd = self.gavel.mu, np.sqrt(self.gavel.s2)
        draws = mu + sd * np.random.default_rng(0).standard_normal((EVAL_SAMPLES, self.n))
        chances = np.bincount(np.argmax(draws, axis=1), minlength=self.n) / EVAL_SAMPLES
        top1 = int(np.argmax(mu))
        return Estimate(top1, [int(i) for i in np.argsort(-mu)[:10]], float(chances[top1]))


class Pairs(Method):
    """Judgments fitted by maximum likelihood Bradley–Terry (no juror terms, no misclicks)."""

    def __init__(self, world: World, n: int, jurors: int, seed: int) -> None:
        super().__init__(world, n, jurors, seed)
        self.ids = [str(i) for i in range(n)]
        self.judgments: list[Judgment] = []
        self.model: Fit | None = None

    def answer(self, juror: int, items: list[int]) -> None:
        ranked = self.world.order(juror, items)
        self.judgments.append(Judgment.ranking(f"j{juror}", [self.ids[i] for i in ranked]))
        self.learn(ranked)

    def learn(self, ranked: list[int]) -> None:
        pass

    def estimate(self) -> Estimate:
        # A wide prior (sd 5) only keeps scores finite for entries that never lost or won.
        self.model = fit(
            self.judgments, self.ids, juror_scales=False, misclick=0.0, prior_sd=5.0,
            taste=0.0, start=self.model,
        )  # fmt: skip
        return _model_estimate(self.model)


class RandomPairs(Pairs):
    name = "random pairs + ML"

    def __init__(self, world: World, n: int, jurors: int, seed: int) -> None:
        super().__init__(world, n, jurors, seed)
        self.queue: list[int] = []

    def ask(self, juror: int) -> list[int]:
        # Balanced: each pass pairs a fresh shuffle of all entries.
        if len(self.queue) < 2:
            self.queue = [int(i) for i in self.rng.permutation(self.n)]
        return [self.queue.pop(), self.queue.pop()]


class RepeatedSort(Pairs):
    """Quicksort with noisy answers, over and over; the better side is sorted first."""

    name = "repeated sort + ML"

    def __init__(self, world: World, n: int, jurors: int, seed: int) -> None:
        super().__init__(world, n, jurors, seed)
        self.stack: list[list[int]] = []
        self.partition: tuple[int, list[int], list[int], list[int]] | None = None

    def ask(self, juror: int) -> list[int]:
        while self.partition is None or not self.partition[1]:
            if self.partition is not None:
                pivot, _, better, worse = self.partition
                # Depth first, better side on top, so the top is sorted out first.
                self.stack.append(worse)
                self.stack.append(better)
                self.partition = None
            if not self.stack:
                self.stack.append([int(i) for i in self.rng.permutation(self.n)])
            group = self.stack.pop()
            if len(group) < 2:
                continue
            pivot = group[int(self.rng.integers(len(group)))]
            self.partition = (pivot, [i for i in group if i != pivot], [], [])
        return [self.partition[0], self.partition[1][-1]]

    def learn(self, ranked: list[int]) -> None:
        assert self.partition is not None
        _pivot, rest, better, worse = self.partition
        item = rest.pop()
        (better if ranked[0] == item else worse).append(item)


class Rubric(Method):
    name = "rubric z-scores"

    def __init__(self, world: World, n: int, jurors: int, seed: int) -> None:
        super().__init__(world, n, jurors, seed)
        self.ids = [str(i) for i in range(n)]
        self.scores: list[Score] = []
        self.queue: list[int] = []

    def ask(self, juror: int) -> list[int]:
        if not self.queue:
            self.queue = [int(i) for i in self.rng.permutation(self.n)]
        return [self.queue.pop()]

    def answer(self, juror: int, items: list[int]) -> None:
        for criterion, value in zip(CRITERIA, self.world.scores(juror, items[0]), strict=True):
            self.scores.append(Score(f"j{juror}", self.ids[items[0]], criterion.name, value))

    def estimate(self) -> Estimate:
        ranked = rank_rubric(self.scores, CRITERIA, self.ids, samples=EVAL_SAMPLES)
        by_rating = sorted(ranked, key=lambda s: -s.rating)[:10]
        return Estimate(int(ranked[0].entry), [int(s.entry) for s in by_rating], ranked[0].p_best)


METHODS = ("oyren k=6", "oyren pairs", "gavel", "random pairs + ML", "repeated sort + ML",
           "rubric z-scores")  # fmt: skip


def build(name: str, world: World, n: int, jurors: int, seed: int) -> Method:
    if name.startswith("oyren"):
        return Oyren(world, n, jurors, seed, 2 if name.endswith("pairs") else int(name[-1]))
    kinds: dict[str, type[Method]] = {
        "gavel": GavelMethod,
        "random pairs + ML": RandomPairs,
        "repeated sort + ML": RepeatedSort,
        "rubric z-scores": Rubric,
    }
    return kinds[name](world, n, jurors, seed)


def run(task: tuple[str, int, int, int, float]) -> Trace:
    """Simulate one method on one world until it has spent the budget on either axis."""
    name, n, jurors, rep, top = task
    start = time.process_time()
    world = World.make(n, jurors, seed=1000 * n + rep)
    method = build(name, world, n, jurors, seed=7 + rep)
    trace = Trace(name, n, rep)
    judgments = views = 0
    previous: list[set[int]] = [set() for _ in range(jurors)]
    grid = [g for g in GRID if g <= top]
    next_j = next_v = 0
    turn = 0
    cap = 1.05 * top * n  # a method stops once either axis is past the largest budget
    while (next_j < len(grid) or next_v < len(grid)) and judgments <= cap and views <= cap:
        juror = turn % jurors
        turn += 1
        items = method.ask(juror)
        if trace.stop is None and method.stop_check():
            trace.stop = (judgments / n, views / n, method.estimate().top1 == world.best)
        if not items:
            continue
        # Every entry on screen is a video watched, except one carried over from the juror's
        # previous question (Gavel's chain link: a chained pair costs one new video).
        views += len(items) - (1 if previous[juror] & set(items) else 0)
        previous[juror] = set(items)
        method.answer(juror, items)
        judgments += 1
        due_j = next_j < len(grid) and judgments >= grid[next_j] * n
        due_v = next_v < len(grid) and views >= grid[next_v] * n
        if due_j or due_v:
            est = method.estimate()
            point = (est.top1 == world.best, len(set(est.top10) & world.top10) / 10, est.p_top1)
            while next_j < len(grid) and judgments >= grid[next_j] * n:
                trace.by_judgments[grid[next_j]] = point
                next_j += 1
            while next_v < len(grid) and views >= grid[next_v] * n:
                trace.by_views[grid[next_v]] = point
                next_v += 1
    trace.seconds = time.process_time() - start
    return trace


def to_target(curve: dict[float, float]) -> float | None:
    """Budget per entry at which ``curve`` first reaches TARGET (linear between grid points)."""
    last_x, last_y = 0.0, 0.0
    for x in sorted(curve):
        y = curve[x]
        if y >= TARGET:
            if last_y >= TARGET or x == last_x:
                return x
            return last_x + (x - last_x) * (TARGET - last_y) / (y - last_y)
        last_x, last_y = x, y
    return None


def summarise(
    traces: list[Trace],
    sizes: dict[int, tuple[int, int]],
    top: dict[int, float],
    methods: list[str],
) -> str:
    """The tables: per N, P(top-1) and top-10 recall by budget on both axes; then the summary."""
    out: list[str] = []
    groups: dict[tuple[int, str], list[Trace]] = {}
    for t in traces:
        groups.setdefault((t.n, t.method), []).append(t)

    def curve(ts: list[Trace], axis: str, k: int) -> dict[float, float]:
        result = {}
        for g in GRID:
            points = [getattr(t, axis).get(g) for t in ts]
            if all(p is not None for p in points):
                values = [float(p[k]) if k < 2 else (p[2] - float(p[0])) ** 2 for p in points]
                result[g] = float(np.mean(values))
        return result

    summary = []
    for n, (jurors, reps) in sizes.items():
        grid = [g for g in GRID if g <= top[n]]
        for axis, label in (("by_judgments", "judgments"), ("by_views", "videos watched")):
            for k, what in ((0, "P(top-1)"), (1, "top-10 recall")):
                out.append(
                    f"\nN={n}, {jurors} jurors, {reps} worlds: {what} at equal {label} per entry"
                )
                out.append(f"{'method':<20}" + "".join(f"{g:>6g}" for g in grid))
                for name in methods:
                    ts = groups.get((n, name))
                    if not ts:
                        continue
                    c = curve(ts, axis, k)
                    out.append(
                        f"{name:<20}"
                        + "".join(f"{c[g]:>6.2f}" if g in c else f"{'—':>6}" for g in grid)
                    )
        for name in methods:
            ts = groups.get((n, name))
            if not ts:
                continue
            bj, bv = to_target(curve(ts, "by_judgments", 0)), to_target(curve(ts, "by_views", 0))
            points = [p for t in ts for p in t.by_judgments.values()]
            brier = float(np.mean([(p[2] - float(p[0])) ** 2 for p in points])) if points else None
            said = float(np.mean([p[2] for p in points])) if points else 0.0
            right = float(np.mean([float(p[0]) for p in points])) if points else 0.0
            stops = [t.stop for t in ts if t.stop is not None]
            summary.append((n, name, bj, bv, brier, said, right, stops, len(ts),
                            sum(t.seconds for t in ts)))  # fmt: skip
    out.append(f"\nSummary: judgments and videos per entry until P(top-1) ≥ {TARGET}")
    out.append("(— = not within the budget;")
    out.append(" ×gavel: ratio to Gavel; '<x' when Gavel did not get there within the budget;")
    out.append(" Brier, said, right: over all budgets, the Brier score of the probability a method")
    out.append(" gives its pick, its mean, and how often the pick was right.)")
    out.append(f"{'N':>5} {'method':<20}{'J/N':>7}{'×gavel':>8}{'V/N':>7}{'×gavel':>8}{'Brier':>7}"
               f"{'said':>6}{'right':>6}  stop at P(best) ≥ {TARGET}: J/N, V/N, right, stopped"
               "   cpu s")  # fmt: skip
    gavel = {(n, "j"): bj for n, name, bj, bv, *_ in summary if name == "gavel"}
    gavel |= {(n, "v"): bv for n, name, bj, bv, *_ in summary if name == "gavel"}

    def cell(x: float | None) -> str:
        return f"{x:>7.2f}" if x is not None else f"{'—':>7}"

    def ratio(x: float | None, ref: float | None, budget: float) -> str:
        if x is None:
            return f"{'—':>8}"
        if ref is None:
            return f"{'<' + format(x / budget, '.2f'):>8}"
        return f"{x / ref:>8.2f}"

    for n, name, bj, bv, brier, said, right, stops, runs, secs in summary:
        stop = ""
        if stops:
            stop = (f"  {np.mean([s[0] for s in stops]):.2f}, {np.mean([s[1] for s in stops]):.2f},"
                    f" {np.mean([s[2] for s in stops]):.2f}, {len(stops)}/{runs}")  # fmt: skip
        out.append(f"{n:>5} {name:<20}{cell(bj)}{ratio(bj, gavel.get((n, 'j')), top[n])}"
                   f"{cell(bv)}{ratio(bv, gavel.get((n, 'v')), top[n])}{cell(brier)}"
                   f"{said:>6.2f}{right:>6.2f}"
                   f"{stop:<42}{secs:>7.0f}")  # fmt: skip
    return "\n".join(out)


# --- Close races: is the stop rule's certainty honest? ------------------------------------------

CLOSE_MARGINS = (0.0, 0.15, 0.3, 0.6)  # planted best over the natural maximum (0: a genuine tie)
CLOSE_THRESHOLDS = (0.9, 0.95)
CLOSE_JURORS = {100: 5, 1000: 10, 5000: 20}
CLOSE_CAP = {2: 16.0, 6: 4.0}  # judgments per entry after which a round that never stops ends
CLOSE_GRID = (0.5, 1, 1.5, 2, 3, 4, 6, 8, 12, 16)
STOP_BINS = (0.9, 0.95, 0.99, 1.0001)
DECILES = tuple(i / 10 for i in range(11))


@dataclass
class CloseRun:
    """One round in a close world, run until it stops at every threshold or reaches the cap."""

    n: int
    size: int
    margin: float
    rep: int
    # threshold → (claimed P(best) at the stop, right, judgments/N, videos/N)
    stops: dict[float, tuple[float, bool, float, float]] = field(default_factory=dict)
    checkpoints: list[tuple[float, bool]] = field(default_factory=list)  # claimed, right
    # variant of the model → (claimed, right) at the same checkpoints (see VARIANTS)
    variants: dict[str, list[tuple[float, bool]]] = field(default_factory=dict)
    seconds: float = 0.0


class CloseOyren(Oyren):
    """Öyrən as a live round runs it: the model refitted after every turn of the jurors (every
    tenth more answers later on), the stop rule checked after every refit."""

    taste = TASTE_SD

    def _fit(self) -> Fit:
        count = len(self.judgments)
        if self.model is None or count - self.fitted_at >= max(self.jurors, count // 10):
            self.model = fit(self.judgments, self.ids, start=self.model, taste=self.taste)
            self.fitted_at = count
        return self.model


# Variants of the model read at the same checkpoints, to measure where overconfidence comes
# from: the same fit with normal tails; the fit without juror taste (the old model); with every
# juror's temperature fixed at 1 (no fitted temperatures to be wrong about); with twice the
# taste sd. Up to 1,500 entries the covariance is exact, so no block is involved.
VARIANTS = ("normal tails", "no taste", "equal jurors", "taste ×2")


def _variant_claims(model: Fit, method: CloseOyren, world: World) -> dict[str, tuple[float, bool]]:
    def claim(chances: np.ndarray, m: Fit) -> tuple[float, bool]:
        top = int(np.argmax(chances))
        return float(chances[top]), world.is_best(int(m.entries[top]))

    out = {"normal tails": claim(p_best(model, dof=float("inf")), model)}
    judged, ids = method.judgments, method.ids
    for name, kw in (("no taste", {"taste": 0.0}),
                     ("equal jurors", {"juror_scales": False, "taste": method.taste}),
                     ("taste ×2", {"taste": 2.0 * method.taste})):  # fmt: skip
        other = fit(judged, ids, start=model, **kw)  # type: ignore[arg-type]
        out[name] = claim(p_best(other), other)
    return out


def run_close(task: tuple[int, int, float, int, float, int]) -> CloseRun:
    """Simulate one round of a close world and record every stop and checkpoint."""
    n, size, margin, rep, taste, min_jurors = task
    start = time.process_time()
    jurors = CLOSE_JURORS[n]
    seed = 7_000_000 + 100_000 * round(margin * 100) + 1000 * size + rep + n
    world = World.make(n, jurors, seed, planted=(margin,), noise=(0.5, 1.2), misclick=(0.03, 0.03))
    method = CloseOyren(world, n, jurors, seed + 13, size)
    method.taste = taste
    result = CloseRun(n, size, margin, rep)
    cap = CLOSE_CAP[size] * n * (0.5 if n >= 5000 else 1.0)  # 5,000 entries: half the budget
    grid = list(CLOSE_GRID)
    judgments = views = turn = 0
    previous: list[set[int]] = [set() for _ in range(jurors)]
    checked = -1
    while judgments < cap and len(result.stops) < len(CLOSE_THRESHOLDS):
        juror = turn % jurors
        turn += 1
        items = method.ask(juror)
        model = method.model
        if model is not None and method.fitted_at != checked:
            checked = method.fitted_at
            # The organizer's view, as `oyren jury progress` computes it.
            status = progress(shortlist=method.ids, judgments=method.judgments, model=model,
                              size=size, min_jurors=min_jurors)  # fmt: skip
            claim = status.leader_p_best
            right = world.is_best(int(status.leader or 0))
            while grid and method.fitted_at >= grid[0] * n:
                result.checkpoints.append((claim, right))
                if n <= 1000:
                    for name, value in _variant_claims(model, method, world).items():
                        result.variants.setdefault(name, []).append(value)
                grid.pop(0)
            for t in CLOSE_THRESHOLDS:
                if t not in result.stops and status.met(t):
                    result.stops[t] = (claim, right, judgments / n, views / n)
        if not items:
            continue
        views += len(items) - (1 if previous[juror] & set(items) else 0)
        previous[juror] = set(items)
        method.answer(juror, items)
        judgments += 1
    result.seconds = time.process_time() - start
    return result


def exact_ci(k: int, m: int, level: float = 0.95) -> tuple[float, float]:
    """Clopper–Pearson interval for k successes in m trials (Biometrika 26, 1934): exact, so
    honest with the handful of stops a close world gives (the Wilson interval is not)."""
    if m == 0:
        return 0.0, 1.0
    a = (1.0 - level) / 2.0
    lo = float(scipy.stats.beta.ppf(a, k, m - k + 1)) if k > 0 else 0.0
    hi = float(scipy.stats.beta.ppf(1.0 - a, k + 1, m - k)) if k < m else 1.0
    return lo, hi


def summarise_close(runs: list[CloseRun]) -> str:
    """Per world: the stop rule's wrong-stop rate (exact 95 % interval), cost, calibration."""
    out: list[str] = []
    worlds: dict[tuple[int, int, float], list[CloseRun]] = {}
    for r in runs:
        worlds.setdefault((r.n, r.size, r.margin), []).append(r)
    pooled = {(0, 0, -1.0): runs}  # every world together
    for r in runs:
        pooled.setdefault((r.n, r.size, -1.0), []).append(r)
    out.append("\nClose races: the stop rule at each threshold, per world")
    out.append(" (wrong = stopped on an entry that is not the true best; a genuine tie counts")
    out.append("  either tied entry as best; rate = wrong / stopped with its exact 95 % CI;")
    out.append("  per round = wrong / runs, the chance that a round ever stops wrongly; J/N, V/N =")
    out.append("  judgments and videos per entry at the stop; 'ok' when the CI allows ≤ 1 − t;")
    out.append("  margin 'all': the worlds of that size and question pooled)")
    out.append(f"{'N':>5} {'ask':<6}{'margin':>7}{'runs':>6}{'t':>6}{'stopped':>9}{'wrong':>7}"
               f"{'rate':>7}{'95% CI':>15}{'per round':>11}{'claimed':>9}{'J/N':>7}{'V/N':>7}"
               "  ok")  # fmt: skip
    verdicts = []

    def ask_of(size: int) -> str:
        return "all" if size == 0 else "pairs" if size == 2 else f"k={size}"

    for key, rs in [*sorted(worlds.items()), *sorted(pooled.items())]:
        n, size, margin = key
        for t in CLOSE_THRESHOLDS:
            stops = [r.stops[t] for r in rs if t in r.stops]
            wrong = sum(1 for s in stops if not s[1])
            lo, hi = exact_ci(wrong, len(stops))
            rate = wrong / len(stops) if stops else 0.0
            ok = lo <= 1 - t
            if margin >= 0:
                verdicts.append(ok)
            claimed = np.mean([s[0] for s in stops]) if stops else float("nan")
            cost_j = np.mean([s[2] for s in stops]) if stops else float("nan")
            cost_v = np.mean([s[3] for s in stops]) if stops else float("nan")
            label = "all" if margin < 0 else f"{margin:.2f}"
            size_n = "all" if n == 0 else f"{n}"
            out.append(f"{size_n:>5} {ask_of(size):<6}{label:>7}{len(rs):>6}{t:>6.2f}"
                       f"{len(stops):>9}{wrong:>7}{rate:>7.2f}   [{lo:.2f}, {hi:.2f}]"
                       f"{wrong / len(rs):>11.3f}{claimed:>9.3f}{cost_j:>7.2f}{cost_v:>7.2f}"
                       f"  {'yes' if ok else 'NO'}")  # fmt: skip
    out.append("\nCalibration at the stop: among rounds whose stop claimed P(best) ≥ p (each")
    out.append(" round's first such stop), right / claims, the mean claim and the exact 95 % CI")
    out.append(" of the share truly best; 'ok' when the interval reaches p")
    out.append(f"{'N':>5} {'ask':<6}{'margin':>7}" + "".join(
        f"{f'p = {p}':>34}" for p in CLOSE_THRESHOLDS))  # fmt: skip
    for key, rs in [*sorted(worlds.items()), *sorted(pooled.items())]:
        n, size, margin = key
        cells = []
        for p in CLOSE_THRESHOLDS:
            first = [next((r.stops[t] for t in CLOSE_THRESHOLDS
                           if t in r.stops and r.stops[t][0] >= p), None) for r in rs]  # fmt: skip
            claims = [c for c in first if c is not None]
            right = sum(1 for c in claims if c[1])
            lo, hi = exact_ci(right, len(claims))
            ok = hi >= p
            if margin >= 0:
                verdicts.append(ok)
            said = np.mean([c[0] for c in claims]) if claims else float("nan")
            cells.append(f"{right:>3}/{len(claims):<3} {said:.3f} [{lo:.2f}, {hi:.2f}] "
                         f"{'yes' if ok else 'NO':>3}")  # fmt: skip
        label = "all" if margin < 0 else f"{margin:.2f}"
        size_n = "all" if n == 0 else f"{n}"
        out.append(f"{size_n:>5} {ask_of(size):<6}{label:>7}" + "".join(f"{c:>34}" for c in cells))
    out.append(
        "\nCalibration curve over every checkpoint (budgets "
        + ", ".join(f"{g:g}" for g in CLOSE_GRID)
        + " per entry): by decile of the"
    )
    out.append("leader's claimed P(best), the mean claim, the share truly best, and the count")
    by_margin: dict[float, list[tuple[float, bool]]] = {}
    for r in runs:
        by_margin.setdefault(r.margin, []).extend(r.checkpoints)
    by_margin[-1.0] = [c for r in runs for c in r.checkpoints]
    out.append(f"{'margin':>7}" + "".join(f"{f'{a:.1f}–{b:.1f}':>16}"
                                         for a, b in itertools.pairwise(DECILES)))  # fmt: skip
    for margin, points in sorted(by_margin.items()):
        cells = []
        for a, b in itertools.pairwise(DECILES):
            inside = [c for c in points if a <= c[0] < b or (b == 1.0 and c[0] == 1.0)]
            if inside:
                cells.append(f"{np.mean([c[0] for c in inside]):.2f}/"
                             f"{np.mean([c[1] for c in inside]):.2f} ({len(inside)})")  # fmt: skip
            else:
                cells.append("—")
        label = "all" if margin < 0 else f"{margin:.2f}"
        out.append(f"{label:>7}" + "".join(f"{c:>16}" for c in cells))
    variants = [v for v in VARIANTS if any(v in r.variants for r in runs)]
    if variants:
        out.append("\nWhere the overconfidence comes from: at the same checkpoints (N ≤ 1,000),")
        out.append("the leader's claim when it is ≥ 0.8, mean claim → share truly best (count),")
        out.append("per model")
        out.append(f"{'model':<15}" + "".join(f"{f'margin {m:g}':>20}" for m in sorted(by_margin)
                                              if m >= 0) + f"{'all':>20}")  # fmt: skip
        for sizes, title in (((2, 6), "pairs and batches"), ((2,), "pairs"), ((6,), "k=6")):
            out.append(f"  {title}:")
            for name in ("as shipped", *variants):
                cells = []
                for margin in [m for m in sorted(by_margin) if m >= 0] + [-1.0]:
                    points = [c for r in runs if r.n <= 1000 and r.size in sizes
                              and (margin < 0 or r.margin == margin)
                              for c in (r.checkpoints if name == "as shipped"
                                        else r.variants.get(name, []))]  # fmt: skip
                    high = [c for c in points if c[0] >= 0.8]
                    if high:
                        said = np.mean([c[0] for c in high])
                        seen = np.mean([c[1] for c in high])
                        cells.append(f"{said:.2f} → {seen:.2f} ({len(high)})")
                    else:
                        cells.append("—")
                out.append(f"{name:<15}" + "".join(f"{c:>20}" for c in cells))
    held = sum(verdicts)
    out.append(f"\nrows meeting the rule (wrong stops, then claims at the stop): {held} of "
               f"{len(verdicts)}")  # fmt: skip
    out.append(f"cpu s: {sum(r.seconds for r in runs):.0f}")
    return "\n".join(out)


def main_close(args: argparse.Namespace) -> None:
    if args.load:
        saved: list[CloseRun] = []
        for path in args.load.split(","):
            with open(path, "rb") as f:
                saved += pickle.load(f)
        print(summarise_close(saved))
        return
    if args.plan:
        plan = {int(a): int(b) for a, b in (part.split(":") for part in args.plan.split(","))}
    elif args.quick:
        plan = {100: args.runs or 10}
    else:
        plan = {100: args.runs or 40, 1000: max(2, (args.runs or 40) // 8)}
        if args.large:
            plan[5000] = max(1, (args.runs or 40) // 20)
    sizes = [int(k) for k in args.sizes.split(",")]
    margins = [float(m) for m in args.margins.split(",")]
    tasks = [(n, size, margin, rep, args.taste, args.min_jurors) for n, reps in plan.items()
             for size in sizes for margin in margins
             for rep in range(args.first_rep, args.first_rep + reps)
             if size > 2 or n <= args.pairs_upto]  # fmt: skip
    # Smallest first, so that a run cut short still has whole rows of the small worlds.
    tasks.sort(key=lambda t: (t[0], t[1], t[2]))
    start = time.perf_counter()
    runs: list[CloseRun] = []
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        for done in as_completed([pool.submit(run_close, task) for task in tasks]):
            run_ = done.result()
            runs.append(run_)
            print(f"[{len(runs)}/{len(tasks)}] N={run_.n} k={run_.size} margin={run_.margin} "
                  f"rep={run_.rep}: {run_.seconds:.0f} cpu s, {time.perf_counter() - start:.0f} s",
                  file=sys.stderr, flush=True)  # fmt: skip
            if args.save:
                with open(args.save, "wb") as f:
                    pickle.dump(runs, f)
    print(summarise_close(runs))
    print(f"\nwall time {time.perf_counter() - start:.0f} s on {args.jobs} processes")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke run: about a minute")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--worlds", type=float, default=1.0, help="multiply the worlds per N")
    parser.add_argument("--close", action="store_true", help="close races: honest certainty")
    parser.add_argument("--runs", type=int, default=0, help="close races: rounds per world")
    parser.add_argument("--sizes", default="6,2", help="close races: question sizes")
    parser.add_argument("--large", action="store_true", help="close races: also 5,000 entries")
    parser.add_argument("--n", default="", help="only these shortlist sizes, e.g. 200")
    parser.add_argument("--plan", default="", help="close races: rounds per N, e.g. 100:60,1000:8")
    parser.add_argument("--pairs-upto", type=int, default=1000,
                        help="close races: pairs only up to this many entries")  # fmt: skip
    parser.add_argument("--first-rep", type=int, default=0,
                        help="close races: number rounds from here")  # fmt: skip
    parser.add_argument("--save", default="", help="close races: pickle the rounds here")
    parser.add_argument(
        "--load", default="", help="close races: summarise saved rounds (files, comma-separated)"
    )
    parser.add_argument("--margins", default=",".join(map(str, CLOSE_MARGINS)))
    parser.add_argument(
        "--taste",
        type=float,
        default=TASTE_SD,
        help="close races: the model's juror taste sd (0: the old model)",
    )
    parser.add_argument(
        "--min-jurors",
        type=int,
        default=MIN_JURORS,
        help="close races: jurors on the top two before stopping (0: off)",
    )
    args = parser.parse_args()
    if args.close:
        main_close(args)
        return
    self_check()
    print("Crowd-BT re-implementation matches the published reference values.")
    if args.quick:
        sizes = {200: (5, 20)}
        top = {200: 16.0}
    else:
        sizes = {200: (5, 30), 1000: (10, 10), 5000: (20, 6)}
        top = {200: 64.0, 1000: 12.0, 5000: 6.0}
    sizes = {n: (j, max(1, round(w * args.worlds))) for n, (j, w) in sizes.items()
             if not args.n or str(n) in args.n.split(",")}  # fmt: skip
    methods = [m for m in args.methods.split(",") if m]
    tasks = [(m, n, j, rep, top[n]) for n, (j, reps) in sizes.items() for rep in range(reps)
             for m in methods]  # fmt: skip
    tasks.sort(key=lambda t: -t[1])  # biggest first, so the pool ends evenly
    start = time.perf_counter()
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        traces = list(pool.map(run, tasks, chunksize=1))
    print(summarise(traces, sizes, top, methods))
    print(f"\nwall time {time.perf_counter() - start:.0f} s on {args.jobs} processes")


if __name__ == "__main__":
    main()
