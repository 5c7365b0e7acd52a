"""A jury round: which entries to show a juror next, progress, and when to stop.

A round works on whatever shortlist it is given (all eligible entries, or one topic's). Each
question is a pair or a small batch to order, chosen in two phases:

- Coverage: until every entry has been judged by ``min_views`` different jurors, a juror gets
  the least-seen entries they have not seen yet, so no entry's fate rests on one juror's taste.
  When two answers about an entry disagree (it came first once and in the bottom half once),
  a third juror looks at it, as a human jury calls a third reader; if most of its answers put
  it first, it then meets the current leaders once (a repechage). A misclick that buries the
  best entry is caught this way: the model alone would rate it middling and never look again.
- Leaders: afterwards the question is built by top-two Thompson sampling (Russo, "Simple
  Bayesian algorithms for best-arm identification", *Operations Research* 68, 2020; for duels,
  Wu & Liu, "Double Thompson sampling for dueling bandits", NeurIPS 2016): draw scores from the
  model's posterior, take the best of each draw until the batch is full (then the next best of
  the first draw). An entry is asked about in proportion to its chance of being the best, which
  is what the prize needs, and two plausible leaders are put side by side. A juror is not asked
  a question they have already answered while another is possible.

Conflicts of interest and skips keep entries away from a juror for good. The round can stop
when every entry is covered, the leader's probability of being the best reaches the
organizer's threshold t, the leader and the runner-up have met side by side before
MIN_JURORS different jurors (or every juror, in a smaller jury) — one juror's taste cannot
decide the prize however many times they are asked — and the evidence that the leader is
ahead of the runner-up, as a Bayes factor against a dead heat, reaches t/(1 − t): a threshold
that stays honest however often the organizer looks.

When two entries stay close (together nearly all the chance of being best, neither at the
threshold) the progress says so, and the organizer can ask for more questions on those two
(``Focus`` mode "more": every leaders' question holds both), a final face-off (mode "faceoff":
every juror is asked the pair once more), or break the tie with a reason (a ``tiebreak``
judgment, which orders the two without touching the model).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from math import ceil, exp, log
from statistics import NormalDist

import numpy as np
from numpy.typing import NDArray

from oyren.inputs.judgments import Judgment, tiebreak
from oyren.jury.model import PRIOR_SD, Fit, fit, p_best
from oyren.rules.results import id_sort_key

__all__ = [
    "CLOSE_SHARE",
    "MAX_SIZE",
    "MIN_JURORS",
    "MIN_VIEWS",
    "Focus",
    "Progress",
    "Question",
    "Tally",
    "avoided_entries",
    "choose_entries",
    "met",
    "next_question",
    "progress",
    "tally",
]

MIN_VIEWS = 2  # different jurors who must judge an entry before it can be passed over
MIN_JURORS = 3  # different jurors who must see the leader and the runner-up side by side
CLOSE_SHARE = 0.8  # the two leaders hold this much of P(best) together, neither decided: close
MAX_SIZE = 8  # longest batch a juror is asked to order (TrueSkill's 8-player games)
DRAWS_PER_PLACE = 4  # posterior draws tried per place in a batch before filling from one draw

Ints = NDArray[np.int64]
Floats = NDArray[np.float64]
Bools = NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class Question:
    """What to show a juror: entries in display order, and why they were chosen."""

    juror: str
    entries: tuple[str, ...]
    phase: str  # "coverage", "leaders", "focus" or "faceoff"


@dataclass(frozen=True, slots=True)
class Focus:
    """The organizer's answer to a close race: ask more about two entries, or a face-off.

    "more": every question after coverage holds both entries; "faceoff": every juror is asked
    the pair once (answers given at or after ``since``, a Unix time, count), then as usual.
    """

    entries: tuple[str, str]
    mode: str
    since: int


@dataclass(frozen=True, slots=True)
class Progress:
    """Where a round stands, for the organizer's dashboard and the stop rule."""

    answers: int
    by_juror: tuple[tuple[str, int], ...]
    entries: int
    covered: int
    leader: str | None
    leader_p_best: float
    threshold: float
    done: bool
    to_cover: int  # questions still needed, at least, until every entry is covered
    to_decide: int | None  # rough estimate of questions to separate the leader; None: too close
    runner_up: str | None = None
    runner_up_p_best: float = 0.0
    jurors: int = 0  # different jurors whose answers count
    jurors_on_top: int = 0  # different jurors who saw the leader and the runner-up together
    jurors_needed: int = MIN_JURORS  # of those, how many the stop rule asks for
    close: bool = False  # the leader and the runner-up stay close: the organizer should act
    tiebreak: tuple[str, str, str, str] | None = None  # first, second, reason, by
    evidence: float = 0.0  # Bayes factor: leader ahead of the runner-up, against a dead heat

    def met(self, threshold: float) -> bool:
        """Whether the stop rule holds at ``threshold`` (the round's own is ``self.threshold``)."""
        return (
            self.leader is not None
            and self.covered == self.entries
            and self.leader_p_best >= threshold
            and self.jurors_on_top >= self.jurors_needed
            and self.evidence >= threshold / (1.0 - threshold)
        )

    @property
    def settled(self) -> bool:
        """Whether the round has what any verdict needs: every entry covered and the leader and
        the runner-up seen side by side by enough jurors. Not enough to publish P(best) as the
        jury's certainty: that needs the whole stop rule (:meth:`met`), evidence included."""
        return self.covered == self.entries and self.jurors_on_top >= self.jurors_needed


