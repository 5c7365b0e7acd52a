"""Benchmark the dashboard's and the charts' numbers: counted in the database, and row by row.

A sandbox campaign is simulated (``oyren simulate``: N videos, about 10 observations each) and
ingested into an SQLite store in a temporary folder, with a decision on one video in ten. Then,
each in a subprocess of its own:

- ``tallies``: how the dashboard counts (:func:`oyren.pages.organizer.health`), with
  :func:`oyren.store.decided.tallies` (the decided rows counted by kind in one grouped query)
  and the numbers from it, the queue's length included;
- ``every row``: the baseline, the same numbers from :func:`oyren.store.decided.results` (every
  decided row as an entry, with the stored flags) and the moderation queue built from them, as
  the dashboard did before;
- ``charts: counts``: the public charts' numbers (eligible entries posted by each day's end, by
  topic, by views) as :func:`oyren.pages.trends.stats` counts them live, with
  :func:`oyren.store.decided.eligible_counts`;
- ``charts: rows``: their baseline, every eligible row's (posted, views, topic) read and counted
  in Python, as the charts did before;
- ``queue: page``: two pages of the moderation queue (the first; the second of the flagged
  videos, most viewed first) with :func:`oyren.store.moderation.queue_page`, as the organizer's
  queue page reads them;
- ``queue: rows``: their baseline, the whole results and the whole queue built from them, then
  the same pages, as the queue page did before.

Each times its counting alone (after its imports and a first connection) and prints its numbers,
which must agree; its peak memory is the whole process's. The ratios come from the same run.

Usage: ``python benchmarks/dashboard.py [--videos N]``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

CAMPAIGN = ROOT / "src" / "oyren" / "data" / "sandbox-2024.toml"
# Each way of counting, and its baseline: the same numbers read row by row.
PAIRS = (
    ("tallies", "every row"),
    ("charts: counts", "charts: rows"),
    ("queue: page", "queue: rows"),
)

SIDE = """
import json, sys, time
from sqlalchemy import select
from oyren.pages.trends import VIEW_BINS, count_entries
from oyren.rules.explain import entry_status
from collections import Counter
from oyren.store import decided, moderation_queue, waiting_in
from oyren.store.moderation import QueueChoice, queue_page
from oyren.store.models import DecidedVideoRow as V
from oyren.store.db import create_db_engine, transaction
from oyren.store.rows import parse_stored, require_campaign

url, campaign_id, side = sys.argv[1:4]
engine = create_db_engine(url)
with transaction(engine, write=False) as session:  # connected, imports done: not counted
    decided.status(session, campaign_id)
wall, cpu = time.perf_counter(), time.process_time()
with transaction(engine, write=False) as session:
    state = decided.status(session, campaign_id)
    if side == "tallies":
        kinds = decided.tallies(session, state, campaign_id)

        def count(kind):
            return sum(t.videos for t in kinds if kind(t))

        numbers = [count(lambda t: True), count(lambda t: t.eligible),
                   count(lambda t: entry_status(t.reasons) == "pending"),
                   count(lambda t: "excluded_by_moderator" in t.reasons),
                   count(lambda t: "removed" in t.reasons), waiting_in(kinds)]
    elif side.startswith("charts"):
        campaign = parse_stored(require_campaign(session, campaign_id).source_text, campaign_id)
        ends = [int(day.timestamp()) for day in campaign.day_ends(campaign.cutoff_ts)]
        if side == "charts: counts":
            c = decided.eligible_counts(session, state, campaign_id, posted_by=ends,
                                        views_from=VIEW_BINS)
            posted, topics, spread = c.posted, c.topics, c.views
        else:  # what the charts did before: every eligible row, counted in Python
            rows = session.execute(
                select(V.create_time, V.views, V.topic).where(
                    V.campaign_id == campaign_id, V.generation == state.generation, V.eligible)
            ).all()
            posted, topics, spread = count_entries([tuple(r) for r in rows], ends)
        numbers = [list(posted), sorted([t or "", n] for t, n in topics), list(spread)]
    elif side.startswith("queue"):
        # Two pages of the moderation queue: the first, and the second of the flagged by views.
        campaign = parse_stored(require_campaign(session, campaign_id).source_text, campaign_id)
        if side == "queue: page":
            first = queue_page(session, state, campaign, limit=50)
            flagged = queue_page(session, state, campaign, QueueChoice(why="flagged", sort="views"),
                                 offset=50, limit=50).items
            shown, total, whys = first.items, first.total, list(first.whys)
        else:  # what the page did before: the whole results, the whole queue, then the pages
            results = decided.results(session, state, campaign)
            whole = moderation_queue(session, campaign_id=campaign_id, results=results)
            by_views = sorted((i for i in whole if i.why == "flagged"),
                              key=lambda i: -i.entry.views_at_cutoff)
            shown, flagged, total = whole[:50], by_views[50:100], len(whole)
            whys = sorted(Counter(i.why for i in whole).items())
        numbers = [[[i.entry.video_id, i.why, i.detail] for i in (*shown, *flagged)], total,
                   [list(w) for w in whys]]
    else:
        campaign = parse_stored(require_campaign(session, campaign_id).source_text, campaign_id)
        results = decided.results(session, state, campaign)
        e = results.entries
        numbers = [len(e), sum(x.eligible for x in e),
                   sum(entry_status(x.reasons) == "pending" for x in e),
                   sum("excluded_by_moderator" in x.reasons for x in e),
                   sum("removed" in x.reasons for x in e),
                   len(moderation_queue(session, campaign_id=campaign_id, results=results))]
wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
# The peak of this process alone (getrusage's would start from the parent's size at the fork).
with open("/proc/self/status") as status:
    peak = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
print(json.dumps([numbers, wall, cpu, peak]))
"""


def build(folder: Path, videos: int) -> tuple[str, str]:
    """Simulate and store the campaign; return the database URL and the campaign's id."""
    from oyren.rules.campaign import load_campaign
    from oyren.sandbox.simulate import write_simulation
    from oyren.store import ingest_observations, moderate, register_campaign
    from oyren.store.db import create_db_engine, migrate, transaction
    from oyren.store.decided import refresh_flags
    from oyren.store.rows import video_ids

    campaign = load_campaign(CAMPAIGN)
    data = folder / "observations.jsonl"
    write_simulation(campaign, data, videos=videos, seed=1)
    url = f"sqlite:///{folder / 'oyren.db'}"
    migrate(url)
    engine = create_db_engine(url)
    with transaction(engine) as session:
        register_campaign(session, campaign=campaign, by="benchmark", at=1)
        ingest_observations(session, campaign_id=campaign.id, path=data, by="benchmark")
    with transaction(engine) as session:
        for n, video_id in enumerate(sorted(video_ids(session, campaign.id))):
            if n % 10 == 0:
                moderate(session, campaign_id=campaign.id, video_id=video_id,
                         action="include" if n % 20 else "exclude", reason="checked",
                         by="benchmark", at=2)  # fmt: skip
    # The background job after writes: integrity flags (the queue weighs them) and daily views.
    refresh_flags(engine, campaign.id, at=campaign.cutoff_ts + 86400)
    engine.dispose()
    return url, campaign.id


def measure(url: str, campaign_id: str, side: str) -> tuple[float, float, int, list[int]]:
    """Run one side in a subprocess: the wall and CPU seconds of its counting (after imports
    and the first connection), its peak memory in KiB, and its numbers."""
    out = subprocess.run([sys.executable, "-c", SIDE, url, campaign_id, side],
                         check=True, capture_output=True, text=True,
                         env={"PYTHONPATH": str(ROOT / "src")})  # fmt: skip
    numbers, wall, cpu, peak = json.loads(out.stdout)
    return wall, cpu, peak, numbers


def main() -> None:
    """Build the store, measure both sides, print them side by side."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--videos", type=int, default=100_000, help="simulated videos")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="oyren-bench-") as tmp:
        print(f"simulating and storing {args.videos:,} videos ...", flush=True)
        url, campaign_id = build(Path(tmp), args.videos)
        rows = {side: measure(url, campaign_id, side) for pair in PAIRS for side in pair}
    print(f"\n{'':16}{'wall s':>8}{'CPU s':>8}{'peak MiB':>10}{'CPU ×':>8}")
    agree = True
    for side, baseline in PAIRS:
        base_cpu = rows[baseline][1]
        for name in (side, baseline):
            wall, cpu, peak, _ = rows[name]
            print(f"{name:16}{wall:8.2f}{cpu:8.2f}{peak / 1024:10.0f}{cpu / base_cpu:8.2f}")
        agree = agree and rows[side][3] == rows[baseline][3]
    numbers = rows["tallies"][3]
    print(f"dashboard (videos, eligible, pending, excluded, removed, waiting): {numbers}")
    print("every pair's numbers are the same" if agree else "NUMBERS DIFFER within a pair")
    print("(wall and CPU: the counting alone; peak: the whole process, imports included)")
    if not agree:
        sys.exit(1)


if __name__ == "__main__":
    main()
