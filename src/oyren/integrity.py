"""Integrity flags: machine suspicions with their evidence, for people to weigh. No I/O.

:func:`flag_videos` screens a whole campaign at once and returns, per video id, the flags it
raised. A flag never excludes a video; it sends it to the moderation queue with its evidence in
words. Every yardstick is taken from the campaign's own videos, not from fixed thresholds:

- ``view_spike``: growth between two observations far above what videos of that age and size
  gain in this campaign. Growth is measured relative to the views a video already had, per hour,
  and compared with the 99th percentile of the campaign's intervals in the same age and size
  bucket, so a young video growing fast — a viral newcomer — is compared with other young videos.
- ``views_decreased``: the view count fell below an earlier value (platforms take back views
  they judge fake, so a public counter can drop).
- ``engagement_outlier``: likes, comments or shares per view far outside the campaign's spread,
  measured as a robust z-score (median and MAD) of the log ratio; a ratio only counts once the
  video has enough views for the expected count to be well above noise.
- ``duplicate_upload``: see :mod:`oyren.duplicates`.
- ``coordinated_accounts``: accounts whose videos burst at the same moments, more often than
  chance allows given how often each account bursts at all (after CopyCatch, Beutel et al.,
  WWW 2013, which finds groups liking the same pages in the same time windows).

Scores are on [0, 1]: 0.5 at the flagging threshold, rising towards 1 the further past it the
evidence goes (``1 - threshold / (2 * statistic)``), except duplicates (see there).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import chain

import numpy as np
import numpy.typing as npt

from oyren.duplicates import duplicate_flags
from oyren.results import Flag
from oyren.videos import Video
from oyren.wording import about, duration, moment

__all__ = ["FLAG_CODES", "flag_videos"]

FLAG_CODES = (
    "view_spike",
    "views_decreased",
    "engagement_outlier",
    "duplicate_upload",
    "coordinated_accounts",
)

HOUR = 3600
DAY = 86400

# Growth buckets: age at the start of an interval (hours, roughly doubling) and views then.
AGE_EDGES_H = (0, 6, 12, 24, 48, 96, 192, 384, 768)
SIZE_EDGES = (0, 1_000, 10_000, 100_000)
MIN_BUCKET = 30  # intervals a bucket needs before its percentile is trusted; else a wider bucket
SPIKE_QUANTILE = 0.99
SPIKE_FACTOR = 4.0  # flag growth this many times the bucket's 99th percentile …
MIN_SPIKE_VIEWS = 500  # … when it is also this many views: smaller gains change no prize
# Over a longer interval a sudden block and a fast organic rise look the same.
MAX_SPIKE_SPAN_S = 12 * HOUR
MIN_BASE_VIEWS = 20  # relative growth from fewer views is noise
# A bought block is delivered within hours and growth falls back afterwards; an organic second
# wave (the platform pushing the video again) keeps growing. So a spike is only flagged when the
# first interval starting SETTLE_S after it grows less than SUSTAIN_FACTOR times its reference.
SETTLE_S = 6 * HOUR
SUSTAIN_FACTOR = 2.0
# A floor on the percentile, 0.01 % per hour, so a campaign whose old videos have all stopped
# growing does not make any late view a spike.
MIN_REFERENCE_RATE = 1e-4

MIN_DROP_VIEWS = 20  # counters wobble by a few views between API servers
MIN_DROP_SHARE = 0.005  # … and by a sliver of a large count

ENGAGEMENT_Z = 4.0  # robust z-score beyond which a ratio is an outlier
MIN_EXPECTED_COUNT = 30  # a ratio counts once the median rate predicts this many likes (etc.)
MIN_ENGAGEMENT_SAMPLE = 30  # videos with enough views before a campaign spread is trusted
MAD_TO_SIGMA = 1.4826  # scales a MAD to a standard deviation for normal data

# Lockstep: a burst is an interval of at most 6 h growing at least twice the bucket's 99th
# percentile; two accounts are linked when their bursts coincide more often than chance would
# give them with probability LOCKSTEP_ALPHA; a group is made of trios of linked accounts that
# burst all three together at MIN_SHARED_BURSTS moments or more.
BURST_FACTOR = 2.0
MIN_BURST_VIEWS = 200
MAX_BURST_SPAN_S = 8 * HOUR  # a tracker every 6 h, with a little jitter
MIN_SHARED_BURSTS = 2
OCCASION_GAP_S = 1 * DAY  # an account's bursts closer than this are one occasion
LOCKSTEP_ALPHA = 1e-2


def flag_videos(videos: Sequence[Video]) -> dict[str, tuple[Flag, ...]]:
    """Screen a campaign's videos; return the flags of each video that raised any, by id."""
    out: dict[str, list[Flag]] = defaultdict(list)
    if not videos:
        return {}
    series = _Series.of(videos)
    growth = _Growth.of(series)
    for i, flag in _spike_flags(series, growth):
        out[videos[i].video_id].append(flag)
    for i, flag in _decrease_flags(series):
        out[videos[i].video_id].append(flag)
    for i, flag in _engagement_flags(videos):
        out[videos[i].video_id].append(flag)
    for i, flag in duplicate_flags([v.meta for v in videos]).items():
        out[videos[i].video_id].append(flag)
    for i, flag in _lockstep_flags(videos, series, growth):
        out[videos[i].video_id].append(flag)
    order = {code: n for n, code in enumerate(FLAG_CODES)}
    return {vid: tuple(sorted(flags, key=lambda f: order[f.code])) for vid, flags in out.items()}


