"""Defences every response and form needs: security headers, CSRF tokens and rate limits.

- :class:`SecurityHeaders` adds a strict Content-Security-Policy (our own scripts, styles and
  images only: no CDN, no inline script) and the usual hardening headers to every response.
- CSRF: each browser gets a random ``oyren_csrf`` cookie; a form carries
  ``HMAC(secret, cookie)``. A page on another site can make the browser send the cookie but can
  neither read it nor compute the token, and a cookie planted by a sibling domain fails the HMAC.
- :class:`RateLimiter` is an in-process token bucket per client address and purpose, for page
  reads: behind several workers each has its own buckets, which only loosens that limit.
  :class:`SharedRateLimiter` keeps the buckets of forms and sign-ins (:data:`SHARED_PURPOSES`)
  in the database (:mod:`oyren.store.ratelimits`), so every process spends the same tokens.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from oyren.errors import StoreBusy
from oyren.store.db import Engine, transaction
from oyren.store.ratelimits import spend_token

__all__ = [
    "CSP",
    "HSTS",
    "PLAYER_ORIGIN",
    "SHARED_PURPOSES",
    "RateLimit",
    "RateLimiter",
    "SecurityHeaders",
    "SharedRateLimiter",
    "content_security_policy",
    "csrf_token",
    "csrf_valid",
    "new_csrf_cookie",
]

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'"
)
# The platform's embeddable player: the one other origin a page may frame, and only once the
# reader clicks "play" (the frame is created by static/player.js then, not before).
PLAYER_ORIGIN = "https://www.tiktok.com"


def content_security_policy(player_origin: str = PLAYER_ORIGIN) -> str:
    """The policy: :data:`CSP`, plus frames from exactly the player's origin."""
    return f"{CSP}; frame-src {player_origin}"


HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
)


HSTS = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")
"""Sent on HTTPS responses only (a browser ignores it over HTTP): stay on HTTPS for a year."""


class SecurityHeaders:
    """ASGI middleware adding :data:`HEADERS` to every HTTP response, errors included, and
    :data:`HSTS` to those served over HTTPS (directly or through a trusted proxy)."""

    def __init__(self, app: ASGIApp, player_origin: str = PLAYER_ORIGIN) -> None:
        self.app = app
        policy = content_security_policy(player_origin).encode()
        self.headers = ((b"content-security-policy", policy), *HEADERS)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        secure = scope.get("scheme") == "https"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                wanted = (*self.headers, HSTS) if secure else self.headers
                extra = [(k, v) for k, v in wanted if k not in present]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def new_csrf_cookie() -> str:
    """A fresh random value for the ``oyren_csrf`` cookie."""
    return secrets.token_urlsafe(24)


def csrf_token(secret: bytes, cookie: str) -> str:
    """The token a form must carry for a browser holding ``cookie``."""
    return hmac.new(secret, b"csrf:" + cookie.encode(), hashlib.sha256).hexdigest()


def csrf_valid(secret: bytes, cookie: str | None, token: str | None) -> bool:
    """Tell whether ``token`` belongs to ``cookie`` (both must be present)."""
    if not cookie or not token:
        return False
    return hmac.compare_digest(csrf_token(secret, cookie), token)


@dataclass(frozen=True, slots=True)
class RateLimit:
    """A sustained rate (requests per minute) and a burst a client may spend at once."""

    per_minute: float
    burst: int


class RateLimiter:
    """Token buckets keyed by (purpose, client); the least recently seen keys are forgotten."""

    def __init__(
        self,
        limits: dict[str, RateLimit],
        *,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 50_000,
    ) -> None:
        self.limits = limits
        self._clock = clock
        self._max_keys = max_keys
        self._buckets: OrderedDict[tuple[str, str], tuple[float, float]] = OrderedDict()
        # Handlers may run in a thread pool; a bucket update must not interleave.
        self._lock = threading.Lock()

    def hit(self, purpose: str, client: str) -> float:
        """Spend one token; return 0 when allowed, else the seconds until one is available."""
        limit = self.limits.get(purpose)
        if limit is None or limit.per_minute <= 0:
            return 0.0
        rate = limit.per_minute / 60.0
        key = (purpose, client)
        with self._lock:
            now = self._clock()
            tokens, seen = self._buckets.pop(key, (float(limit.burst), now))
            tokens = min(float(limit.burst), tokens + (now - seen) * rate)
            wait = 0.0
            if tokens >= 1.0:
                tokens -= 1.0
            else:
                wait = (1.0 - tokens) / rate
            self._buckets[key] = (tokens, now)
            while len(self._buckets) > self._max_keys:
                self._buckets.popitem(last=False)
        return wait


SHARED_PURPOSES = frozenset({"check", "submit", "login", "creator"})
"""The limits every web process shares through the database: forms, sign-ins, the self-check."""


class SharedRateLimiter:
    """Token buckets in the database for :data:`SHARED_PURPOSES`, in memory for the rest.

    :meth:`hit` of a shared purpose makes one short write transaction: call it off the event
    loop. A database too busy to answer does not block a visitor: the try is let through
    and the in-process bucket limits it instead.
    """

    def __init__(
        self,
        engine: Engine,
        limits: dict[str, RateLimit],
        *,
        clock: Callable[[], float] = time.time,
        shared: frozenset[str] = SHARED_PURPOSES,
    ) -> None:
        self.engine = engine
        self.limits = limits
        self.shared = shared
        self.local = RateLimiter(limits, clock=clock)
        self._clock = clock

    def is_shared(self, purpose: str) -> bool:
        """True when ``purpose``'s buckets are in the database."""
        limit = self.limits.get(purpose)
        return purpose in self.shared and limit is not None and limit.per_minute > 0

    def hit(self, purpose: str, client: str) -> float:
        """Spend one token; return 0 when allowed, else the seconds until one is available."""
        if not self.is_shared(purpose):
            return self.local.hit(purpose, client)
        limit = self.limits[purpose]
        try:
            with transaction(self.engine) as session:
                return spend_token(
                    session,
                    purpose=purpose,
                    client=client,
                    per_minute=limit.per_minute,
                    burst=limit.burst,
                    now=self._clock(),
                )
        except StoreBusy:
            return self.local.hit(purpose, client)
