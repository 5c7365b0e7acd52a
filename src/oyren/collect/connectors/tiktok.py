"""The TikTok Research API connector: credentials, the access token, video queries, retries.

:class:`TikTokClient` wraps an injected :class:`httpx.Client` and speaks the documented API:
a client-credentials token (``POST /v2/oauth/token/``), cached and fetched again before it
expires or when the API calls it invalid; and ``POST /v2/research/video/query/`` with the field
list in the URL and the query in a JSON body. Each answer becomes a :class:`VideoPage` of
:class:`~oyren.inputs.observations.Observation` objects stamped with the server's ``Date`` header,
the
instant the counts describe.

What the API is known to do, and what the client does about it:

- 5xx answers (500s still cost quota), HTML 504 pages, non-JSON bodies, timeouts: retried with
  exponential backoff and jitter, then :class:`~oyren.errors.ConnectorError`.
- 429 ``rate_limit_exceeded``: short waits for throttling; when it persists, or our own ledger
  says the day's quota is spent, :class:`~oyren.errors.QuotaExhausted` with the next 00:00 UTC.
- 401 ``access_token_invalid``: fetch a new token once and repeat the request.
- 400 ``invalid_params`` about the ``search_id`` or cursor: :class:`~oyren.errors.SearchExpired`,
  so the caller can restart the span from the cursor it stored.
- Videos that fail validation (missing keys, wrong types) are skipped and counted on the page.

Every attempt that reaches the research endpoint is written to a :class:`QuotaBook` against the
UTC day, so the quota ledger survives restarts when the book is a store.
"""

from __future__ import annotations

import logging
import os
import random
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import httpx
import orjson

from oyren import __version__
from oyren.clock import Clock, SystemClock, next_utc_midnight, utc_day
from oyren.collect.connectors.answers import (
    Malformed,
    Outcome,
    VideoPage,
    classify,
    http_date,
    is_int,
    json_object,
    parse_page,
    retry_after,
    token_error,
    unreadable,
)
from oyren.collect.connectors.quota import MemoryQuotaBook, QuotaBook, QuotaLimits
from oyren.errors import ApiUnavailable, ConnectorError, QuotaExhausted, SearchExpired

__all__ = [
    "DEFAULT_API_BASE",
    "MAX_COUNT",
    "MAX_SPAN_DAYS",
    "VIDEO_FIELDS",
    "RetryPolicy",
    "TikTokClient",
    "TikTokSettings",
    "VideoQuery",
    "connect",
    "tiktok_settings",
]

log = logging.getLogger("oyren.tiktok")

DEFAULT_API_BASE = "https://open.tiktokapis.com"
TOKEN_PATH = "/v2/oauth/token/"
VIDEO_QUERY_PATH = "/v2/research/video/query/"
# Every field the engine and integrity screening read, in the API's own names.
VIDEO_FIELDS = (
    "id",
    "create_time",
    "username",
    "region_code",
    "video_description",
    "hashtag_names",
    "video_duration",
    "view_count",
    "like_count",
    "comment_count",
    "share_count",
    "music_id",
    "voice_to_text",
)
MAX_COUNT = 100  # videos per page, the API's maximum
MAX_SPAN_DAYS = 30  # end_date at most 30 days after start_date
TOKEN_MARGIN_S = 300  # fetch a new token this long before the old one expires
_SCOPE_HINT = (
    "the client is not approved for the Research API (scope research.data.basic); "
    "check the project's approval on developers.tiktok.com"
)


@dataclass(frozen=True, slots=True)
class TikTokSettings:
    """Credentials and the API's base URL."""

    client_key: str
    client_secret: str = field(repr=False)
    api_base: str = DEFAULT_API_BASE


