"""Helpers for tests that run the connector against the sandbox API."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import httpx

from oyren.clock import VirtualClock
from oyren.collect.connectors import TikTokClient, TikTokSettings
from oyren.collect.discover import campaign_dates
from oyren.rules.campaign import Campaign, parse_campaign
from oyren.rules.hashtags import fold
from oyren.rules.observations import Observation
from oyren.sandbox.simulate import Simulation, SimVideo

DAY = 86400
SANDBOX_SETTINGS = TikTokSettings("sandbox-client-key", "sandbox-client-secret", "http://sandbox")


@contextmanager
def client_factory() -> Iterator[Callable[..., TikTokClient]]:
    """Make sandbox clients over given transports; their HTTP clients close on leaving."""
    clients: list[httpx.Client] = []

    def make(
        transport: httpx.BaseTransport, clock: VirtualClock, store: Any = None, **kw: Any
    ) -> TikTokClient:
        http = httpx.Client(transport=transport)
        clients.append(http)
        return TikTokClient(http, SANDBOX_SETTINGS, clock=clock, book=store, seed=0, **kw)

    try:
        yield make
    finally:
        for http in clients:
            http.close()


def utc_date(ts: int) -> str:
    """The UTC date of ``ts`` as the API writes it."""
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y%m%d")


def expected_entries(campaign: Campaign, videos: tuple[SimVideo, ...]) -> set[str]:
    """What a crawl must find: region and a hashtag folding to the campaign's, in its UTC dates."""
    first, last = (d.strftime("%Y%m%d") for d in campaign_dates(campaign))
    return {
        v.video_id
        for v in videos
        if v.region_code in campaign.regions
        and any(fold(t) in campaign.folded_hashtags for t in v.hashtags)
        and first <= utc_date(v.create_time) <= last
    }


def short_campaign(sandbox: Campaign, starts: str = "2024-04-15") -> Campaign:
    """The sandbox campaign starting later: a week instead of two months."""
    return parse_campaign(sandbox.source_text.replace("starts = 2024-02-21", f"starts = {starts}"))


def api_video(n: int, sandbox: Campaign) -> dict[str, Any]:
    """A video object as the API returns it, posted a day before the deadline."""
    return {
        "id": 7340000000000000000 + n,
        "create_time": sandbox.cutoff_ts - DAY,
        "username": f"user{n}",
        "region_code": "AZ",
        "video_description": "#TikTokdanÖyrən",
        "video_duration": 40,
        "view_count": 10 * n,
    }


def assert_true_and_unique(observations: list[Observation], sim: Simulation) -> None:
    """Every stored observation is what the sandbox showed at that second, and none twice."""
    by_id = {v.video_id: v for v in sim.videos}
    keys = [(o.video_id, o.collected_at) for o in observations]
    assert len(keys) == len(set(keys))
    for o in observations:
        assert o == by_id[o.video_id].observe(o.collected_at)


class Killed(BaseException):
    """The process dies here (not an Exception: nothing may catch it)."""


class KillingTransport(httpx.BaseTransport):
    """The network edge, dying at random research requests: before sending, or after the answer."""

    def __init__(self, inner: httpx.BaseTransport, rng: random.Random, rate: float) -> None:
        self.inner = inner
        self.rng = rng
        self.rate = rate

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        research = request.url.path.startswith("/v2/research/")
        if research and self.rng.random() < self.rate / 2:
            raise Killed
        response = self.inner.handle_request(request)
        if research and self.rng.random() < self.rate / 2:
            raise Killed
        return response


class OutageTransport(httpx.BaseTransport):
    """The network edge during an outage: the first ``failures`` research requests get 500s."""

    def __init__(self, inner: httpx.BaseTransport, failures: int) -> None:
        self.inner = inner
        self.failures = failures

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.startswith("/v2/research/") and self.failures > 0:
            self.failures -= 1
            error = {"code": "internal_error", "message": "down", "log_id": "L"}
            return httpx.Response(500, json={"error": error})
        return self.inner.handle_request(request)
