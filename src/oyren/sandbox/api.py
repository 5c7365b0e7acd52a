"""The sandbox Research API: a simulated campaign served through the real API's endpoints.

:class:`SandboxAPI` answers ``POST /v2/oauth/token/`` and ``POST /v2/research/video/query/`` with
the same bodies, error shapes and quirks as the documented TikTok Research API, from the videos of
a :class:`~oyren.sandbox.simulate.Simulation`: each answer carries the views a video truly had at
the
sandbox clock's current second, and that second in the ``Date`` header. Its clock is injected, so a
two-month campaign replays in minutes (:class:`~oyren.clock.ScaledClock`) or as fast as requests go
(:class:`~oyren.clock.VirtualClock`).

What it does like the real API: client-credential tokens that expire; the daily quota (requests
and records per UTC day, 429 ``rate_limit_exceeded`` when spent); paged searches in decreasing id
order whose ``search_id`` lives a short while; hashtag names matched literally (ignoring case only);
``start_date``/``end_date`` in UTC at most 30 days apart. :class:`Faults` adds, at chosen rates,
500s that still cost quota, HTML 504s, throttling 429s, expired search ids, empty pages with
``has_more`` true, a video repeated from the previous page and search ids that change between
pages; ``hidden_share`` makes some videos private, taking cursor positions but never returned.

The same handler serves three ways: :meth:`SandboxAPI.transport` (an ``httpx`` transport, in
process), :meth:`SandboxAPI.asgi` (an ASGI app), and uvicorn on a loopback port
(:mod:`oyren.sandbox.server`).
"""

from __future__ import annotations

import hashlib
import random
import threading
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from email.utils import formatdate
from typing import Any, ClassVar
from urllib.parse import parse_qs

import httpx
import orjson

from oyren.clock import Clock, utc_day
from oyren.collect.connectors.tiktok import VIDEO_FIELDS
from oyren.sandbox.login import LoginConfig, SandboxLogin
from oyren.sandbox.query import (
    BadRequest,
    create_date,
    id_filter,
    matcher,
    parse_body,
    parse_fields,
)
from oyren.sandbox.simulate import SimVideo

__all__ = ["Faults", "SandboxAPI", "SandboxConfig"]

TOKEN_PATH = "/v2/oauth/token/"
QUERY_PATH = "/v2/research/video/query/"
PLAYER_PATH = "/embed/v2/"  # the platform's embeddable player, as the web app frames it
KNOWN_FIELDS = frozenset(
    {*VIDEO_FIELDS, "effect_ids", "playlist_id", "is_stem_verified", "favorites_count"}
)
ASGIApp = Callable[
    [MutableMapping[str, Any], Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]],
    Awaitable[None],
]


@dataclass(frozen=True, slots=True)
class Faults:
    """How often each known fault of the real API happens, per request (0 to 1)."""

    server_error: float = 0.0  # 500 internal_error, and the request still costs quota
    gateway_timeout: float = 0.0  # 504 with an HTML body, also charged
    throttle: float = 0.0  # 429 rate_limit_exceeded although the day's quota is not spent
    search_expired: float = 0.0  # 400 invalid_params "Search Id … is invalid or expired"
    empty_page: float = 0.0  # no videos, has_more true, the cursor where it was
    duplicate: float = 0.0  # a video of the previous page comes again
    new_search_id: float = 0.0  # the search continues under a new search_id

    # Short names for the command line: --faults 500=0.05,expired=0.1
    SHORT: ClassVar[dict[str, str]] = {
        "500": "server_error",
        "504": "gateway_timeout",
        "429": "throttle",
        "expired": "search_expired",
        "empty": "empty_page",
        "duplicate": "duplicate",
        "new-search-id": "new_search_id",
    }

    @classmethod
    def typical(cls) -> Faults:
        """Every fault at a rate that makes a crawl meet each of them many times."""
        return cls(0.05, 0.02, 0.03, 0.05, 0.05, 0.05, 0.1)

    @classmethod
    def parse(cls, text: str) -> Faults:
        """Read ``none``, ``typical`` or ``name=rate,…`` (names: 500, 504, 429, expired, …)."""
        text = text.strip()
        if text in ("", "none"):
            return cls()
        if text == "typical":
            return cls.typical()
        rates: dict[str, float] = {}
        for part in text.split(","):
            name, _, value = part.partition("=")
            key = cls.SHORT.get(name.strip(), name.strip().replace("-", "_"))
            if key not in {f.name for f in fields(cls)}:
                known = ", ".join(cls.SHORT)
                raise ValueError(f"unknown fault '{name.strip()}' (known: {known})")
            try:
                rate = float(value)
            except ValueError:
                raise ValueError(f"fault '{name.strip()}' needs a rate like 0.05") from None
            if not 0 <= rate <= 1:
                raise ValueError(f"fault '{name.strip()}' rate must be between 0 and 1")
            rates[key] = rate
        return cls(**rates)


