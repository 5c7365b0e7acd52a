"""Integrity flags: machine suspicions with their evidence, for people to weigh. No I/O.

:func:`flag_videos` screens a whole campaign at once and returns, per video id, the flags it
raised. A flag never excludes a video; it sends it to the moderation queue with its evidence in
words. Every yardstick is taken from the campaign's own videos, not from fixed thresholds:

- ``view_spike`` and ``views_decreased``: see :mod:`oyren.screening.growth`.
- ``engagement_outlier``: likes, comments or shares per view far outside the campaign's spread,
  measured as a robust z-score (median and MAD) of the log ratio; a ratio only counts once the
  video has enough views for the expected count to be well above noise.
- ``duplicate_upload``: see :mod:`oyren.screening.reuploads`.
- ``coordinated_accounts``: see :mod:`oyren.screening.lockstep`.

Scores are on [0, 1]: 0.5 at the flagging threshold, rising towards 1 the further past it the
evidence goes (:func:`oyren.screening.wording.threshold_score`), except duplicates (see there).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from oyren.rules.observations import Observation
from oyren.rules.results import Flag
from oyren.rules.videos import Video
from oyren.screening.columns import as_columns
from oyren.screening.growth import (
    GrowthSample,
    Intervals,
    Yardstick,
    decrease_flags,
    spike_flags,
)
from oyren.screening.lockstep import bursts, lockstep_flags
from oyren.screening.reuploads import duplicate_flags
from oyren.screening.wording import threshold_score

__all__ = [
    "FLAG_CODES",
    "SeriesFlags",
    "flag_series",
    "flag_videos",
    "flags_of",
    "series_flags",
]

FLAG_CODES = (
    "view_spike",
    "views_decreased",
    "engagement_outlier",
    "duplicate_upload",
    "coordinated_accounts",
)

ENGAGEMENT_Z = 4.0  # robust z-score beyond which a ratio is an outlier
MIN_EXPECTED_COUNT = 30  # a ratio counts once the median rate predicts this many likes (etc.)
MIN_ENGAGEMENT_SAMPLE = 30  # videos with enough views before a campaign spread is trusted
MAD_TO_SIGMA = 1.4826  # scales a MAD to a standard deviation for normal data

FloatArray = npt.NDArray[np.float64]


def flag_videos(videos: Sequence[Video]) -> dict[str, tuple[Flag, ...]]:
    """Screen a campaign's videos; return the flags of each video that raised any, by id."""
    if not videos:
        return {}
    return flag_series([v.meta for v in videos], Intervals.of(videos))


def flag_series(
    metas: Sequence[Observation], intervals: Intervals, yardstick: Yardstick | None = None
) -> dict[str, tuple[Flag, ...]]:
    """Screen a campaign from columns: its videos' metadata and the intervals of their series.

    The same flags as :func:`flag_videos` for the videos whose metadata ``metas`` are, in that
    order (the intervals index into it); an engine that returns columns calls this directly.
    ``yardstick`` is :meth:`Yardstick.of` the intervals, when the caller has fitted it already.
    """
    if not metas:
        return {}
    if yardstick is None:
        yardstick = Yardstick.of(intervals)
    series = SeriesFlags(
        spikes=spike_flags(intervals, yardstick),
        decreases=decrease_flags(intervals),
        bursts=bursts(intervals, yardstick),
        horizon=int(intervals.t1.max() - intervals.t0.min()) if len(intervals.t0) else 0,
    )
    return flags_of(metas, series)


@dataclass(frozen=True, slots=True)
class SeriesFlags:
    """What a campaign's series alone show: spikes and decreases (video index, flag), the
    block-shaped bursts (:func:`oyren.screening.lockstep.bursts`) and the seconds the series
    span, for :func:`flags_of` to add what the metadata show."""

    spikes: list[tuple[int, Flag]]
    decreases: list[tuple[int, Flag]]
    bursts: list[tuple[int, int, int]]
    horizon: int


