"""The demo: the bundled sandbox campaign in a fresh SQLite store, ready to serve.

:func:`build_demo` does what an organizer does over two months, in a minute: register the
campaign, collect its videos through the real TikTok connector from the sandbox API (served on a
loopback port, on an accelerated clock), import what was collected as ``oyren ingest`` does,
fetch the videos' thumbnails through the sandbox's oEmbed as ``oyren thumbnails`` does, and
leave an organizer account to sign in with.
"""

from __future__ import annotations

import re
import secrets
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

import httpx

from oyren.clock import SystemClock
from oyren.collect.checkpoints import FileCrawlStore
from oyren.collect.connectors.oembed import OEmbedClient
from oyren.collect.thumbnails import ImageFetcher, ImagePolicy, refresh_thumbnails
from oyren.rules.campaign import Campaign
from oyren.rules.results import Results
from oyren.sandbox.api import SandboxAPI
from oyren.sandbox.replay import collect_sandbox
from oyren.sandbox.simulate import Simulation, sandbox_campaign, simulate
from oyren.settings import Settings
from oyren.store import ingest_observations, register_campaign, standings
from oyren.store.accounts import create_user
from oyren.store.db import Engine, open_database, transaction
from oyren.store.decided import refresh_flags

__all__ = ["CREATORS_DEMO_ID", "DEMO_ORGANIZER", "Demo", "add_creators_campaign", "build_demo",
           "creators_campaign"]  # fmt: skip

CREATORS_DEMO_ID = "sandbox-creators"

DEMO_ORGANIZER = "demo"
DAY = 86400


@dataclass(frozen=True, slots=True)
class Demo:
    """A built demo: where its store is, what it holds, and how to sign in."""

    settings: Settings
    campaign: Campaign
    simulation: Simulation
    results: Results
    observations: int
    organizer: str
    password: str
    thumbnails: int = 0


def build_demo(
    folder: str | Path,
    *,
    videos: int = 3000,
    seed: int = 1,
    progress: Callable[[str, int, int | None], None] | None = None,
) -> Demo:
    """Build the sandbox campaign's store in ``folder`` (replacing an earlier demo there)."""
    root = Path(folder)
    root.mkdir(parents=True, exist_ok=True)
    database = root / "oyren.db"
    database.unlink(missing_ok=True)
    settings = Settings(database_url=f"sqlite:///{database}")
    campaign = sandbox_campaign()

    def step(name: str, done: int, total: int | None) -> None:
        if progress is not None:
            progress(name, done, total)

    invented = [0]

    def invent(n: int) -> None:
        invented[0] += n
        step("inventing videos", invented[0], videos)

    sim = simulate(campaign, videos=videos, seed=seed, progress=invent)
    password = secrets.token_urlsafe(12)
    engine = open_database(settings.database_url, create=True)
    try:
        with transaction(engine) as session:
            # Registered the day before the window opens, as an organizer would.
            register_campaign(session, campaign=campaign, by="demo",
                              at=campaign.window_start_ts - DAY)  # fmt: skip
            with tempfile.TemporaryDirectory() as tmp:
                path = _collect(campaign, sim, Path(tmp), step)
                summary = ingest_observations(
                    session, campaign_id=campaign.id, path=path, by="demo",
                    progress=lambda done, total: step("storing observations", done, total),
                )  # fmt: skip
            create_user(session, username=DEMO_ORGANIZER, password=password,
                        role="organizer", by="demo")  # fmt: skip
        # What the background job does once writes settle: integrity flags and daily views.
        step("screening", 0, 1)
        refresh_flags(engine, campaign.id)
        step("screening", 1, 1)
        with transaction(engine) as session:
            results = standings(session, campaign_id=campaign.id).results
        thumbs = fetch_thumbnails(
            engine, campaign.id, sim, limit=len(results.entries),
            progress=lambda done, total: step("fetching thumbnails", done, total),
        )  # fmt: skip
    finally:
        engine.dispose()
    return Demo(settings, campaign, sim, results, summary.new_observations, DEMO_ORGANIZER,
                password, thumbs)  # fmt: skip


def fetch_thumbnails(
    engine: Engine,
    campaign_id: str,
    sim: Simulation,
    *,
    limit: int,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Fetch the thumbnails of up to ``limit`` videos from the sandbox's oEmbed and images (in
    this process, on the real clock, as ``oyren thumbnails`` does from TikTok); return how many."""
    api = SandboxAPI(sim.videos, SystemClock())
    base = "http://sandbox.invalid"
    with httpx.Client(transport=api.transport()) as http:
        report = refresh_thumbnails(
            engine, campaign_id, ImageFetcher(http, policy=ImagePolicy(origins=(base,))),
            oembed=OEmbedClient(http, base + "/oembed"), limit=limit, progress=progress,
        )  # fmt: skip
    return report.fetched


def _collect(
    campaign: Campaign, sim: Simulation, folder: Path, step: Callable[[str, int, int | None], None]
) -> Path:
    """Crawl and track the simulation through the sandbox API; return the observations file."""
    with FileCrawlStore(folder, durable=False) as crawled:
        collect_sandbox(
            campaign,
            sim,
            crawled,
            # Videos found so far against the videos the sandbox invented (not all take part).
            progress=lambda p: step("collecting: videos found", p.videos, len(sim.videos)),
        )
    return folder / campaign.id / "observations.jsonl"


def creators_campaign(now: int) -> Campaign:
    """The sandbox rules as a campaign open at ``now`` (from 20 days before to 40 days after),
    for creators to take part in from the demo site."""
    from datetime import UTC, datetime, timedelta

    from oyren.rules.campaign import parse_campaign

    text = files("oyren.data").joinpath("sandbox-2024.toml").read_text(encoding="utf-8")
    today = datetime.fromtimestamp(now, tz=UTC).date()
    starts, ends = today - timedelta(days=20), today + timedelta(days=40)
    text = re.sub(r'^id = ".*"$', f'id = "{CREATORS_DEMO_ID}"', text, count=1, flags=re.M)
    text = re.sub(r"^starts = \S+", f"starts = {starts.isoformat()}", text, count=1, flags=re.M)
    text = re.sub(r"^ends = \S+", f"ends = {ends.isoformat()}", text, count=1, flags=re.M)
    announce = (ends + timedelta(days=9)).isoformat()
    text = re.sub(r"^announce_by = \S+", f"announce_by = {announce}", text, count=1, flags=re.M)
    return parse_campaign(text, path=f"{CREATORS_DEMO_ID}.toml")


def add_creators_campaign(settings: Settings, now: int) -> Campaign:
    """Register :func:`creators_campaign` in the demo store (replacing an earlier one's rules)."""
    campaign = creators_campaign(now)
    engine = open_database(settings.database_url)
    try:
        with transaction(engine) as session:
            register_campaign(session, campaign=campaign, by="demo", at=campaign.window_start_ts)
    finally:
        engine.dispose()
    return campaign