def avoided_entries(
    juror: str,
    *,
    creator_of: Mapping[str, str],
    conflicts: Mapping[str, Collection[str]],
) -> frozenset[str]:
    """Entries ``juror`` must not judge: ``conflicts`` maps a juror to creators or entry ids."""
    related = {name.casefold() for name in conflicts.get(juror, ())}
    return frozenset(
        entry
        for entry, creator in creator_of.items()
        if entry.casefold() in related or creator.casefold() in related
    )


def next_question(
    *,
    shortlist: Sequence[str],
    judgments: Sequence[Judgment],
    juror: str,
    size: int = 2,
    avoid: Collection[str] = frozenset(),
    min_views: int = MIN_VIEWS,
    model: Fit | None = None,
    seed: int = 0,
    focus: Focus | None = None,
) -> Question | None:
    """Choose the next question for ``juror``; None when nothing is left they may judge.

    ``model`` is a fit of the same shortlist (a caller may cache it between questions); it
    is computed here when the leaders phase needs it and none is given. ``focus``: the
    organizer's choice in a close race (see :class:`Focus`).
    """
    if not 2 <= size <= MAX_SIZE:
        raise ValueError(f"size must be 2 to {MAX_SIZE}")
    entries = tuple(sorted(set(shortlist), key=id_sort_key))
    if model is not None and model.entries != entries:
        raise ValueError("the model was fitted on another shortlist")
    index = {entry: i for i, entry in enumerate(entries)}
    n = len(entries)
    blocked = np.zeros(n, dtype=np.bool_)
    seen = np.zeros(n, dtype=np.bool_)
    asked: set[frozenset[int]] = set()
    faced = False
    for judgment in judgments:
        if judgment.judge != juror or judgment.kind == "tiebreak":
            continue
        ids = [index[e] for e in judgment.entries if e in index]
        if judgment.kind == "skip":
            blocked[ids] = True
        elif not judgment.undone:
            seen[ids] = True
            asked.add(frozenset(ids))
            if focus is not None and set(judgment.entries) == set(focus.entries):
                faced = faced or (judgment.at or 0) >= focus.since
    for entry in avoid:
        if entry in index:
            blocked[index[entry]] = True
    pool = np.flatnonzero(~blocked).astype(np.int64)
    rng = np.random.default_rng(_seed(seed, juror, len(judgments)))
    pinned: list[int] = []
    if focus is not None and all(e in index for e in focus.entries):
        pinned = [index[e] for e in focus.entries]
        if blocked[pinned].any():
            pinned = []
        elif focus.mode == "faceoff" and not faced:
            order = rng.permutation(2)
            return Question(juror, tuple(entries[pinned[i]] for i in order), "faceoff")
        elif focus.mode != "more":
            pinned = []

    def posterior() -> Fit:
        return model if model is not None else fit(judgments, entries)

    picked, phase = choose_entries(
        pool=pool, tallied=tally(judgments, entries, min_views=min_views), seen=seen,
        asked=asked, size=size, model=posterior, rng=rng,
        meetings=lambda leaders: met(judgments, entries, leaders), pinned=pinned,
    )  # fmt: skip
    if not picked:
        return None
    return Question(juror, tuple(entries[i] for i in picked), phase)