def series_flags(parts: Callable[[], Iterable[Intervals]]) -> SeriesFlags:
    """:class:`SeriesFlags` of a campaign whose intervals come a part at a time: ``parts()``
    yields them (each part the intervals of whole videos, videos in order) and is called twice,
    once to fit the growth yardstick to the whole campaign and once to flag with it. Memory is
    that of one part, and the usable intervals' growth rates (a number each)."""
    sample = GrowthSample()
    decreases: list[tuple[int, Flag]] = []
    first, last = None, None
    for s in parts():
        sample.add(s)
        decreases.extend(decrease_flags(s))
        if len(s.t0):
            low, high = int(s.t0.min()), int(s.t1.max())
            first = low if first is None else min(first, low)
            last = high if last is None else max(last, high)
    table = sample.table()
    del sample
    spikes: list[tuple[int, Flag]] = []
    found: list[tuple[int, int, int]] = []
    for s in parts():
        yardstick = Yardstick.of(s, table)
        spikes.extend(spike_flags(s, yardstick))
        found.extend(bursts(s, yardstick))
    horizon = 0 if first is None or last is None else last - first
    return SeriesFlags(spikes, decreases, found, horizon)


def flags_of(metas: Sequence[Observation], series: SeriesFlags) -> dict[str, tuple[Flag, ...]]:
    """Every flag of the campaign whose videos' metadata ``metas`` are (in the order the series'
    video indices follow), by video id: the series' flags, and those the metadata show."""
    if not metas:
        return {}
    out: dict[str, list[Flag]] = defaultdict(list)
    found = [
        *series.spikes,
        *series.decreases,
        *_engagement_flags(metas),
        *duplicate_flags(metas).items(),
        *lockstep_flags(metas, series.bursts, series.horizon or 1),
    ]
    for i, flag in found:
        out[metas[i].video_id].append(flag)
    order = {code: n for n, code in enumerate(FLAG_CODES)}
    return {vid: tuple(sorted(flags, key=lambda f: order[f.code])) for vid, flags in out.items()}


def _engagement_flags(metas: Sequence[Observation]) -> list[tuple[int, Flag]]:
    columns = as_columns(metas)
    views = np.array(columns.view_count, dtype=np.float64)
    counts = {
        "likes": _counts(columns.like_count),
        "comments": _counts(columns.comment_count),
        "shares": _counts(columns.share_count),
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
        # Unknown counts are -1; they are masked out below, but must not reach the log.
        x = np.log((np.maximum(count, 0) + 0.5) / np.maximum(views, 1))
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
        facts = []
        for metric in z:
            zi = float(z[metric][i])
            if not math.isnan(zi) and abs(zi) >= ENGAGEMENT_Z:
                centre, spread = medians[metric]
                rate = float(counts[metric][i]) / float(views[i])
                median = math.exp(centre)
                low, high = math.exp(centre - 2 * spread), math.exp(centre + 2 * spread)
                if rate >= median:
                    times, side = round(rate / median, 1), "above"
                else:
                    times, side = round(median / max(rate, 1e-9), 1), "below"
                how = f"{times:,.1f} times {side}"
                facts.append((metric, _per_1000_value(rate), times, side,
                              _per_1000_value(median), _per_1000_value(low),
                              _per_1000_value(high)))  # fmt: skip
                parts.append(
                    f"{_per_1000(rate)} {metric} per 1,000 views, {how} the campaign median of "
                    f"{_per_1000(median)} (most videos: {_per_1000(low)}–{_per_1000(high)})"
                )
        text = (
            f"at {int(views[i]):,} views: "
            + "; ".join(parts)
            + "; bought views come without likes, bought likes without an audience"
        )
        evidence = (("views", int(views[i])), ("metrics", tuple(facts)))
        score = threshold_score(worst[i], ENGAGEMENT_Z)
        out.append((int(i), Flag("engagement_outlier", score, text, evidence)))
    return out


def _counts(values: Iterable[int | None]) -> FloatArray:
    """Counts as floats, -1 where the API did not say."""
    return np.array([-1 if c is None else c for c in values], dtype=np.float64)


def _per_1000_value(rate: float) -> float:
    value = 1000 * rate
    return float(round(value)) if value >= 10 else round(value, 1)


def _per_1000(rate: float) -> str:
    value = _per_1000_value(rate)
    return f"{value:,.0f}" if value >= 10 else f"{value:.1f}"
