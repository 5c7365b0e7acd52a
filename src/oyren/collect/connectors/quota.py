"""The daily quota: its limits, and the ledger where spending is written down per UTC day."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

__all__ = ["MemoryQuotaBook", "QuotaBook", "QuotaLimits"]


@dataclass(frozen=True, slots=True)
class QuotaLimits:
    """The daily quota: requests and records per UTC day (the whole organization's share)."""

    requests: int = 1000
    records: int = 100_000


class QuotaBook(Protocol):
    """Where quota spending is written down, per UTC day (``YYYY-MM-DD``)."""

    def quota_spent(self, day: str) -> tuple[int, int]:
        """Return (requests, records) spent on ``day``."""
        ...

    def record_quota(self, day: str, requests: int, records: int) -> None:
        """Add ``requests`` and ``records`` to ``day``'s spending."""
        ...


class MemoryQuotaBook:
    """A quota book that lives as long as the process."""

    def __init__(self) -> None:
        self.days: dict[str, tuple[int, int]] = {}

    def quota_spent(self, day: str) -> tuple[int, int]:
        """Return (requests, records) spent on ``day``."""
        return self.days.get(day, (0, 0))

    def record_quota(self, day: str, requests: int, records: int) -> None:
        """Add to ``day``'s spending."""
        spent = self.days.get(day, (0, 0))
        self.days[day] = (spent[0] + requests, spent[1] + records)