def _score(statistic: float, threshold: float) -> float:
    """0.5 at the threshold, towards 1 beyond it."""
    return round(1.0 - float(threshold) / (2.0 * max(float(statistic), threshold)), 3)


IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class _Series:
    """Every interval between consecutive observations of a video, as flat arrays."""

    video: IntArray  # index of the video in the input
    t0: IntArray
    t1: IntArray
    v0: IntArray
    v1: IntArray
    age0: IntArray  # seconds since posting at t0

    @staticmethod
    def of(videos: Sequence[Video]) -> _Series:
        n = len(videos)
        lengths = np.fromiter((len(v.times) for v in videos), np.int64, n)
        total = int(lengths.sum())
        times = np.fromiter(chain.from_iterable(v.times for v in videos), np.int64, total)
        views = np.fromiter(chain.from_iterable(v.views for v in videos), np.int64, total)
        create = np.fromiter((v.meta.create_time for v in videos), np.int64, n)
        # An interval joins two consecutive points of one video: all pairs but those that
        # straddle the end of one video and the start of the next.
        inside = np.ones(max(total - 1, 0), dtype=bool)
        inside[np.cumsum(lengths)[:-1] - 1] = False
        t0 = times[:-1][inside]
        return _Series(
            video=np.repeat(np.arange(n, dtype=np.int64), lengths - 1),
            t0=t0,
            t1=times[1:][inside],
            v0=views[:-1][inside],
            v1=views[1:][inside],
            age0=np.maximum(t0 - np.repeat(create, lengths - 1), 0),
        )


@dataclass(frozen=True, slots=True)
class _Growth:
    """The campaign's growth yardstick: each interval's relative growth per hour and reference."""

    usable: npt.NDArray[np.bool_]  # growing-or-flat intervals from enough views
    rate: FloatArray  # views gained per view already had, per hour
    reference: FloatArray  # 99th percentile of ``rate`` in the interval's bucket
    ratio: FloatArray  # rate / reference

    @staticmethod
    def of(s: _Series) -> _Growth:
        dv = s.v1 - s.v0
        hours = (s.t1 - s.t0) / HOUR
        usable = (dv >= 0) & (s.v0 >= MIN_BASE_VIEWS)
        rate = np.where(usable, dv / np.maximum(s.v0, 1) / hours, 0.0)
        age_b = (np.searchsorted(np.multiply(AGE_EDGES_H, HOUR), s.age0, side="right") - 1).astype(
            np.int16
        )
        size_b = (np.searchsorted(SIZE_EDGES, s.v0, side="right") - 1).astype(np.int16)
        fine = age_b * np.int16(len(SIZE_EDGES)) + size_b
        reference = np.full(len(rate), np.inf)
        # Narrowest bucket with enough intervals: age and size, else age alone, else all.
        for keys in (fine, age_b, np.zeros_like(age_b)):
            todo = usable & np.isinf(reference)
            if not todo.any():
                break
            table = _quantile_by_key(keys[usable], rate[usable], SPIKE_QUANTILE, int(keys.max()))
            reference[todo] = np.maximum(table[keys[todo]], MIN_REFERENCE_RATE)
        ratio = np.where(usable, rate / reference, 0.0)
        return _Growth(usable=usable, rate=rate, reference=reference, ratio=ratio)


