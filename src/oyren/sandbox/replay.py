"""Replaying the sandbox campaign through the real connector, for ``oyren demo`` and benchmarks.

:func:`collect_sandbox` serves a simulated campaign from :class:`~oyren.sandbox.api.SandboxAPI`
on a free loopback port, on a virtual clock that starts at the window's first instant, and runs
the workflows a real campaign runs — a refresh cycle and a discovery crawl every two hours, the
sweeps on both sides of the deadline — through :class:`~oyren.collect.connectors.TikTokClient`,
until every
entry's views at the deadline are bracketed. Nothing waits for real: sleeping moves the clock, so
two months replay as fast as the requests go.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import httpx

from oyren.clock import DAY, VirtualClock
from oyren.collect.checkpoints import CrawlStore
from oyren.collect.connectors.quota import QuotaLimits
from oyren.collect.connectors.tiktok import RetryPolicy, TikTokClient, TikTokSettings
from oyren.collect.discover import CrawlSettings, ProgressFn
from oyren.collect.track import TrackReport, TrackSettings, track
from oyren.rules.campaign import Campaign
from oyren.sandbox.api import SandboxAPI, SandboxConfig
from oyren.sandbox.server import serve
from oyren.sandbox.simulate import Simulation

__all__ = ["CollectReport", "collect_sandbox", "sandbox_client"]

HTTP_TIMEOUT_S = 30.0


@dataclass(frozen=True, slots=True)
class CollectReport:
    """What a replay did: the tracking report, and what the sandbox served."""

    track: TrackReport
    started_at: int
    ended_at: int
    sandbox: Counter[str] = field(default_factory=Counter)


def collect_sandbox(
    campaign: Campaign,
    sim: Simulation,
    store: CrawlStore,
    *,
    config: SandboxConfig | None = None,
    track_settings: TrackSettings | None = None,
    crawl_settings: CrawlSettings | None = None,
    limits: QuotaLimits | None = None,
    until: int | None = None,
    over_http: bool = True,
    progress: ProgressFn | None = None,
) -> CollectReport:
    """Collect ``sim`` from a sandbox API server into ``store``, on an accelerated clock.

    ``over_http`` serves the sandbox with uvicorn on 127.0.0.1 (a free port); without it the
    client talks to the sandbox through an in-process transport, which is faster.
    """
    clock = VirtualClock(campaign.window_start_ts)
    api = SandboxAPI(sim.videos, clock, config or SandboxConfig())
    end = until if until is not None else campaign.cutoff_ts + 7 * DAY
    if crawl_settings is None:
        # The sandbox says how long its index lags; the real API's ~2 days is the default.
        crawl_settings = CrawlSettings(settle_s=api.config.index_lag_s)
    with sandbox_client(api, store, over_http=over_http, limits=limits, seed=sim.seed) as client:
        report = track(
            client,
            store,
            campaign,
            settings=track_settings,
            crawl_settings=crawl_settings,
            keep_running=True,
            until=end,
            progress=progress,
        )
    return CollectReport(report, campaign.window_start_ts, int(clock.now()), Counter(api.stats))


@contextmanager
def sandbox_client(
    api: SandboxAPI,
    store: CrawlStore,
    *,
    over_http: bool = True,
    limits: QuotaLimits | None = None,
    retry: RetryPolicy | None = None,
    seed: int = 0,
) -> Iterator[TikTokClient]:
    """Yield a :class:`TikTokClient` on the sandbox's clock, served over loopback or in process."""
    base = "http://sandbox.invalid"
    with _served(api, over_http) as served_base:
        transport = None if over_http else api.transport()
        with httpx.Client(transport=transport, timeout=HTTP_TIMEOUT_S) as http:
            settings = TikTokSettings(
                api.config.client_key, api.config.client_secret, served_base or base
            )
            yield TikTokClient(
                http, settings, clock=api.clock, retry=retry, limits=limits, book=store, seed=seed
            )


@contextmanager
def _served(api: SandboxAPI, over_http: bool) -> Iterator[str | None]:
    if not over_http:
        yield None
        return
    with serve(api) as base:
        yield base
