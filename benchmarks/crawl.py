"""Benchmark collection through the real connector against the sandbox API.

1. Discovery: requests spent per 100 entries found, against the fewest possible (one request per
   100 entries), for one crawl after the campaign and for crawling every two hours through it,
   with and without the API's faults.
2. Tracking under a daily quota: for each view prize's top 20 (by the sandbox's true counts),
   the error of the views at the deadline rebuilt from what tracking collected, for the
   quota-aware planner and for a naive round-robin refresh given the same budget. The budgets
   are scaled to the simulated campaign: "sweeps/day" (requests × 100 / videos) is how many
   times a day the budget could refresh every video, which is what carries over to the real
   quota (1,000 requests a day is one sweep a day over 100,000 entries).

Run: ``PYTHONPATH=src python benchmarks/crawl.py`` (a few minutes; deterministic for a seed).
"""

from __future__ import annotations

import argparse
import math
import statistics
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass

from oyren.batch.evaluate import evaluate, evaluate_observations
from oyren.clock import DAY, HOUR, VirtualClock
from oyren.collect.checkpoints import FileCrawlStore
from oyren.collect.connectors import QuotaLimits
from oyren.collect.discover import CrawlSettings, crawl
from oyren.collect.plan import PlannerSettings
from oyren.collect.track import TrackSettings, track
from oyren.rules.campaign import Campaign
from oyren.rules.results import Results
from oyren.sandbox.api import Faults, SandboxAPI, SandboxConfig
from oyren.sandbox.replay import sandbox_client
from oyren.sandbox.simulate import Simulation, sandbox_campaign, simulate

TOP = 20
FAULTS = Faults.typical()
HIDDEN = 0.02  # deleted or private videos, counted by the cursor but never returned


@dataclass(frozen=True)
class DiscoveryRow:
    scenario: str
    entries: int
    requests: int
    faults: int

    def cells(self) -> list[str]:
        fewest = math.ceil(self.entries / 100)
        return [
            self.scenario,
            f"{self.entries:,}",
            f"{self.requests:,}",
            f"{100 * self.requests / self.entries:.2f}",
            f"{100 * fewest / self.entries:.2f}",
            f"{self.requests / fewest:.2f}×",
            f"{self.faults:,}",
        ]


def discovery(campaign: Campaign, sim: Simulation, *, faults: bool, live: bool) -> DiscoveryRow:
    """Crawl once after the campaign, or every two hours through it (``live``)."""
    config = SandboxConfig(
        faults=FAULTS if faults else Faults(),
        hidden_share=HIDDEN if faults else 0.0,
        index_lag_s=2 * DAY if live else 0,
        seed=7,
    )
    start = campaign.window_start_ts if live else campaign.cutoff_ts + 3 * DAY
    clock = VirtualClock(start)
    api = SandboxAPI(sim.videos, clock, config)
    with tempfile.TemporaryDirectory() as tmp, FileCrawlStore(tmp, durable=False) as store:
        with sandbox_client(api, store, over_http=False, seed=1) as client:
            while True:
                report = crawl(client, store, campaign)
                if not live or report.spans_planned == 0:
                    break
                clock.sleep(2 * HOUR)
        entries = len(store.videos(campaign.id, cutoff=campaign.cutoff_ts))
        requests = client.requests
    name = ("every 2 h through the campaign" if live else "once, after the campaign") + (
        ", faults" if faults else ""
    )
    extra = sum(api.stats[k] for k in ("500", "504", "429", "expired", "empty"))
    return DiscoveryRow(name, entries, requests, extra)


@dataclass(frozen=True)
class TrackingRow:
    strategy: str
    budget: int
    requests: int
    best: list[float]  # relative errors of the best-video top 20
    discover: list[float]  # relative errors of the discover top 20
    best_close: int  # of the top 20 videos, how many are observed or bracketed within an hour
    winners_right: str

    def cells(self, videos: int) -> list[str]:
        return [
            self.strategy,
            f"{self.budget:,}",
            f"{self.budget * 100 / videos:.2f}",
            f"{self.requests:,}",
            _pct(statistics.median(self.best)),
            _pct(max(self.best)),
            f"{self.best_close}/{TOP}",
            _pct(statistics.median(self.discover)),
            _pct(max(self.discover)),
            self.winners_right,
        ]


