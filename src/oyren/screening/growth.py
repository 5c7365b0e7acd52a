"""Growth between observations: the campaign's yardstick, and the flags it raises. No I/O.

Every pair of consecutive observations of a video is an *interval*. Its growth is measured
relative to the views the video already had, per hour, and compared with the 99th percentile of
the campaign's own intervals in the same bucket of age (since posting) and size (views then), so
a young video growing fast — a viral newcomer — is compared with other young videos, and a video
nine days old with other nine-day-old videos.

- ``view_spike``: an interval of about 12 hours at most growing :data:`SPIKE_FACTOR` times that
  percentile or more, and by at least :data:`MIN_SPIKE_VIEWS`, after which growth falls back: a
  bought block is delivered within hours, while an organic second wave keeps rising for a day.
- ``views_decreased``: the count fell below an earlier value by more than a wobble.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import chain

import numpy as np
import numpy.typing as npt

from oyren.rules.results import Flag
from oyren.rules.videos import Video
from oyren.screening.wording import (
    about,
    duration,
    figure,
    moment,
    significant,
    threshold_score,
)

__all__ = [
    "BUCKETS",
    "GrowthSample",
    "GrowthTable",
    "Intervals",
    "Yardstick",
    "decrease_flags",
    "falls_back",
    "first_after",
    "growth_rates",
    "spike_flags",
]

HOUR = 3600

# Growth buckets: age at the start of an interval (hours, roughly doubling) and views then.
AGE_EDGES_H = (0, 6, 12, 24, 48, 96, 192, 384, 768)
SIZE_EDGES = (0, 1_000, 10_000, 100_000)
MIN_BUCKET = 30  # intervals a bucket needs before its percentile is trusted; else a wider bucket
SPIKE_QUANTILE = 0.99
SPIKE_FACTOR = 4.0  # flag growth this many times the bucket's 99th percentile …
MIN_SPIKE_VIEWS = 500  # … when it is also this many views: smaller gains change no prize
# Over a longer interval a sudden block and a fast organic rise look the same. About 12 hours:
# a look of a 6-hourly tracker missed, and a little jitter.
MAX_SPIKE_SPAN_S = 13 * HOUR
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

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Intervals:
    """Every interval between consecutive observations of a video, as flat arrays."""

    video: IntArray  # index of the video in the input
    t0: IntArray
    t1: IntArray
    v0: IntArray
    v1: IntArray
    age0: IntArray  # seconds since posting at t0

    @staticmethod
    def of(videos: Sequence[Video]) -> Intervals:
        """Flatten every video's series (videos with one observation add no interval)."""
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
        return Intervals(
            video=np.repeat(np.arange(n, dtype=np.int64), lengths - 1),
            t0=t0,
            t1=times[1:][inside],
            v0=views[:-1][inside],
            v1=views[1:][inside],
            age0=np.maximum(t0 - np.repeat(create, lengths - 1), 0),
        )

    @staticmethod
    def of_points(video: IntArray, times: IntArray, views: IntArray, create: IntArray) -> Intervals:
        """The same intervals from a campaign's points as columns, as a query returns them.

        ``video`` is each point's video (an index into ``create``, the videos' posting times);
        the points come grouped by video in order and sorted by time within it, one per instant.
        """
        # Consecutive points of one video make an interval; a pair across two videos does not.
        inside = video[1:] == video[:-1]
        owner = video[:-1][inside]
        t0 = times[:-1][inside]
        return Intervals(
            video=owner.astype(np.int64, copy=False),
            t0=t0,
            t1=times[1:][inside],
            v0=views[:-1][inside],
            v1=views[1:][inside],
            age0=np.maximum(t0 - create[owner], 0),
        )


def growth_rates(
    s: Intervals,
) -> tuple[npt.NDArray[np.bool_], FloatArray, npt.NDArray[np.int16]]:
    """Each interval's relative growth per hour (views gained per view already had; 0 where
    unusable), whether it is usable (growing or flat, from enough views), and its bucket of age
    and size (``age * len(SIZE_EDGES) + size``)."""
    # Worked in place: a campaign has millions of intervals, and each array more is tens of
    # MiB at the screener's peak.
    dv = s.v1 - s.v0
    usable = (dv >= 0) & (s.v0 >= MIN_BASE_VIEWS)
    rate = dv.astype(np.float64)
    del dv
    rate /= np.maximum(s.v0, 1)
    rate /= (s.t1 - s.t0) / HOUR
    rate[~usable] = 0.0
    age_b = (np.searchsorted(np.multiply(AGE_EDGES_H, HOUR), s.age0, side="right") - 1).astype(
        np.int16
    )
    size_b = (np.searchsorted(SIZE_EDGES, s.v0, side="right") - 1).astype(np.int16)
    bucket = age_b * np.int16(len(SIZE_EDGES)) + size_b
    return usable, rate, bucket