def _quantile_by_key(
    keys: npt.NDArray[np.int16], values: FloatArray, q: float, top: int
) -> FloatArray:
    """The ``q`` quantile of ``values`` per key in 0..top; inf where a key has too few values."""
    # Keys are small: a stable sort of 16-bit integers is a radix sort, linear in their number.
    order = np.argsort(keys, kind="stable")
    keys, values = keys[order], values[order]
    table = np.full(top + 1, np.inf)
    bounds = np.flatnonzero(np.diff(keys)) + 1
    for chunk_keys, chunk in zip(np.split(keys, bounds), np.split(values, bounds), strict=True):
        if len(chunk) >= MIN_BUCKET:
            table[int(chunk_keys[0])] = float(np.quantile(chunk, q))
    return table


def _spike_flags(s: _Series, g: _Growth) -> list[tuple[int, Flag]]:
    dv = s.v1 - s.v0
    short = s.t1 - s.t0 <= MAX_SPIKE_SPAN_S
    hit = np.flatnonzero(g.usable & short & (g.ratio >= SPIKE_FACTOR) & (dv >= MIN_SPIKE_VIEWS))
    out = []
    # Intervals come grouped by video, so the hits of one video are one run.
    for rows in np.split(hit, np.flatnonzero(np.diff(s.video[hit])) + 1):
        if not len(rows):
            continue
        video = int(s.video[rows[0]])
        end = int(np.searchsorted(s.video, video, side="right"))
        blocks = []
        for k in rows:
            after = _first_after(s, int(k), end)
            if after is None or g.ratio[after] < SUSTAIN_FACTOR:
                blocks.append(int(k))
        if not blocks:
            continue
        k = max(blocks, key=lambda r: float(g.ratio[r]))
        gained, span = int(dv[k]), int(s.t1[k] - s.t0[k])
        typical = g.reference[k] * int(s.v0[k]) * span / HOUR
        if g.reference[k] > MIN_REFERENCE_RATE:
            percent = 100 * g.reference[k]
            usual = f"at most {percent:.2g} % of their views per hour (99th percentile)"
        else:
            usual = f"under {100 * MIN_REFERENCE_RATE:.2g} % of their views per hour"
        text = (
            f"gained {gained:,} views in {duration(span)} at age {duration(int(s.age0[k]))} "
            f"(from {int(s.v0[k]):,} to {int(s.v1[k]):,}, {moment(int(s.t0[k]))}); videos of "
            f"that age and size in this campaign gain {usual}, about {about(typical):,} in "
            "that time"
        )
        if _first_after(s, k, end) is None:
            text += "; no later observation shows whether growth fell back"
        else:
            text += "; growth fell back afterwards, as after a delivered block"
        if len(blocks) > 1:
            text += f"; {len(blocks) - 1} more interval{'s' if len(blocks) > 2 else ''} like this"
        out.append((video, Flag("view_spike", _score(g.ratio[k], SPIKE_FACTOR), text)))
    return out


def _first_after(s: _Series, k: int, end: int) -> int | None:
    """The video's first interval starting at least SETTLE_S after interval ``k`` ends."""
    settle = s.t1[k] + SETTLE_S
    j = k + 1 + int(np.searchsorted(s.t0[k + 1 : end], settle))
    return j if j < end else None


def _decrease_flags(s: _Series) -> list[tuple[int, Flag]]:
    out = []
    for video in np.unique(s.video[s.v1 < s.v0]):
        lo, hi = np.searchsorted(s.video, [video, video + 1])
        points = np.concatenate([s.v0[lo : lo + 1], s.v1[lo:hi]])
        times = np.concatenate([s.t0[lo : lo + 1], s.t1[lo:hi]])
        peak = np.maximum.accumulate(points)
        below = peak - points
        k = int(np.argmax(below))
        drop, top = int(below[k]), int(peak[k])
        threshold = max(MIN_DROP_VIEWS, MIN_DROP_SHARE * top)
        if drop < threshold:
            continue
        peak_at = int(times[int(np.argmax(points[: k + 1]))])
        text = (
            f"view count went down from {top:,} ({moment(peak_at)}) to {int(points[k]):,} "
            f"({moment(int(times[k]))}), {drop:,} fewer ({100 * drop / top:.0f} % of the peak); "
            "platforms take back views they judge fake, so the count may have been inflated"
        )
        out.append((int(video), Flag("views_decreased", _score(drop, threshold), text)))
    return out


_METRICS = ("likes", "comments", "shares")


