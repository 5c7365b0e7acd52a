"""Lockstep groups: accounts whose videos burst at the same moments, again and again. No I/O.

After CopyCatch (Beutel et al., WWW 2013), which finds groups of accounts liking the same pages
in the same time windows. A *burst* is a short interval growing at least twice its bucket's 99th
percentile (see :mod:`oyren.screening.growth`) that falls back afterwards, as a delivered block
does; an
account's bursts less than a day apart are one *occasion*. Two accounts are linked when their
occasions meet more often than chance allows, given how often each bursts at all (a Poisson tail
below :data:`LOCKSTEP_ALPHA`); a group is made of trios of linked accounts that burst all three
together at :data:`MIN_SHARED_BURSTS` moments or more. Chance links are common in a large
campaign; three accounts bursting together again and again are not.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from oyren.rules.observations import Observation
from oyren.rules.results import Flag
from oyren.screening.growth import Intervals, Yardstick, falls_back
from oyren.screening.wording import figure, moment, significant, threshold_score

__all__ = ["LOCKSTEP_ALPHA", "bursts", "lockstep_flags"]

HOUR = 3600
DAY = 86400

BURST_FACTOR = 2.0  # times the bucket's 99th percentile: lower than a spike, as it needs company
MIN_BURST_VIEWS = 200
MAX_BURST_SPAN_S = 8 * HOUR  # when it happened must be known: a tracker every 6 h, with jitter
OCCASION_GAP_S = 1 * DAY  # an account's bursts closer than this are one occasion
MIN_SHARED_BURSTS = 2  # moments a trio must share
LOCKSTEP_ALPHA = 1e-2  # chance of two accounts meeting that often, below which they are linked


def bursts(s: Intervals, g: Yardstick) -> list[tuple[int, int, int]]:
    """The block-shaped bursts among intervals ``s``: (video, start, end) of each, in the
    intervals' order (a campaign's come a part at a time when its parts are videos in order)."""
    dv = s.v1 - s.v0
    candidates = np.flatnonzero(
        g.usable
        & (g.ratio >= BURST_FACTOR)
        & (dv >= MIN_BURST_VIEWS)
        & (s.t1 - s.t0 <= MAX_BURST_SPAN_S)
    )
    ends = np.searchsorted(s.video, s.video[candidates], side="right")
    return [
        (int(s.video[k]), int(s.t0[k]), int(s.t1[k]))
        for k, end in zip(candidates.tolist(), ends.tolist(), strict=True)
        if falls_back(s, g, k, end)
    ]


def lockstep_flags(
    metas: Sequence[Observation], found: Sequence[tuple[int, int, int]], horizon: int
) -> list[tuple[int, Flag]]:
    """Flag the bursting videos of lockstep groups: (index of the video, flag) for each, from
    the campaign's :func:`bursts` (all of them, in the intervals' order) and the seconds its
    intervals span (``horizon``: chance meetings are judged against the whole tracked period).

    ``metas`` are the videos' metadata, in the order the intervals index them.
    """
    occasions = _occasions(metas, found)
    timeline = sorted(
        (b[0], b[1], account, n)
        for account, occs in occasions.items()
        for n, occ in enumerate(occs)
        for b in occ.bursts
    )
    if len(occasions) < 3:
        return []
    # Sweep by start time: bursts are short, so each meets only its neighbours in time.
    shared: dict[tuple[str, str], set[tuple[int, int]]] = defaultdict(set)
    for n, (_, end, account, occ) in enumerate(timeline):
        for other_start, _, other, other_occ in timeline[n + 1 :]:
            if other_start > end:
                break
            if account < other:
                shared[(account, other)].add((occ, other_occ))
            elif other < account:
                shared[(other, account)].add((other_occ, occ))
    links: dict[tuple[str, str], tuple[int, float]] = {}
    for (a, b), both in shared.items():
        # Distinct occasions on each side: one long occasion meeting two short ones counts once.
        k = min(len({x for x, _ in both}), len({y for _, y in both}))
        if k < MIN_SHARED_BURSTS:
            continue
        occ_a, occ_b = occasions[a], occasions[b]
        width = sum(o.width for o in occ_a) / len(occ_a) + sum(o.width for o in occ_b) / len(occ_b)
        expected = len(occ_a) * len(occ_b) * width / horizon
        if _poisson_tail(k, expected) < LOCKSTEP_ALPHA:
            links[(a, b)] = (k, expected)
    out: list[tuple[int, Flag]] = []
    trios = _trios(links, shared)
    for account, (partners, together, group) in sorted(trios.items()):
        # The partner it met most often, and how often chance would have them meet.
        _, expected = max(links[(min(account, p), max(account, p))] for p in partners)
        moments = sorted(occasions[account][o].start for o in together)
        names = ", ".join(f"@{occasions[p][0].username}" for p in sorted(partners))
        text = (
            f"views burst at the same moments as videos of {names} ({group} accounts in this "
            "group) "
            f"on {len(moments)} occasions: "
            + ", ".join(moment(t) for t in moments[:5])
            + f"; by chance about {figure(expected, 1)} shared bursts would be expected with the "
            "closest of them; different creators growing in lockstep suggests coordinated "
            "boosting"
        )
        evidence = (
            ("accounts", tuple(occasions[p][0].username for p in sorted(partners))),
            ("group", group),
            ("moments", tuple(moments[:5])),
            ("occasions", len(moments)),
            ("expected", significant(expected, 1)),
        )
        score = threshold_score(len(together), MIN_SHARED_BURSTS)
        flag = Flag("coordinated_accounts", score, text, evidence)
        flagged = sorted({v for o in together for v in occasions[account][o].videos})
        out.extend((v, flag) for v in flagged)
    return out


@dataclass(slots=True)
class _Occasion:
    """An account's bursts close together in time: one moment of boosting."""

    username: str
    start: int
    end: int
    bursts: list[tuple[int, int]]
    videos: set[int]

    @property
    def width(self) -> int:
        """Seconds covered by the occasion's bursts."""
        return sum(t1 - t0 for t0, t1 in self.bursts)


