"""Plain words for numbers, moments and durations in explanations meant for people, and the
score scale integrity flags share."""

from __future__ import annotations

import math
from datetime import UTC, datetime

__all__ = ["about", "duration", "figure", "moment", "significant", "threshold_score"]

HOUR = 3600
DAY = 86400


def duration(seconds: int) -> str:
    """Say a duration: '45 min', '2 h', '1 day 4 h', '9 days'."""
    if seconds < HOUR:
        return f"{max(1, round(seconds / 60))} min"
    if seconds < DAY:
        return f"{round(seconds / HOUR)} h"
    days, rest = divmod(seconds, DAY)
    hours = round(rest / HOUR)
    if days >= 3 or hours in (0, 24):
        return f"{round(seconds / DAY)} days" if seconds >= 1.5 * DAY else "1 day"
    return f"{days} day{'s' if days > 1 else ''} {hours} h"


def moment(ts: int) -> str:
    """Say a moment in UTC to the minute: '2024-03-12 14:00 UTC'."""
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")


def about(x: float) -> int:
    """Round to two significant figures, so that an estimate does not look precise."""
    if x < 100:
        return round(x)
    digits = math.floor(math.log10(x)) - 1
    return int(round(x, -digits))


def significant(x: float, digits: int = 2) -> float:
    """``x`` rounded to ``digits`` significant figures (0 stays 0)."""
    if x == 0 or not math.isfinite(x):
        return 0.0
    # A float of Python's own: round() keeps a numpy scalar numpy, which JSON cannot write.
    return round(float(x), digits - 1 - math.floor(math.log10(abs(x))))


def figure(x: float, digits: int = 2) -> str:
    """Say a number to ``digits`` significant figures, never in scientific notation: 460, 0.046."""
    value = significant(x, digits)
    places = max(0, digits - 1 - math.floor(math.log10(abs(value)))) if value else 0
    return f"{value:,.{places}f}"


def threshold_score(statistic: float, threshold: float) -> float:
    """Score evidence on [0, 1]: 0.5 at the flagging threshold, towards 1 far beyond it."""
    return round(1.0 - float(threshold) / (2.0 * max(float(statistic), threshold)), 3)