def _engagement_flags(videos: Sequence[Video]) -> list[tuple[int, Flag]]:
    n = len(videos)
    views = np.fromiter((v.meta.view_count for v in videos), np.float64, n)
    counts = {
        "likes": _counts(v.meta.like_count for v in videos),
        "comments": _counts(v.meta.comment_count for v in videos),
        "shares": _counts(v.meta.share_count for v in videos),
    }
    z: dict[str, FloatArray] = {}
    medians: dict[str, tuple[float, float]] = {}
    for metric, count in counts.items():
        known = (count >= 0) & (views > 0)
        if known.sum() < MIN_ENGAGEMENT_SAMPLE:
            continue
        median_rate = float(np.median(count[known] / views[known]))
        enough = known & (views * median_rate >= MIN_EXPECTED_COUNT)
        if enough.sum() < MIN_ENGAGEMENT_SAMPLE:
            continue
        x = np.log((count + 0.5) / np.maximum(views, 1))
        centre = float(np.median(x[enough]))
        spread = MAD_TO_SIGMA * float(np.median(np.abs(x[enough] - centre)))
        if spread <= 0:
            continue
        z[metric] = np.where(enough, (x - centre) / spread, np.nan)
        medians[metric] = (centre, spread)
    out: list[tuple[int, Flag]] = []
    if not z:
        return out
    stacked = np.vstack([z[m] for m in z])
    worst = np.max(np.abs(np.where(np.isnan(stacked), 0.0, stacked)), axis=0)
    for i in np.flatnonzero(worst >= ENGAGEMENT_Z):
        parts = []
        for metric in z:
            zi = float(z[metric][i])
            if not math.isnan(zi) and abs(zi) >= ENGAGEMENT_Z:
                centre, spread = medians[metric]
                rate = float(counts[metric][i]) / float(views[i])
                median = math.exp(centre)
                low, high = math.exp(centre - 2 * spread), math.exp(centre + 2 * spread)
                if rate >= median:
                    how = f"{rate / median:.1f} times above"
                else:
                    how = f"{median / max(rate, 1e-9):.1f} times below"
                parts.append(
                    f"{_per_1000(rate)} {metric} per 1,000 views, {how} the campaign median of "
                    f"{_per_1000(median)} (most videos: {_per_1000(low)}–{_per_1000(high)})"
                )
        text = (
            f"at {int(views[i]):,} views: "
            + "; ".join(parts)
            + "; bought views come without likes, bought likes without an audience"
        )
        out.append((int(i), Flag("engagement_outlier", _score(worst[i], ENGAGEMENT_Z), text)))
    return out


def _counts(values: Iterable[int | None]) -> FloatArray:
    """Counts as floats, -1 where the API did not say."""
    return np.fromiter((-1 if c is None else c for c in values), np.float64)


def _lockstep_flags(videos: Sequence[Video], s: _Series, g: _Growth) -> list[tuple[int, Flag]]:
    occasions = _occasions(videos, s, g)
    bursts = sorted(
        (b[0], b[1], account, n)
        for account, occs in occasions.items()
        for n, occ in enumerate(occs)
        for b in occ.bursts
    )
    if len(occasions) < 3:
        return []
    # Chance meetings are judged against the whole tracked period.
    horizon = int(s.t1.max() - s.t0.min()) or 1
    # Sweep by start time: bursts are short, so each meets only its neighbours in time.
    shared: dict[tuple[str, str], set[tuple[int, int]]] = defaultdict(set)
    for n, (_, end, account, occ) in enumerate(bursts):
        for other_start, _, other, other_occ in bursts[n + 1 :]:
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
            + f"; by chance about {expected:.1g} shared bursts would be expected with the "
            "closest of them; different creators growing in lockstep suggests coordinated "
            "boosting"
        )
        flag = Flag("coordinated_accounts", _score(len(together), MIN_SHARED_BURSTS), text)
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


def _occasions(videos: Sequence[Video], s: _Series, g: _Growth) -> dict[str, list[_Occasion]]:
    """Each account's block-shaped bursts, grouped into occasions a day or more apart."""
    dv = s.v1 - s.v0
    candidates = np.flatnonzero(
        g.usable
        & (g.ratio >= BURST_FACTOR)
        & (dv >= MIN_BURST_VIEWS)
        & (s.t1 - s.t0 <= MAX_BURST_SPAN_S)
    )
    ends = np.searchsorted(s.video, s.video[candidates], side="right")
    rows = []
    for k, end in zip(candidates.tolist(), ends.tolist(), strict=True):
        after = _first_after(s, k, end)
        if after is None or g.ratio[after] < SUSTAIN_FACTOR:
            rows.append(k)
    out: dict[str, list[_Occasion]] = defaultdict(list)
    for k in sorted(rows, key=lambda r: int(s.t0[r])):
        video = int(s.video[k])
        username = videos[video].meta.username
        t0, t1 = int(s.t0[k]), int(s.t1[k])
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


def _per_1000(rate: float) -> str:
    value = 1000 * rate
    return f"{value:.0f}" if value >= 10 else f"{value:.1f}"