def _occasions(
    metas: Sequence[Observation], found: Sequence[tuple[int, int, int]]
) -> dict[str, list[_Occasion]]:
    """Each account's bursts, grouped into occasions a day or more apart."""
    out: dict[str, list[_Occasion]] = defaultdict(list)
    for video, t0, t1 in sorted(found, key=lambda burst: burst[1]):
        username = metas[video].username
        occs = out[username.casefold()]
        if occs and t0 <= occs[-1].end + OCCASION_GAP_S:
            occs[-1].end = max(occs[-1].end, t1)
            occs[-1].bursts.append((t0, t1))
            occs[-1].videos.add(video)
        else:
            occs.append(_Occasion(username, t0, t1, [(t0, t1)], {video}))
    return out


def _poisson_tail(k: int, mean: float) -> float:
    """P(X >= k) for X ~ Poisson(mean), summed from the tail (exact for the small k used)."""
    if mean <= 0:
        return 0.0 if k > 0 else 1.0
    if k <= mean:
        return 1.0  # at least about a half: never evidence, and the sum below would be long
    term = math.exp(-mean + k * math.log(mean) - math.lgamma(k + 1))
    total, i = 0.0, k
    while term > 1e-18 * total or i < k + 5:
        total += term
        i += 1
        term *= mean / i
        if i > k + 1000:
            break
    return min(total, 1.0)


def _trios(
    links: dict[tuple[str, str], tuple[int, float]],
    shared: dict[tuple[str, str], set[tuple[int, int]]],
) -> dict[str, tuple[set[str], set[int], int]]:
    """Accounts that burst as a trio with two linked others at the same moments, twice or more.

    Returns, per account: the partners, its occasions shared with them, and its group's size.
    Chance links between pairs are common in a large campaign; three accounts bursting together
    again and again are not, so one chance link never ties two groups together.
    """
    neighbours: dict[str, set[str]] = defaultdict(set)
    for a, b in links:
        neighbours[a].add(b)
        neighbours[b].add(a)

    def met(a: str, b: str) -> set[int]:
        """Occasions of ``a`` at which ``b`` burst too."""
        if a < b:
            return {x for x, _ in shared[(a, b)]}
        return {y for _, y in shared[(b, a)]}

    partners: dict[str, set[str]] = defaultdict(set)
    together: dict[str, set[int]] = defaultdict(set)
    for a, b in links:
        for c in neighbours[a] & neighbours[b]:
            if c < b:
                continue  # each trio once: a < b < c
            common = {x: met(x, y) & met(x, z) for x, y, z in ((a, b, c), (b, a, c), (c, a, b))}
            if min(len(o) for o in common.values()) < MIN_SHARED_BURSTS:
                continue
            for x, occasions in common.items():
                partners[x].update({a, b, c} - {x})
                together[x].update(occasions)
    # Groups: accounts joined through trios.
    size: dict[str, int] = {}
    for account in sorted(partners):
        if account in size:
            continue
        group, todo = set(), [account]
        while todo:
            x = todo.pop()
            if x not in group:
                group.add(x)
                todo.extend(partners[x] - group)
        size.update(dict.fromkeys(group, len(group)))
    return {a: (partners[a], together[a], size[a]) for a in partners}