@dataclass(frozen=True, slots=True, eq=False)
class Tally:
    """Per entry: different jurors who judged it, how many it needs, firsts and bottom halves."""

    views: Ints
    needed: Ints
    firsts: Ints
    bottoms: Ints

    @property
    def owed(self) -> Bools:
        """Entries owed a meeting with the leaders: answers disagree, but mostly put them first.

        Two wins and a last place leave an entry's score middling, so sampling would never
        show it next to the leaders again; if the last place was a misclick, that buries the
        best entry. A tournament's repechage: such an entry meets the leaders once.
        """
        return (self.firsts >= 2) & (self.bottoms >= 1) & (self.firsts > self.bottoms)


def tally(
    judgments: Sequence[Judgment], entries: Sequence[str], *, min_views: int = MIN_VIEWS
) -> Tally:
    """Count, per entry, its jurors, the jurors it needs, its first places and bottom halves.

    An entry needs ``min_views`` jurors, and one more when its answers disagree: it came first
    in one answer and in the bottom half of another.
    """
    index = {entry: i for i, entry in enumerate(entries)}
    n = len(entries)
    jurors_of: list[set[str]] = [set() for _ in range(n)]
    firsts = np.zeros(n, dtype=np.int64)
    bottoms = np.zeros(n, dtype=np.int64)
    for judgment in judgments:
        if not judgment.counts:
            continue
        ids = [index[e] for e in judgment.entries if e in index]
        for i in ids:
            jurors_of[i].add(judgment.judge)
        if judgment.kind != "tie" and len(ids) >= 2:
            firsts[ids[0]] += 1
            bottoms[ids[(len(ids) + 1) // 2 :]] += 1
    views = np.array([len(who) for who in jurors_of], dtype=np.int64)
    needed = min_views + ((firsts > 0) & (bottoms > 0)).astype(np.int64)
    return Tally(views, needed, firsts, bottoms)


def met(judgments: Sequence[Judgment], entries: Sequence[str], leaders: Ints) -> Bools:
    """Entries that appeared in an answer together with one of ``leaders`` (positions)."""
    index = {entry: i for i, entry in enumerate(entries)}
    top = {entries[i] for i in leaders.tolist()}
    out = np.zeros(len(entries), dtype=np.bool_)
    for judgment in judgments:
        if judgment.counts and not top.isdisjoint(judgment.entries):
            out[[index[e] for e in judgment.entries if e in index]] = True
    return out


def choose_entries(
    *,
    pool: Ints,
    tallied: Tally,
    seen: Bools,
    asked: Collection[frozenset[int]],
    size: int,
    model: Fit | Callable[[], Fit] | None,
    meetings: Callable[[Ints], Bools],
    rng: np.random.Generator,
    pinned: Sequence[int] = (),
) -> tuple[list[int], str]:
    """Pick positions for one question from ``pool``, in display order, and the phase.

    ``tallied`` counts each entry's jurors (see :func:`tally`), ``seen`` marks the entries this
    juror judged, ``asked`` the sets they were already asked. ``model``, or a function giving
    it when first needed, indexes entries the same way; ``meetings`` gives the entries that
    met any of the given leaders (see :func:`met`). ``pinned`` entries (the two of a close
    race the organizer wants more answers on) are in every question once coverage is done.
    """
    size = min(size, len(pool))
    if size < 2:
        return [], "coverage"
    views = tallied.views
    fresh = pool[(views[pool] < tallied.needed[pool]) & ~seen[pool]]
    picked: list[int] = []
    if len(fresh):
        # Least-seen first; among equals, a random order so jurors do not all get the same.
        key = views[fresh] + rng.random(len(fresh))
        picked = [int(i) for i in fresh[_smallest(key, size)]]
    phase = "coverage" if picked else "leaders"
    if not picked and len(pinned) and len(pinned) <= size:
        picked, phase = [int(i) for i in pinned], "focus"
    if len(picked) < size:
        available = np.zeros(len(views), dtype=np.bool_)
        available[pool] = True
        available[picked] = False
        fitted = model() if callable(model) else model
        if fitted is not None and len(fitted.entries) and len(picked) < size - 1:
            owed = available & tallied.owed
            if owed.any():
                leaders = _smallest(-fitted.scores, size)
                waiting = np.flatnonzero(owed & ~meetings(leaders))
                if len(waiting):
                    picked.append(int(waiting[np.argmax(fitted.scores[waiting])]))
                    available[picked[-1]] = False
        picked += _leaders(fitted, available, picked, size, asked, rng)
    order = rng.permutation(len(picked))  # display order: no position favours anyone
    return [picked[i] for i in order], phase


def _smallest(values: Floats, count: int) -> Ints:
    """Positions of the ``count`` smallest values, smallest first."""
    if len(values) > count:
        part = np.argpartition(values, count - 1)[:count]
    else:
        part = np.arange(len(values))
    return part[np.argsort(values[part], kind="stable")].astype(np.int64)


def _leaders(
    model: Fit | None,
    available: Bools,
    taken: list[int],
    size: int,
    asked: Collection[frozenset[int]],
    rng: np.random.Generator,
) -> list[int]:
    """Fill a question by top-two Thompson sampling among the ``available`` entries."""
    need = size - len(taken)
    if model is None or len(model.entries) == 0:
        return [int(i) for i in rng.choice(np.flatnonzero(available), need, replace=False)]
    plausible = np.zeros(len(available), dtype=np.bool_)
    plausible[model.contenders(size)] = True
    candidates = np.flatnonzero(available & plausible)
    if len(candidates) < need + 1:  # room for at least one swap below
        candidates = np.flatnonzero(available)
    draws = model.draw(rng, DRAWS_PER_PLACE * size, candidates)
    chosen: list[int] = []
    for row in draws:
        best = int(candidates[int(np.argmax(row))])
        if best not in chosen:
            chosen.append(best)
            if len(chosen) == need:
                break
    # Enough of the first draw's order to fill up and to swap: 3 × size places.
    ranked = [int(candidates[i]) for i in _smallest(-draws[0], 3 * size)]
    fill = iter(i for i in ranked if i not in chosen)
    while len(chosen) < need:
        chosen.append(next(fill))
    # Do not repeat a question this juror has answered: swap the least likely pick for the
    # next entry of the first draw until the set is new (or nothing new is left).
    spare = iter(i for i in ranked if i not in chosen)
    while frozenset(taken + chosen) in asked:
        replacement = next(spare, None)
        if replacement is None:
            break
        chosen[-1] = replacement
    return chosen


def progress(
    *,
    shortlist: Sequence[str],
    judgments: Sequence[Judgment],
    threshold: float = 0.9,
    min_views: int = MIN_VIEWS,
    size: int = 2,
    model: Fit | None = None,
    seed: int = 0,
    min_jurors: int = MIN_JURORS,
) -> Progress:
    """Summarise a round: answers per juror, coverage, the leader, and whether it can stop."""
    if not 0.0 < threshold < 1.0:
        raise ValueError("threshold must be between 0 and 1")
    entries = tuple(sorted(set(shortlist), key=id_sort_key))
    model = model if model is not None else fit(judgments, entries)
    counted = [j for j in judgments if j.counts]
    per_juror: dict[str, int] = {}
    for judgment in counted:
        per_juror[judgment.judge] = per_juror.get(judgment.judge, 0) + 1
    counts = tally(judgments, model.entries, min_views=min_views)
    covered = int((counts.views >= counts.needed).sum())
    chances = p_best(model, seed=seed)
    leader = int(np.argmax(chances)) if len(chances) else None
    top = float(chances[leader]) if leader is not None else 0.0
    second: int | None = None
    if leader is not None and len(chances) > 1:
        rest = chances.copy()
        rest[leader] = -1.0
        second = int(np.argmax(rest))
    jurors = len(per_juror)
    on_top = 0
    if leader is not None and second is not None:
        pair = {model.entries[leader], model.entries[second]}
        on_top = len({j.judge for j in counted if pair <= set(j.entries)})
    needed = min(min_jurors, max(jurors, 1))
    runner = float(chances[second]) if second is not None else 0.0
    covered_all = covered == len(entries)
    evidence = (
        _evidence(model, leader, second) if leader is not None and second is not None else 0.0
    )
    done = (
        leader is not None
        and covered_all
        and top >= threshold
        and on_top >= needed
        and evidence >= threshold / (1.0 - threshold)
    )
    close = covered_all and not done and top + runner >= CLOSE_SHARE and runner >= 0.1
    to_cover = ceil(int(np.maximum(counts.needed - counts.views, 0).sum()) / size)
    to_decide = 0 if top >= threshold else _to_decide(model, chances, threshold, size)
    decided = tiebreak(judgments)
    return Progress(
        answers=len(counted),
        by_juror=tuple(sorted(per_juror.items())),
        entries=len(entries),
        covered=covered,
        leader=model.entries[leader] if leader is not None else None,
        leader_p_best=top,
        threshold=threshold,
        done=done,
        to_cover=to_cover,
        to_decide=to_decide,
        runner_up=model.entries[second] if second is not None else None,
        runner_up_p_best=runner,
        jurors=jurors,
        jurors_on_top=on_top,
        jurors_needed=needed,
        close=close,
        evidence=evidence,
        tiebreak=None
        if decided is None
        else (decided.entries[0], decided.entries[1], decided.note or "", decided.judge),
    )


def _evidence(model: Fit, leader: int, second: int) -> float:
    """The Bayes factor for "the leader is ahead of the runner-up" against a dead heat.

    With d̂ the leader's lead and v its posterior variance (juror taste included), the
    statistic S = d̂/v has information I = 1/v; against a N(0, 2·PRIOR_SD²) alternative the
    Bayes factor is √(ρ/(I + ρ)) · exp(S² / 2(I + ρ)), ρ = 1/(2·PRIOR_SD²). It is a
    nonnegative martingale under a dead heat, so a round that watches it after every answer
    reaches 1/α with probability at most α however often it looks (Ville's inequality; the
    normal-mixture boundary of Robbins 1970, Howard et al., *Ann. Statist.* 49, 2021). P(best)
    alone, checked again and again in a close race, crosses the threshold by chance.
    """
    var = float(model.sd[leader] ** 2 + model.sd[second] ** 2)
    block = {int(b): k for k, b in enumerate(model.block)}
    if leader in block and second in block:
        rows = model.block_factor[[block[leader], block[second]]]
        var -= 2.0 * float(rows[0] @ rows[1])
    var = max(var, 1e-12)
    lead = float(model.scores[leader] - model.scores[second])
    info = 1.0 / var
    rho = 1.0 / (2.0 * PRIOR_SD**2)
    log_bf = 0.5 * log(rho / (info + rho)) + (lead * info) ** 2 / (2.0 * (info + rho))
    return float(exp(min(log_bf, 700.0))) if lead > 0 else 0.0


def _to_decide(model: Fit, chances: Floats, threshold: float, size: int) -> int | None:
    """Questions until the leader passes the threshold, were the present estimates right.

    For each rival with a real chance, the leader's lead over it must reach z posterior sds,
    z chosen so that the rivals' chances add up to less than 1 − threshold. Each question
    putting both side by side adds about p(1 − p) to the precision of their difference (the
    Fisher information of one Bradley–Terry comparison), and a batch of k holds k − 1 rivals.
    """
    if len(chances) < 2:
        return 0
    leader = int(np.argmax(chances))
    rivals = [int(i) for i in np.flatnonzero(chances >= 1e-3) if i != leader]
    if not rivals:
        return 0
    z = NormalDist().inv_cdf(1.0 - (1.0 - threshold) / len(rivals))
    block = {int(b): k for k, b in enumerate(model.block)}
    cov = model.block_factor @ model.block_factor.T if len(model.block) else None
    needed = 0.0
    for rival in rivals:
        gap = float(model.scores[leader] - model.scores[rival])
        if gap <= 0.05:  # neck and neck: no honest estimate
            return None
        var = float(model.sd[leader] ** 2 + model.sd[rival] ** 2)
        if cov is not None and leader in block and rival in block:
            var -= 2.0 * float(cov[block[leader], block[rival]])
        p = 1.0 / (1.0 + np.exp(-gap))
        needed += max(0.0, (z / gap) ** 2 - 1.0 / var) / (p * (1.0 - p))
    return ceil(needed / (size - 1))


def _seed(seed: int, juror: str, answers: int) -> int:
    """A seed that differs per juror and per question, and is the same on every machine."""
    digest = hashlib.sha256(f"{seed}\x00{juror}\x00{answers}".encode()).digest()
    return int.from_bytes(digest[:8], "little")