def tracking(
    campaign: Campaign, sim: Simulation, truth: Results, *, strategy: str, budget: int
) -> TrackingRow:
    """Replay the campaign with discovery and tracking every two hours on ``budget`` a day."""
    clock = VirtualClock(campaign.window_start_ts)
    api = SandboxAPI(sim.videos, clock, SandboxConfig(faults=FAULTS, seed=11))
    settings = TrackSettings(planner=PlannerSettings(), strategy=strategy)
    with tempfile.TemporaryDirectory() as tmp, FileCrawlStore(tmp, durable=False) as store:
        limits = QuotaLimits(requests=budget)
        with sandbox_client(api, store, over_http=False, limits=limits, seed=2) as client:
            report = track(
                client,
                store,
                campaign,
                settings=settings,
                crawl_settings=CrawlSettings(settle_s=0),
                keep_running=True,
                until=campaign.cutoff_ts + 3 * DAY,
            )
        ours = evaluate(campaign, store.videos(campaign.id, cutoff=campaign.cutoff_ts))
    found = {e.video_id: e for e in ours.entries}
    best, close = [], 0
    for entry in truth.eligible[:TOP]:
        mine = found.get(entry.video_id)
        best.append(_error(mine.views_at_cutoff if mine else 0, entry.views_at_cutoff))
        if mine and mine.gap_s is not None and mine.gap_s <= HOUR:
            close += 1
    discover = []
    for _, views, ids in truth.creators[:TOP]:
        mine_total = sum(found[i].views_at_cutoff for i in ids if i in found)
        discover.append(_error(mine_total, views))
    right = (
        ours.winners.best_video == truth.winners.best_video
        and ours.winners.discover is not None
        and truth.winners.discover is not None
        and ours.winners.discover.username == truth.winners.discover.username
    )
    name = "quota-aware" if strategy == "priority" else "round-robin"
    return TrackingRow(
        name, budget, report.requests, best, discover, close, "yes" if right else "no"
    )


def true_results(campaign: Campaign, sim: Simulation) -> Results:
    """The contest decided on the true counts at the deadline instant."""
    return evaluate_observations(campaign, (v.observe(campaign.cutoff_ts) for v in sim.videos))


def _error(estimate: int, true: int) -> float:
    return abs(estimate - true) / true if true else 0.0


def _pct(x: float) -> str:
    return f"{100 * x:.3f}%"


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A Markdown table, aligned for reading as text too."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    lines = [
        "| " + " | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)) + " |",
        "|" + "|".join("-" * (w + 2) for w in widths) + "|",
    ]
    lines += [
        "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |" for r in rows
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--budgets", default="50,20,10,6", help="daily requests, comma-separated")
    args = parser.parse_args()
    campaign = sandbox_campaign()
    sim = simulate(campaign, videos=args.videos, seed=args.seed)
    started = time.monotonic()

    print(
        f"Sandbox campaign: {args.videos:,} simulated videos (seed {args.seed}), "
        f"{campaign.starts} to {campaign.ends} ({campaign.timezone}).\n"
    )
    print("Discovery: requests per 100 entries found\n")
    rows = [
        discovery(campaign, sim, faults=faults, live=live).cells()
        for live in (False, True)
        for faults in (False, True)
    ]
    header = [
        "crawl",
        "entries",
        "requests",
        "per 100",
        "fewest per 100",
        "× fewest",
        "fault answers",
    ]
    print(table(header, rows))

    truth = true_results(campaign, sim)
    print(f"\nTracking under a daily quota (typical faults on): top {TOP} of each view prize\n")
    results = []
    for budget in (int(b) for b in args.budgets.split(",")):
        for strategy in ("priority", "round_robin"):
            row = tracking(campaign, sim, truth, strategy=strategy, budget=budget)
            results.append(row.cells(args.videos))
    header = [
        "refresh",
        "requests/day",
        "sweeps/day",
        "requests spent",
        "best video: median error",
        "max error",
        "bracketed ≤ 1 h",
        "discover: median error",
        "max error",
        "both winners right",
    ]
    print(table(header, results))
    print(f"\n({time.monotonic() - started:.0f} s)")


if __name__ == "__main__":
    main()
