"""Clocks: where "now" comes from, and how waiting is done.

Everything that waits — retry backoff, a spent daily quota, a tracking schedule — takes a
:class:`Clock`, so tests and sandbox replays never sleep for real. :class:`SystemClock` is real
time; :class:`VirtualClock` moves only when someone sleeps on it, so a two-month campaign replays
as fast as the requests go; :class:`ScaledClock` runs a fixed factor faster than real time, for a
sandbox server that other processes talk to.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol

__all__ = [
    "DAY",
    "HOUR",
    "Clock",
    "ScaledClock",
    "SystemClock",
    "VirtualClock",
    "next_utc_midnight",
    "parse_duration",
    "utc_day",
]

HOUR = 3600
DAY = 86400


class Clock(Protocol):
    """A source of Unix time that can also wait."""

    def now(self) -> float:
        """Return the current Unix time in seconds."""
        ...

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` of this clock's time."""
        ...


class SystemClock:
    """Real time."""

    def now(self) -> float:
        """Return the current Unix time."""
        return time.time()

    def sleep(self, seconds: float) -> None:
        """Sleep for real."""
        if seconds > 0:
            time.sleep(seconds)


class VirtualClock:
    """Time that stands still until someone sleeps on it; safe to share between threads."""

    def __init__(self, start: float) -> None:
        self._now = float(start)
        self._lock = threading.Lock()
        self.slept = 0.0  # total seconds slept, for tests and reports

    def now(self) -> float:
        """Return the virtual time."""
        with self._lock:
            return self._now

    def sleep(self, seconds: float) -> None:
        """Move the virtual time forward at once."""
        if seconds > 0:
            with self._lock:
                self._now += seconds
                self.slept += seconds

    def set(self, t: float) -> None:
        """Jump to ``t`` (never backwards)."""
        with self._lock:
            self._now = max(self._now, float(t))


class ScaledClock:
    """Time that starts at ``start`` and runs ``speed`` times faster than real time."""

    def __init__(
        self,
        start: float,
        speed: float,
        *,
        real: Callable[[], float] = time.monotonic,
        real_sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.start = float(start)
        self.speed = float(speed)
        self._real = real
        self._real_sleep = real_sleep
        self._origin = real()

    def now(self) -> float:
        """Return the scaled time."""
        return self.start + (self._real() - self._origin) * self.speed

    def sleep(self, seconds: float) -> None:
        """Sleep ``seconds`` of scaled time, that is ``seconds / speed`` real seconds."""
        if seconds > 0:
            self._real_sleep(seconds / self.speed)


def utc_day(ts: float) -> str:
    """Return the UTC date of Unix time ``ts`` as ``YYYY-MM-DD`` (the API's quota day)."""
    return datetime.fromtimestamp(int(ts), tz=UTC).date().isoformat()


def next_utc_midnight(ts: float) -> int:
    """Return the first 00:00:00 UTC strictly after ``ts``, when the API's quota resets."""
    return (int(ts) // DAY + 1) * DAY


_DURATION_RE = re.compile(r"^\s*(\d+)\s*([smhd]?)\s*$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": DAY}


def parse_duration(text: str) -> int:
    """Read ``90s``, ``30m``, ``2h`` or ``1d`` (a bare number is seconds) as seconds."""
    match = _DURATION_RE.match(text.lower())
    if not match or int(match.group(1)) == 0:
        raise ValueError(f"'{text}' is not a duration like 30m, 2h or 1d")
    return int(match.group(1)) * _UNITS[match.group(2)]