def tiktok_settings(environ: Mapping[str, str] | None = None) -> TikTokSettings:
    """Read ``TIKTOK_CLIENT_KEY``, ``TIKTOK_CLIENT_SECRET`` and ``OYREN_TIKTOK_API_BASE``."""
    env = os.environ if environ is None else environ
    missing = [
        k for k in ("TIKTOK_CLIENT_KEY", "TIKTOK_CLIENT_SECRET") if not env.get(k, "").strip()
    ]
    if missing:
        raise ConnectorError(
            f"{' and '.join(missing)} not set: export the Research API client key and secret "
            "of your approved TikTok project"
        )
    base = env.get("OYREN_TIKTOK_API_BASE", "").strip() or DEFAULT_API_BASE
    if not base.startswith(("https://", "http://")):
        raise ConnectorError(f"OYREN_TIKTOK_API_BASE must be an http(s) URL, not '{base}'")
    return TikTokSettings(
        client_key=env["TIKTOK_CLIENT_KEY"].strip(),
        client_secret=env["TIKTOK_CLIENT_SECRET"].strip(),
        api_base=base.rstrip("/"),
    )


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how long to retry each kind of failure."""

    attempts: int = 8  # tries of one request on 5xx, timeouts and unreadable answers
    base_delay_s: float = 2.0
    max_delay_s: float = 300.0
    throttle_attempts: int = 3  # 429s waited out before calling the day's quota spent
    throttle_delay_s: float = 60.0
    max_retry_after_s: float = 3600.0  # a longer Retry-After means: quota spent for the day

    def delay(self, failures: int, rng: random.Random) -> float:
        """Seconds to wait after the ``failures``-th failure in a row: doubling, with jitter."""
        ceiling = min(self.max_delay_s, self.base_delay_s * 2.0 ** (failures - 1))
        # Full jitter keeps many clients of one organization from retrying in step.
        return ceiling / 2 + rng.random() * ceiling / 2


@dataclass(frozen=True, slots=True)
class VideoQuery:
    """One request to the video query endpoint: the condition tree, the UTC dates, the page."""

    query: Mapping[str, Any]
    start_date: date
    end_date: date
    cursor: int = 0
    search_id: str | None = None
    max_count: int = MAX_COUNT

    def __post_init__(self) -> None:
        if self.end_date < self.start_date:
            raise ValueError("end_date is before start_date")
        if (self.end_date - self.start_date).days > MAX_SPAN_DAYS:
            raise ValueError(f"the API allows at most {MAX_SPAN_DAYS} days between the dates")
        if not 1 <= self.max_count <= MAX_COUNT:
            raise ValueError(f"max_count must be between 1 and {MAX_COUNT}")

    def body(self) -> dict[str, Any]:
        """Return the JSON body, as the API documents it."""
        body: dict[str, Any] = {
            "query": self.query,
            "start_date": self.start_date.strftime("%Y%m%d"),
            "end_date": self.end_date.strftime("%Y%m%d"),
            "max_count": self.max_count,
            "is_random": False,
        }
        if self.cursor:
            body["cursor"] = self.cursor
        if self.search_id:
            body["search_id"] = self.search_id
        return body

    def following(self, page: VideoPage) -> VideoQuery:
        """Return the request for the page after ``page``."""
        return VideoQuery(
            self.query,
            self.start_date,
            self.end_date,
            cursor=page.cursor,
            search_id=page.search_id or self.search_id,
            max_count=self.max_count,
        )


class TikTokClient:
    """A Research API client over an injected :class:`httpx.Client`."""

    def __init__(
        self,
        http: httpx.Client,
        settings: TikTokSettings,
        *,
        clock: Clock | None = None,
        retry: RetryPolicy | None = None,
        limits: QuotaLimits | None = None,
        book: QuotaBook | None = None,
        seed: int | None = None,
    ) -> None:
        self.http = http
        self.settings = settings
        self.clock: Clock = clock or SystemClock()
        self.retry = retry or RetryPolicy()
        self.limits = limits or QuotaLimits()
        self.book: QuotaBook = book or MemoryQuotaBook()
        self._rng = random.Random(seed)
        self._token: str | None = None
        self._token_expires = 0.0
        self._offset = 0.0  # server clock minus ours, learned from Date headers
        self._exhausted_until = 0
        self.requests = 0  # research requests sent by this client
        self.retries = 0
        self.tokens_fetched = 0

    # Time and quota ---------------------------------------------------------------------------

    def server_now(self) -> float:
        """Our best estimate of the API server's clock (the quota day follows it)."""
        return self.clock.now() + self._offset

    def quota_left(self) -> tuple[int, int]:
        """Return (requests, records) left today by our ledger."""
        now = self.server_now()
        if now < self._exhausted_until:
            return (0, 0)
        requests, records = self.book.quota_spent(utc_day(now))
        return (max(0, self.limits.requests - requests), max(0, self.limits.records - records))

    def _check_quota(self) -> None:
        requests, records = self.quota_left()
        if requests <= 0 or records <= 0:
            reset = max(self._exhausted_until, next_utc_midnight(self.server_now()))
            raise QuotaExhausted(
                f"the daily quota is spent ({self.limits.requests:,} requests, "
                f"{self.limits.records:,} records per UTC day); it resets at 00:00 UTC",
                reset_at=reset,
            )

    def _learn_server_time(self, response: httpx.Response) -> int | None:
        moment = http_date(response.headers.get("date"))
        if moment is not None:
            # Whole seconds, rounded down: our estimate of the server's time is never ahead of
            # it, so a wait for an instant on the server's clock never ends early.
            self._offset = moment - self.clock.now()
        return moment

    # Token -------------------------------------------------------------------------------------

    def token(self) -> str:
        """Return a valid access token, fetching one when there is none or it is about to expire."""
        if self._token is None or self.clock.now() >= self._token_expires - TOKEN_MARGIN_S:
            self._fetch_token()
        assert self._token is not None
        return self._token

    def _fetch_token(self) -> None:
        url = self.settings.api_base + TOKEN_PATH
        form = {
            "client_key": self.settings.client_key,
            "client_secret": self.settings.client_secret,
            "grant_type": "client_credentials",
        }
        failures = 0
        while True:
            reason = ""
            try:
                response = self.http.post(url, data=form, headers={"Cache-Control": "no-cache"})
            except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as exc:
                reason = f"{type(exc).__name__}: {exc}"
            else:
                self._learn_server_time(response)
                body = json_object(response)
                if response.status_code == 200 and body is not None:
                    token, expires = body.get("access_token"), body.get("expires_in")
                    if isinstance(token, str) and token and is_int(expires):
                        self._token = token
                        self._token_expires = self.clock.now() + int(expires)
                        self.tokens_fetched += 1
                        return
                    reason = "token answer without access_token and expires_in"
                elif response.status_code < 500 and body is not None:
                    raise ConnectorError(
                        f"TikTok refused the client credentials ({token_error(body)}); check "
                        "TIKTOK_CLIENT_KEY and TIKTOK_CLIENT_SECRET"
                    )
                else:
                    reason = unreadable(response)
            failures += 1
            if failures >= self.retry.attempts:
                raise ApiUnavailable(f"cannot get an access token after {failures} tries: {reason}")
            self.retries += 1
            log.warning("token request failed (%s); retrying", reason)
            self.clock.sleep(self.retry.delay(failures, self._rng))

    # Video query -------------------------------------------------------------------------------

    def query_videos(self, query: VideoQuery, *, fields: Sequence[str] = VIDEO_FIELDS) -> VideoPage:
        """Send one video query and return the page, retrying what can be retried."""
        # The documented URL form is ?fields=a,b,c with literal commas.
        url = f"{self.settings.api_base}{VIDEO_QUERY_PATH}?fields={','.join(fields)}"
        content = orjson.dumps(query.body())
        failures = throttles = 0
        refreshed = False
        while True:
            self._check_quota()
            headers = {
                "Authorization": f"Bearer {self.token()}",
                "Content-Type": "application/json",
            }
            day = utc_day(self.server_now())
            try:
                response = self.http.post(url, content=content, headers=headers)
            except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as exc:
                # A request that may have reached the server may have cost quota.
                if not isinstance(exc, httpx.ConnectError):
                    self._spend(day, 1, 0)
                reason = f"{type(exc).__name__}: {exc}"
                failures = self._back_off(failures, reason, "")
                continue
            collected_at = self._learn_server_time(response)
            if collected_at is None:
                collected_at = int(self.clock.now())
            outcome = classify(response)
            if outcome.kind != "rate_limit" and outcome.kind != "token":
                self._spend(day, 1, outcome.returned)
            if outcome.kind == "ok":
                assert outcome.data is not None
                try:
                    return parse_page(outcome.data, collected_at, outcome.log_id, url)
                except Malformed as exc:
                    failures = self._back_off(failures, str(exc), outcome.log_id)
                    continue
            if outcome.kind == "token":
                if refreshed:
                    raise ConnectorError(
                        f"the API rejects a freshly fetched access token ({outcome.describe()})"
                    )
                refreshed = True
                self._token = None
                continue
            if outcome.kind == "rate_limit":
                throttles = self._throttled(throttles, response, outcome)
                continue
            if outcome.kind == "search":
                raise SearchExpired(f"the API dropped the search: {outcome.describe()}")
            if outcome.kind == "retry":
                failures = self._back_off(failures, outcome.describe(), outcome.log_id)
                continue
            if outcome.kind == "scope":
                raise ConnectorError(f"{_SCOPE_HINT} ({outcome.describe()})")
            raise ConnectorError(f"the API refused the request: {outcome.describe()}")

    def _spend(self, day: str, requests: int, records: int) -> None:
        self.requests += requests
        self.book.record_quota(day, requests, records)

    def _back_off(self, failures: int, reason: str, log_id: str) -> int:
        failures += 1
        if failures >= self.retry.attempts:
            raise ApiUnavailable(
                f"the TikTok API kept failing ({reason}) after {failures} tries; what was "
                "collected is saved, run the command again later to resume"
                + (f" [log_id {log_id}]" if log_id else "")
            )
        self.retries += 1
        log.warning("video query failed (%s); retry %d [log_id %s]", reason, failures, log_id)
        self.clock.sleep(self.retry.delay(failures, self._rng))
        return failures

    def _throttled(self, throttles: int, response: httpx.Response, outcome: Outcome) -> int:
        now = self.server_now()
        wait_s = retry_after(response.headers.get("retry-after"))
        requests_left, records_left = self.quota_left()
        spent = requests_left <= 0 or records_left <= 0
        long_wait = wait_s is not None and wait_s > self.retry.max_retry_after_s
        if spent or long_wait or throttles >= self.retry.throttle_attempts:
            reset = int(now + wait_s) if wait_s is not None else next_utc_midnight(now)
            # The quota is shared by the organization: believe the API over our own ledger.
            self._exhausted_until = reset
            raise QuotaExhausted(
                f"the API says the quota is spent ({outcome.describe()}); it resets at 00:00 UTC",
                reset_at=reset,
            )
        throttles += 1
        self.retries += 1
        if wait_s is None:
            wait_s = self.retry.throttle_delay_s * 2.0 ** (throttles - 1)
        log.warning("rate limited; waiting %.0f s [log_id %s]", wait_s, outcome.log_id)
        self.clock.sleep(wait_s)
        return throttles


@contextmanager
def connect(
    settings: TikTokSettings,
    *,
    book: QuotaBook | None = None,
    limits: QuotaLimits | None = None,
    clock: Clock | None = None,
    timeout_s: float = 60.0,
) -> Iterator[TikTokClient]:
    """Open a client with its own HTTP connection pool; closed on leaving the block."""
    # Large date ranges make the API slow; a minute per answer is not unusual.
    timeout = httpx.Timeout(timeout_s, connect=10.0)
    headers = {"User-Agent": f"oyren/{__version__}"}
    with httpx.Client(timeout=timeout, headers=headers) as http:
        yield TikTokClient(http, settings, clock=clock, limits=limits, book=book)