@dataclass(frozen=True, slots=True)
class SandboxConfig:
    """The sandbox's credentials, limits and quirks."""

    client_key: str = "sandbox-client-key"
    client_secret: str = field(default="sandbox-client-secret", repr=False)
    token_lifetime_s: int = 7200
    search_ttl_s: int = 900  # undocumented in the real API; short-lived either way
    daily_requests: int = 1000
    daily_records: int = 100_000
    index_lag_s: int = 0  # videos younger than this are not searchable yet
    end_date_inclusive: bool = False  # undocumented in the real API; clients must cope with both
    hidden_share: float = 0.0  # deleted or private videos: counted by the cursor, never returned
    latency_s: float = 0.0  # clock time one research request takes
    faults: Faults = field(default_factory=Faults)
    seed: int = 0
    login: LoginConfig = field(default_factory=LoginConfig)  # Login Kit and Display API


@dataclass(frozen=True, slots=True)
class SandboxResponse:
    """An answer: status, headers, body."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes


def player_page(video_id: str) -> SandboxResponse:
    """A stand-in for the platform's embeddable player: a page that says which video it plays,
    so that tests and demos never reach the internet."""
    if not video_id.isdigit() or len(video_id) > 32:
        return SandboxResponse(404, (("content-type", "text/plain; charset=utf-8"),), b"no video")
    body = (
        "<!doctype html><html lang=en><meta charset=utf-8><title>Player stand-in</title>"
        '<body style="margin:0;background:#111;color:#eee;font:16px system-ui,sans-serif">'
        f'<main id="player" data-video="{video_id}" style="padding:1rem">'
        f"<p>Sandbox player</p><p>Playing video {video_id}</p></main></body></html>"
    )
    return SandboxResponse(200, (("content-type", "text/html; charset=utf-8"),), body.encode())


@dataclass(slots=True)
class _Search:
    key: bytes
    videos: list[SimVideo]
    expires_at: float
    last_page: list[SimVideo] = field(default_factory=list)


class SandboxAPI:
    """The simulated Research API; thread-safe, deterministic for a given seed and request order."""

    def __init__(
        self, videos: Sequence[SimVideo], clock: Clock, config: SandboxConfig | None = None
    ) -> None:
        self.config = config or SandboxConfig()
        self.clock = clock
        self.videos = sorted(videos, key=lambda v: int(v.video_id), reverse=True)
        self._by_id = {v.video_id: v for v in self.videos}
        self._dates = {v.video_id: create_date(v) for v in self.videos}
        self._hidden = frozenset(v.video_id for v in self.videos if self._is_hidden(v.video_id))
        self._rng = random.Random(self.config.seed)
        self._lock = threading.Lock()
        self._tokens: dict[str, float] = {}
        self._searches: dict[str, _Search] = {}
        self._spent: dict[str, list[int]] = {}
        self._serial = 0
        self.stats: Counter[str] = Counter()  # outcomes served, for tests and benchmarks
        # The Login Kit, Display API and oEmbed, on the same videos, clock and fault switches.
        self.login = SandboxLogin(
            self.videos,
            config=self.config.login,
            seed=self.config.seed,
            roll=lambda name: self._roll(getattr(self.config.faults, name)),
        )

    # Truth, for tests and benchmarks -----------------------------------------------------------

    def is_hidden(self, video_id: str) -> bool:
        """Tell whether the sandbox never returns this video (deleted or private)."""
        return video_id in self._hidden

    def spent(self, day: str) -> tuple[int, int]:
        """Return the (requests, records) charged on UTC ``day``."""
        requests, records = self._spent.get(day, [0, 0])
        return requests, records

    # Serving ------------------------------------------------------------------------------------

    def handle(
        self, method: str, path: str, query: str, headers: Mapping[str, str], body: bytes
    ) -> SandboxResponse:
        """Answer one HTTP request (header names in lower case)."""
        with self._lock:
            self._serial += 1
            now = self.clock.now()
            if method == "GET" and path.startswith(PLAYER_PATH):
                return player_page(path.removeprefix(PLAYER_PATH))
            answer = self.login.handle(method, path, query, headers, body, now)
            if answer is not None:
                return SandboxResponse(*answer)
            if method != "POST":
                return self._error(405, "invalid_request", "use POST", now)
            if path == TOKEN_PATH:
                return self._token(body, now)
            if path == QUERY_PATH:
                return self._query(query, headers, body)
            return self._error(404, "not_found", f"no endpoint {path}", now)

    def transport(self) -> httpx.MockTransport:
        """An ``httpx`` transport that answers in process, without a socket."""

        def handler(request: httpx.Request) -> httpx.Response:
            try:
                answer = self.handle(
                    request.method,
                    request.url.path,
                    request.url.query.decode("ascii"),
                    {k.lower(): v for k, v in request.headers.items()},
                    request.read(),
                )
            except ConnectionAbortedError as exc:  # a request dropped before any answer
                raise httpx.RemoteProtocolError(str(exc), request=request) from None
            return httpx.Response(answer.status, headers=list(answer.headers), content=answer.body)

        return httpx.MockTransport(handler)

    def asgi(self) -> ASGIApp:
        """An ASGI application serving the sandbox."""

        async def app(
            scope: MutableMapping[str, Any],
            receive: Callable[[], Awaitable[Any]],
            send: Callable[[Any], Awaitable[None]],
        ) -> None:
            if scope["type"] == "lifespan":
                while True:
                    message = await receive()
                    if message["type"] == "lifespan.startup":
                        await send({"type": "lifespan.startup.complete"})
                    elif message["type"] == "lifespan.shutdown":
                        await send({"type": "lifespan.shutdown.complete"})
                        return
            if scope["type"] != "http":
                return
            chunks = []
            while True:
                message = await receive()
                chunks.append(message.get("body", b""))
                if not message.get("more_body"):
                    break
            headers = {
                k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]
            }
            answer = self.handle(
                scope["method"],
                scope["path"],
                scope.get("query_string", b"").decode("latin-1"),
                headers,
                b"".join(chunks),
            )
            await send(
                {
                    "type": "http.response.start",
                    "status": answer.status,
                    "headers": [(k.encode(), v.encode()) for k, v in answer.headers]
                    + [(b"content-length", str(len(answer.body)).encode())],
                }
            )
            await send({"type": "http.response.body", "body": answer.body})

        return app

    # Endpoints ----------------------------------------------------------------------------------

    def _token(self, body: bytes, now: float) -> SandboxResponse:
        form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
        if form.get("grant_type") != "client_credentials":
            return self._oauth_error(
                400, "invalid_request", "grant_type must be client_credentials"
            )
        key, secret = form.get("client_key"), form.get("client_secret")
        if key != self.config.client_key or secret != self.config.client_secret:
            return self._oauth_error(401, "invalid_client", "Client key or secret is incorrect.")
        token = "clt." + hashlib.sha256(f"{self._serial}:{self.config.seed}".encode()).hexdigest()
        self._tokens[token] = now + self.config.token_lifetime_s
        self.stats["token"] += 1
        payload = {
            "access_token": token,
            "expires_in": self.config.token_lifetime_s,
            "token_type": "Bearer",
        }
        return self._json(200, payload, now)

    def _query(self, query: str, headers: Mapping[str, str], body: bytes) -> SandboxResponse:
        now = self.clock.now()
        auth = headers.get("authorization", "")
        token = auth[len("Bearer ") :] if auth.startswith("Bearer ") else ""
        if self._tokens.get(token, 0) <= now:
            self.stats["401"] += 1
            return self._error(401, "access_token_invalid", "The access token is invalid.", now)
        try:
            wanted = parse_fields(query)
            request = parse_body(body)
        except BadRequest as exc:
            self.stats["400"] += 1
            return self._error(400, "invalid_params", str(exc), now)
        spent = self._spent.setdefault(utc_day(now), [0, 0])
        if spent[0] >= self.config.daily_requests or spent[1] >= self.config.daily_records:
            self.stats["429_quota"] += 1
            return self._error(429, "rate_limit_exceeded", "Daily quota limit exceeded.", now)
        faults = self.config.faults
        if self._roll(faults.throttle):
            self.stats["429"] += 1
            return self._error(429, "rate_limit_exceeded", "Too many requests.", now)
        spent[0] += 1
        self.clock.sleep(self.config.latency_s)
        now = self.clock.now()
        if self._roll(faults.server_error):
            self.stats["500"] += 1
            return self._error(500, "internal_error", "Something went wrong.", now)
        if self._roll(faults.gateway_timeout):
            self.stats["504"] += 1
            html = b"<html><body><h1>504 Gateway Time-out</h1></body></html>"
            return SandboxResponse(504, (("content-type", "text/html"), ("date", _date(now))), html)
        search_id, search = self._search(request, now)
        if search is None:
            self.stats["expired"] += 1
            message = f"Search Id {search_id} is invalid or expired"
            return self._error(400, "invalid_params", message, now)
        cursor = request["cursor"]
        if search_id in self._searches and self._roll(faults.new_search_id):
            # The same cached search, under a new name.
            del self._searches[search_id]
            search_id = self._new_search_id()
            self._searches[search_id] = search
            self.stats["new_search_id"] += 1
        if request["search_id"] and self._roll(faults.empty_page):
            self.stats["empty"] += 1
            return self._page([], cursor, True, search_id, wanted, now)
        window = search.videos[cursor : cursor + request["max_count"]]
        page = [v for v in window if v.video_id not in self._hidden]
        if search.last_page and self._roll(faults.duplicate):
            page.insert(0, self._rng.choice(search.last_page))
            self.stats["duplicate"] += 1
        search.last_page = page
        search.expires_at = max(search.expires_at, now + 60)
        has_more = cursor + request["max_count"] < len(search.videos)
        spent[1] += len(page)
        self.stats["ok"] += 1
        return self._page(page, cursor + len(window), has_more, search_id, wanted, now)

    def _search(self, request: dict[str, Any], now: float) -> tuple[str, _Search | None]:
        """Find the request's cached search, or start one; None when its id is not valid."""
        key = orjson.dumps([request["query"], request["start_date"], request["end_date"]])
        for sid in [s for s, c in self._searches.items() if c.expires_at <= now]:
            del self._searches[sid]
        search_id = request["search_id"]
        if search_id:
            search = self._searches.get(search_id)
            if search is None or search.key != key:
                return search_id, None
            if self._roll(self.config.faults.search_expired):
                del self._searches[search_id]
                return search_id, None
            return search_id, search
        matches = matcher(request["query"])
        first, last = request["start_date"], request["end_date"]
        if not self.config.end_date_inclusive:
            last = (datetime.strptime(last, "%Y%m%d") - timedelta(days=1)).strftime("%Y%m%d")
        visible_until = now - self.config.index_lag_s
        ids = id_filter(request["query"])
        pool = self.videos
        if ids is not None:  # an index on ids, as the real API surely has
            pool = sorted(
                (self._by_id[i] for i in ids if i in self._by_id),
                key=lambda v: int(v.video_id),
                reverse=True,
            )
        found = [
            v
            for v in pool
            if v.create_time <= visible_until
            and first <= self._dates[v.video_id] <= last
            and matches(v)
        ]
        search_id = self._new_search_id()
        search = _Search(key, found, now + self.config.search_ttl_s)
        self._searches[search_id] = search
        self.stats["searches"] += 1
        return search_id, search

    def _page(
        self,
        videos: Sequence[SimVideo],
        cursor: int,
        has_more: bool,
        search_id: str,
        wanted: Sequence[str],
        now: float,
    ) -> SandboxResponse:
        t = int(now)
        data = {
            "videos": [_render(v, t, wanted) for v in videos],
            "cursor": cursor,
            "has_more": has_more,
            "search_id": search_id,
        }
        return self._json(200, {"data": data, "error": self._ok()}, now)

    # Helpers ------------------------------------------------------------------------------------

    def _roll(self, rate: float) -> bool:
        return rate > 0 and self._rng.random() < rate

    def _is_hidden(self, video_id: str) -> bool:
        digest = hashlib.sha256(f"{self.config.seed}:{video_id}".encode()).digest()
        return int.from_bytes(digest[:8], "big") / 2**64 < self.config.hidden_share

    def _new_search_id(self) -> str:
        return str(7_000_000_000_000_000_000 + self._rng.randrange(10**18))

    def _log_id(self) -> str:
        return f"2024{self._serial:016d}"

    def _ok(self) -> dict[str, str]:
        return {"code": "ok", "message": "", "log_id": self._log_id()}

    def _error(self, status: int, code: str, message: str, now: float) -> SandboxResponse:
        body = {"error": {"code": code, "message": message, "log_id": self._log_id()}}
        return self._json(status, body, now)

    def _oauth_error(self, status: int, code: str, description: str) -> SandboxResponse:
        body = {"error": code, "error_description": description, "log_id": self._log_id()}
        return self._json(status, body, self.clock.now())

    def _json(self, status: int, payload: object, now: float) -> SandboxResponse:
        headers = (("content-type", "application/json; charset=utf-8"), ("date", _date(now)))
        return SandboxResponse(status, headers, orjson.dumps(payload))


def _date(now: float) -> str:
    return formatdate(int(now), usegmt=True)


def _render(video: SimVideo, t: int, wanted: Sequence[str]) -> dict[str, Any]:
    """The video object as the API returns it, with the counts it had at second ``t``."""
    obs = video.observe(t)
    full: dict[str, Any] = {
        "id": int(video.video_id),
        "create_time": video.create_time,
        "username": video.username,
        "region_code": video.region_code,
        "video_description": video.description,
        "hashtag_names": list(video.hashtags),
        "video_duration": video.duration_s,
        "view_count": obs.view_count,
        "like_count": obs.like_count,
        "comment_count": obs.comment_count,
        "share_count": obs.share_count,
        "music_id": int(video.music_id),
        "voice_to_text": video.voice_to_text,
        "effect_ids": [],
    }
    return {k: full[k] for k in wanted if k in full and full[k] is not None}