# Buckets of age and size; of age alone (a bucket's age is bucket // len(SIZE_EDGES)).
BUCKETS = len(AGE_EDGES_H) * len(SIZE_EDGES)


@dataclass(frozen=True, slots=True)
class GrowthTable:
    """The references of the campaign's growth yardstick: the 99th percentile of relative growth
    per bucket of age and size, per bucket of age, and over all, of every usable interval (inf
    where a bucket has fewer than :data:`MIN_BUCKET`)."""

    fine: FloatArray  # by bucket of age and size
    by_age: FloatArray  # by bucket of age
    overall: float

    @staticmethod
    def fit(buckets: npt.NDArray[np.int16], rates: FloatArray) -> GrowthTable:
        """The table from the usable intervals' buckets and rates, in any order."""
        sample = GrowthSample()
        sample.add_rates(buckets, rates)
        return sample.table()

    def references(
        self, usable: npt.NDArray[np.bool_], bucket: npt.NDArray[np.int16]
    ) -> FloatArray:
        """Each interval's reference: its bucket's percentile, else its age's, else the overall
        one, at least :data:`MIN_REFERENCE_RATE`; inf where none is known or it is unusable."""
        reference = np.full(len(bucket), np.inf)
        # Narrowest bucket with enough intervals: age and size, else age alone, else all.
        for table, keys in (
            (self.fine, bucket),
            (self.by_age, bucket // np.int16(len(SIZE_EDGES))),
            (np.array([self.overall]), np.zeros_like(bucket)),
        ):
            todo = usable & np.isinf(reference)
            if not todo.any():
                break
            reference[todo] = np.maximum(table[keys[todo]], MIN_REFERENCE_RATE)
        return reference


class GrowthSample:
    """The usable intervals' rates by bucket, gathered a part of a campaign at a time, to fit
    its :class:`GrowthTable` (the same table as from all its intervals at once)."""

    __slots__ = ("_parts",)

    def __init__(self) -> None:
        self._parts: list[list[FloatArray]] = [[] for _ in range(BUCKETS)]

    def add(self, s: Intervals) -> None:
        """Gather the usable intervals of ``s``."""
        usable, rate, bucket = growth_rates(s)
        self.add_rates(bucket[usable], rate[usable])

    def add_rates(self, buckets: npt.NDArray[np.int16], rates: FloatArray) -> None:
        """Gather usable intervals given by their buckets and rates."""
        # Buckets are small: a stable sort of 16-bit integers is a radix sort.
        order = np.argsort(buckets, kind="stable")
        buckets, rates = buckets[order], rates[order]
        bounds = (np.flatnonzero(np.diff(buckets)) + 1).tolist()
        for lo, hi in zip([0, *bounds], [*bounds, len(buckets)], strict=True):
            if hi > lo:
                self._parts[int(buckets[lo])].append(rates[lo:hi])

    def table(self) -> GrowthTable:
        """The table fitted to every interval gathered."""
        counts = np.array([sum(len(p) for p in parts) for parts in self._parts], dtype=np.int64)
        fine = np.full(BUCKETS, np.inf)
        for b in np.flatnonzero(counts >= MIN_BUCKET).tolist():
            fine[b] = _quantile(self._parts[b])
        width = len(SIZE_EDGES)
        by_age = np.full(len(AGE_EDGES_H), np.inf)
        ages = counts.reshape(len(AGE_EDGES_H), width).sum(axis=1)
        for a in np.flatnonzero(ages >= MIN_BUCKET).tolist():
            by_age[a] = _quantile([p for b in range(a * width, (a + 1) * width)
                                   for p in self._parts[b]])  # fmt: skip
        # Over all only when some usable interval has neither its bucket nor its age's.
        wanted = (counts > 0) & np.isinf(fine) & np.isinf(np.repeat(by_age, width))
        overall = np.inf
        if wanted.any() and counts.sum() >= MIN_BUCKET:
            overall = _quantile([p for parts in self._parts for p in parts])
        return GrowthTable(fine, by_age, overall)


def _quantile(parts: list[FloatArray]) -> float:
    """The yardstick's quantile of the values of ``parts`` together."""
    values = np.concatenate(parts) if len(parts) > 1 else parts[0].copy()
    return float(np.quantile(values, SPIKE_QUANTILE, overwrite_input=True))


@dataclass(frozen=True, slots=True)
class Yardstick:
    """The campaign's growth yardstick: each interval's relative growth per hour and reference."""

    usable: npt.NDArray[np.bool_]  # growing-or-flat intervals from enough views
    reference: FloatArray  # 99th percentile of the relative growth in the interval's bucket
    ratio: FloatArray  # relative growth (views gained per view already had, per hour) / reference

    @staticmethod
    def of(s: Intervals, table: GrowthTable | None = None) -> Yardstick:
        """The yardstick of intervals ``s``: fitted to them, or from ``table`` (fitted to the
        whole campaign when ``s`` is a part of it)."""
        usable, rate, bucket = growth_rates(s)
        if table is None:
            table = GrowthTable.fit(bucket[usable], rate[usable])
        reference = table.references(usable, bucket)
        del bucket
        # Unusable intervals keep 0: their rate is 0 and their reference never 0.
        rate /= reference
        return Yardstick(usable=usable, reference=reference, ratio=rate)


def spike_flags(s: Intervals, g: Yardstick) -> list[tuple[int, Flag]]:
    """Flag videos with a view spike: (index of the video, flag) for each."""
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
            if falls_back(s, g, int(k), end):
                blocks.append(int(k))
        if not blocks:
            continue
        k = max(blocks, key=lambda r: float(g.ratio[r]))
        gained, span = int(dv[k]), int(s.t1[k] - s.t0[k])
        typical = g.reference[k] * int(s.v0[k]) * span / HOUR
        if g.reference[k] > MIN_REFERENCE_RATE:
            percent = 100 * g.reference[k]
            usual = f"at most {figure(percent)} % of their views per hour (99th percentile)"
        else:
            percent = None
            usual = f"under {figure(100 * MIN_REFERENCE_RATE)} % of their views per hour"
        text = (
            f"gained {gained:,} views in {duration(span)} at age {duration(int(s.age0[k]))} "
            f"(from {int(s.v0[k]):,} to {int(s.v1[k]):,}, {moment(int(s.t0[k]))}); videos of "
            f"that age and size in this campaign gain {usual}, about {about(typical):,} in "
            "that time"
        )
        fell_back = first_after(s, k, end) is not None
        if not fell_back:
            text += "; no later observation shows whether growth fell back"
        else:
            text += "; growth fell back afterwards, as after a delivered block"
        if len(blocks) > 1:
            text += f"; {len(blocks) - 1} more interval{'s' if len(blocks) > 2 else ''} like this"
        evidence = (
            ("gained", gained),
            ("span_s", span),
            ("age_s", int(s.age0[k])),
            ("from", int(s.v0[k])),
            ("to", int(s.v1[k])),
            ("at", int(s.t0[k])),
            ("usual_percent", None if percent is None else significant(percent)),
            ("floor_percent", significant(100 * MIN_REFERENCE_RATE)),
            ("typical", about(typical)),
            ("fell_back", fell_back),
            ("more", len(blocks) - 1),
        )
        out.append(
            (video, Flag("view_spike", threshold_score(g.ratio[k], SPIKE_FACTOR), text, evidence))
        )
    return out


def falls_back(s: Intervals, g: Yardstick, k: int, end: int) -> bool:
    """Tell whether growth falls back after interval ``k`` (or nothing later shows it doesn't)."""
    after = first_after(s, k, end)
    return after is None or bool(g.ratio[after] < SUSTAIN_FACTOR)


def first_after(s: Intervals, k: int, end: int) -> int | None:
    """The video's first interval starting at least SETTLE_S after interval ``k`` ends."""
    settle = s.t1[k] + SETTLE_S
    j = k + 1 + int(np.searchsorted(s.t0[k + 1 : end], settle))
    return j if j < end else None


def decrease_flags(s: Intervals) -> list[tuple[int, Flag]]:
    """Flag videos whose view count went down: (index of the video, flag) for each."""
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
        evidence = (
            ("peak", top),
            ("peak_at", peak_at),
            ("low", int(points[k])),
            ("low_at", int(times[k])),
            ("drop", drop),
            ("share_percent", round(100 * drop / top)),
        )
        flag = Flag("views_decreased", threshold_score(drop, threshold), text, evidence)
        out.append((int(video), flag))
    return out
