"""Öyrən's exception tree.

Every error a user can cause derives from :class:`OyrenError`, so a shell (CLI, web) can catch
that one class, print its message and exit with status 2 without a traceback:

- :class:`OyrenError` — base class.
  - :class:`CampaignError` — a campaign file is missing, not TOML, or breaks a rule; names the
    file and the key.
  - :class:`InputError` — a line of an input file (observations, decisions, judgments) is bad;
    names the file, the line and the field.
  - :class:`StoreError` — the database refuses an operation (unknown campaign, frozen award, …).
    - :class:`StoreBusy` — another writer held the database past the busy timeout; nothing was
      changed, try again.
    - :class:`CollectorBusy` — another crawl or track of the same campaign is running.
    - :class:`NotFound` — what was asked for is not stored (the web app answers 404).
    - :class:`NotAllowed` — the account may not do this (the web app answers 403).
  - :class:`ConnectorError` — a remote API answered with an error we cannot recover from.
    - :class:`ApiUnavailable` — the API kept failing through every retry; try again later.
    - :class:`QuotaExhausted` — the API's daily quota is spent; says when it resets.
    - :class:`SearchExpired` — the API forgot a paged search (``search_id``); the crawl restarts
      that date span from its last stored cursor, so users only see it if that keeps failing.
  - :class:`BundleError` — an audit bundle is incomplete or does not verify.

Messages say what is wrong and what to do about it.
"""

from __future__ import annotations

__all__ = [
    "ApiUnavailable",
    "BundleError",
    "CampaignError",
    "CollectorBusy",
    "ConnectorError",
    "InputError",
    "NotAllowed",
    "NotFound",
    "OyrenError",
    "QuotaExhausted",
    "SearchExpired",
    "StoreBusy",
    "StoreError",
]


class OyrenError(Exception):
    """Base of every error a user can cause and fix."""


class CampaignError(OyrenError):
    """A campaign file is unreadable or invalid."""

    def __init__(self, message: str, *, path: str | None = None, key: str | None = None) -> None:
        self.path = path
        self.key = key
        where = ": ".join(part for part in (path, key) if part)
        super().__init__(f"{where}: {message}" if where else message)


class InputError(OyrenError):
    """A line of an input file is invalid."""

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        line: int | None = None,
        field: str | None = None,
    ) -> None:
        self.path = path
        self.line = line
        self.field = field
        self.reason = message
        where = path or "<input>"
        if line is not None:
            where += f", line {line}"
        if field is not None:
            where += f", field '{field}'"
        super().__init__(f"{where}: {message}")

    def __reduce__(self) -> tuple[object, ...]:
        # Rebuilt from its parts (as when sent back from a worker process), not from its message.
        return _input_error, (self.reason, self.path, self.line, self.field)


def _input_error(message: str, path: str | None, line: int | None, field: str | None) -> InputError:
    return InputError(message, path=path, line=line, field=field)


class StoreError(OyrenError):
    """The store cannot do what was asked."""


class NotFound(StoreError):
    """What was asked for is not stored: a campaign, a video, a jury round, an award (web: 404)."""


class StoreBusy(StoreError):
    """Another writer kept the database locked for longer than the busy timeout."""


class CollectorBusy(StoreError):
    """Another collector holds the campaign's lease."""


class NotAllowed(StoreError):
    """The signed-in account may not do this, e.g. a juror not invited to a round (web: 403)."""


class ConnectorError(OyrenError):
    """A remote API failed in a way retries cannot mend."""


class ApiUnavailable(ConnectorError):
    """The API kept failing (5xx, timeouts, unreadable answers) through every retry."""


class QuotaExhausted(ConnectorError):
    """The daily request quota is spent; ``reset_at`` (Unix seconds) is when it comes back."""

    def __init__(self, message: str, *, reset_at: int) -> None:
        self.reset_at = reset_at
        super().__init__(message)


class SearchExpired(ConnectorError):
    """The API no longer knows a ``search_id`` (or its cursor) it issued."""


class BundleError(OyrenError):
    """An audit bundle is incomplete or does not verify."""
