"""Views at the deadline, reconstructed from snapshots.

The API only ever tells today's count, so what a video had at the deadline is rebuilt from the
observations around it, in this order of preference:

1. ``observed`` — an observation at the cutoff instant itself;
2. ``interpolated`` — linear between the last observation before and the first after;
3. ``last_before_cutoff`` — the last observation before, when none came after;
4. ``from_creation`` — linear from zero views at ``create_time`` to the first observation after.

Arithmetic is exact (integers), rounding half up, so anyone recomputing gets the same number.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["BASES", "ViewsAtCutoff", "interpolate", "views_at", "views_at_each"]

BASES = ("observed", "interpolated", "last_before_cutoff", "from_creation")


@dataclass(frozen=True, slots=True)
class ViewsAtCutoff:
    """A video's views at the cutoff, how they were obtained, and the observations used."""

    views: int
    basis: str
    before: tuple[int, int] | None  # (collected_at, views) of the last observation at or before
    after: tuple[int, int] | None  # (collected_at, views) of the first observation after

    @property
    def gap_s(self) -> int | None:
        """Seconds between the observations bracketing the cutoff (0 when observed)."""
        if self.basis == "observed":
            return 0
        if self.before is not None and self.after is not None:
            return self.after[0] - self.before[0]
        return None


def interpolate(t0: int, v0: int, t1: int, v1: int, at: int) -> int:
    """Return the views at ``at`` on the line through (t0, v0) and (t1, v1), rounded half up."""
    span = t1 - t0
    if span <= 0:
        raise ValueError("t1 must be after t0")
    numerator = v0 * span + (v1 - v0) * (at - t0)
    return (2 * numerator + span) // (2 * span)


def views_at(
    times: Sequence[int], views: Sequence[int], *, cutoff: int, create_time: int
) -> ViewsAtCutoff:
    """Reconstruct views at ``cutoff`` from a video's series, sorted by time with unique times."""
    if not times:
        raise ValueError("a video needs at least one observation")
    i = bisect_left(times, cutoff)
    if i < len(times) and times[i] == cutoff:
        point = (times[i], views[i])
        after = (times[i + 1], views[i + 1]) if i + 1 < len(times) else None
        return ViewsAtCutoff(views[i], "observed", point, after)
    before = (times[i - 1], views[i - 1]) if i > 0 else None
    after = (times[i], views[i]) if i < len(times) else None
    if before is not None and after is not None:
        value = interpolate(before[0], before[1], after[0], after[1], cutoff)
        return ViewsAtCutoff(value, "interpolated", before, after)
    if before is not None:
        return ViewsAtCutoff(before[1], "last_before_cutoff", before, None)
    assert after is not None
    if create_time >= cutoff:
        # Posted after the deadline: it had nothing at the cutoff.
        return ViewsAtCutoff(0, "from_creation", None, after)
    if after[0] <= create_time:
        return ViewsAtCutoff(after[1], "from_creation", None, after)
    value = interpolate(create_time, 0, after[0], after[1], cutoff)
    return ViewsAtCutoff(value, "from_creation", None, after)


def views_at_each(
    times: Sequence[int], views: Sequence[int], cutoffs: Sequence[int], *, create_time: int
) -> list[int]:
    """:func:`views_at`'s views at each of ``cutoffs`` (ascending), in one pass over the series
    (sorted by time with unique times): a chart's day ends, without a verdict made per day."""
    n = len(times)
    if not n:
        raise ValueError("a video needs at least one observation")
    out: list[int] = []
    i = 0  # the first observation at or after the cutoff
    first_time, first_views = times[0], views[0]
    for at in cutoffs:
        while i < n and times[i] < at:
            i += 1
        if i == n:
            # After the last observation: so are the cutoffs still to come.
            out.extend([views[-1]] * (len(cutoffs) - len(out)))
            break
        if times[i] == at:
            out.append(views[i])
        elif i:
            out.append(interpolate(times[i - 1], views[i - 1], times[i], views[i], at))
        elif create_time >= at:
            out.append(0)  # posted after this cutoff: nothing yet
        elif first_time <= create_time:
            out.append(first_views)
        else:
            out.append(interpolate(create_time, 0, first_time, first_views, at))
    return out
