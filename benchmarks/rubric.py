"""Rubric mode: jurors score entries on weighted criteria; scores are normalised per juror.

For organizers who prefer scores to comparisons. Each juror's scores on a criterion become
z-scores over the entries that juror scored (the normalisation Evalato offers, and the usual
remedy for lenient and severe judges), so a juror's leniency and spread drop out. An entry's
rating from a juror is the weighted mean of its criteria's z-scores.

Entries are then ranked by an empirical-Bayes normal model (Efron & Morris, "Data analysis using
Stein's estimator and its generalizations", *JASA* 70, 1975): an entry's true rating is
N(0, τ²) across entries, each juror's rating of it that plus N(0, σ²) noise; σ² is pooled from
the spread of ratings within entries and τ² from the spread between them (method of moments).
The posterior mean shrinks an entry rated by few jurors towards the middle, and P(best) is the
share of posterior draws in which an entry rates highest (fixed seed). Z-scores assume each
juror scored a fair sample of the shortlist; give jurors random shares, not hand-picked ones.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from oyren.rules.awards import JuryPick
from oyren.rules.results import id_sort_key

__all__ = ["Criterion", "RubricStanding", "Score", "rank_rubric", "rubric_picks"]

SAMPLES = 4000
Floats = NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Criterion:
    """A rubric criterion, its weight, and the range of scores a juror may give."""

    name: str
    weight: float
    low: float = 1.0
    high: float = 10.0

    def __post_init__(self) -> None:
        if not self.weight > 0:
            raise ValueError(f"criterion {self.name!r}: weight must be positive")
        if not self.low < self.high:
            raise ValueError(f"criterion {self.name!r}: low must be below high")


@dataclass(frozen=True, slots=True)
class Score:
    """One juror's score of one entry on one criterion."""

    juror: str
    entry: str
    criterion: str
    value: float


@dataclass(frozen=True, slots=True)
class RubricStanding:
    """An entry's normalised rating, its posterior sd, P(best), and how many jurors rated it."""

    entry: str
    rating: float
    sd: float
    p_best: float
    jurors: int


def rank_rubric(
    scores: Sequence[Score],
    criteria: Sequence[Criterion],
    entry_ids: Collection[str],
    *,
    samples: int = SAMPLES,
    seed: int = 0,
) -> tuple[RubricStanding, ...]:
    """Rank ``entry_ids`` by their normalised weighted scores, most likely best first."""
    weights = {c.name: c for c in criteria}
    if len(weights) != len(criteria):
        raise ValueError("criterion names must be unique")
    entries = tuple(sorted(set(entry_ids), key=id_sort_key))
    index = {entry: i for i, entry in enumerate(entries)}
    for score in scores:
        rule = weights.get(score.criterion)
        if rule is None:
            raise ValueError(f"score for unknown criterion {score.criterion!r}")
        if not rule.low <= score.value <= rule.high:
            raise ValueError(
                f"{score.juror} scored {score.entry} {score.value} on {score.criterion!r},"
                f" outside {rule.low:g}–{rule.high:g}"
            )
    # z-score per (juror, criterion); the latest score of a juror for an entry and criterion
    # counts (a juror may correct a score).
    latest = {(s.juror, s.entry, s.criterion): s.value for s in scores if s.entry in index}
    groups: dict[tuple[str, str], list[tuple[str, float]]] = {}
    for (juror, entry, criterion), value in latest.items():
        groups.setdefault((juror, criterion), []).append((entry, value))
    weighted: dict[tuple[str, str], list[float]] = {}  # (juror, entry) → [Σ w z, Σ w]
    for (juror, criterion), items in sorted(groups.items()):
        values = np.array([v for _, v in items])
        spread = float(values.std())
        # A juror who gave one score, or the same score to everyone, tells us nothing about
        # how entries compare: their z-scores are 0.
        z = (values - values.mean()) / spread if spread > 0 else np.zeros(len(values))
        for (entry, _), value in zip(items, z.tolist(), strict=True):
            acc = weighted.setdefault((juror, entry), [0.0, 0.0])
            acc[0] += weights[criterion].weight * value
            acc[1] += weights[criterion].weight
    n = len(entries)
    ratings: list[list[float]] = [[] for _ in range(n)]
    for (_, entry), (total, weight) in sorted(weighted.items()):
        ratings[index[entry]].append(total / weight)
    mean, sd = _shrink(ratings)
    chances = _p_best(mean, sd, samples, seed)
    order = sorted(range(n), key=lambda i: (-chances[i], -mean[i], id_sort_key(entries[i])))
    return tuple(
        RubricStanding(entries[i], float(mean[i]), float(sd[i]), float(chances[i]), len(ratings[i]))
        for i in order
    )


def rubric_picks(
    scores: Sequence[Score],
    criteria: Sequence[Criterion],
    entry_ids: Collection[str],
    *,
    seed: int = 0,
) -> list[JuryPick]:
    """Rank by rubric and return the order for :func:`awards.settle`."""
    return [
        JuryPick(s.entry, s.p_best) for s in rank_rubric(scores, criteria, entry_ids, seed=seed)
    ]


def _shrink(ratings: list[list[float]]) -> tuple[Floats, Floats]:
    """Posterior mean and sd of each entry's rating under the normal–normal model."""
    counts = np.array([len(r) for r in ratings], dtype=np.float64)
    means = np.array([float(np.mean(r)) if r else 0.0 for r in ratings])
    within = sum(float(((np.array(r) - np.mean(r)) ** 2).sum()) for r in ratings if len(r) > 1)
    dof = float(np.maximum(counts - 1, 0).sum())
    rated = counts > 0
    if dof > 0:
        noise = within / dof
    elif rated.sum() > 1:  # no entry rated twice: take noise and signal as equal
        noise = float(means[rated].var()) / 2
    else:
        noise = 1.0
    noise = max(noise, 1e-6)
    if rated.sum() > 1:
        signal = float(means[rated].var()) - float(np.mean(noise / counts[rated]))
    else:
        signal = noise
    signal = max(signal, 0.05 * noise)  # never shrink everyone to one value
    precision = 1.0 / signal + counts / noise
    mean = np.where(rated, means * counts / noise, 0.0) / precision
    return np.asarray(mean, dtype=np.float64), np.sqrt(1.0 / precision)


def _p_best(mean: Floats, sd: Floats, samples: int, seed: int) -> list[float]:
    n = len(mean)
    if n == 0:
        return []
    if n == 1:
        return [1.0]
    rng = np.random.default_rng(seed)
    floor = float(np.max(mean - 4.5 * sd))
    contenders = np.flatnonzero(mean + 4.5 * sd >= floor)
    draws = mean[contenders] + sd[contenders] * rng.standard_normal((samples, len(contenders)))
    wins = np.bincount(np.argmax(draws, axis=1), minlength=len(contenders))
    out = np.zeros(n)
    out[contenders] = wins / samples
    return [float(x) for x in out]
