"""Benchmark the store's flag refresh against screening the whole campaign held at once.

The background job that recomputes a campaign's integrity flags and the charts' daily views
(:func:`oyren.store.decided.refresh_flags`) reads the stored videos a part at a time, once,
keeping their series' intervals in files for the screener's second look. The baseline, run in
the same benchmark, is how it worked before: every observation of the campaign read into
memory, grouped into videos, screened at once (:func:`oyren.screening.flags.flag_videos`) and
the daily views summed over them.

The campaign is the simulator's bulk one (``oyren simulate --format parquet``: N videos, about
K observations each), ingested once into a SQLite file cached in the system temp folder (by its
parameters and the schema's revision). Each side runs in its own interpreter, timed from start
to exit, with its CPU time and peak memory, and writes what it found (every flag, the daily
views); the two must be the same.

Usage: ``python benchmarks/flags.py [--videos 100000] [--observations-per-video 10]
[--part-rows N] [--repeat 1]``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import engine as bench

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src"
sys.path.insert(0, str(SRC))

from oyren.rules.campaign import load_campaign  # noqa: E402
from oyren.store.db import SCHEMA_REVISION, open_database, transaction  # noqa: E402

CAMPAIGN_FILE = SRC / "oyren" / "data" / "sandbox-2024.toml"
CACHE = bench.CACHE
# The flags are computed as at this many days after the deadline (the charts run up to it).
DAYS_AFTER = 3

# What each side found (``flags``: each video's flags as stored, ``views``: the daily views),
# written as JSON to ``out``: the two files must be the same bytes.
_WRITE = """
import orjson
with open(out, "wb") as handle:
    handle.write(orjson.dumps({"flags": flags, "views_by_day": [list(d) for d in views]},
                              option=orjson.OPT_SORT_KEYS))
"""
# The refresh as it is: then the flags and daily views it stored are read back.
PARTS = (
    """
import sys
from sqlalchemy import select
from oyren.store import decided
from oyren.store.db import open_database, transaction
from oyren.store.models import DecidedFlagsRow
url, out, campaign_id, at, rows = sys.argv[1:6]
engine = open_database(url)
decided.refresh_flags(engine, campaign_id, at=int(at), part_rows=int(rows) or None)
with transaction(engine, write=False) as session:
    flags = dict(session.execute(select(DecidedFlagsRow.video_id, DecidedFlagsRow.flags).where(
        DecidedFlagsRow.campaign_id == campaign_id)).all())
    views = decided.status(session, campaign_id).views_by_day
"""
    + _WRITE
)
# The whole campaign held at once, as the refresh did it before.
WHOLE = (
    """
import sys
from sqlalchemy import select
from oyren.rules.videos import collect_videos
from oyren.rules.views import views_at
from oyren.screening.flags import flag_videos
from oyren.store import decided
from oyren.store.db import open_database, transaction
from oyren.store.models import DecidedVideoRow as V
from oyren.store.rows import parse_stored, require_campaign, stored_observations
url, out, campaign_id, at = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
engine = open_database(url)
with transaction(engine, write=False) as session:
    campaign = parse_stored(require_campaign(session, campaign_id).source_text, campaign_id)
    videos = list(collect_videos(stored_observations(session, campaign_id),
                                 cutoff=campaign.cutoff_ts).values())
    state = decided.status(session, campaign_id)
    eligible = dict(session.execute(select(V.video_id, V.create_time).where(
        V.campaign_id == campaign_id, V.generation == state.generation, V.eligible)).all())
flags = {vid: decided._flags_json(f) for vid, f in flag_videos(videos).items()}
views = []
for t in (int(day.timestamp()) for day in campaign.day_ends(at)):
    total = 0
    for video in videos:
        created = eligible.get(video.video_id)
        if created is not None and created <= t:
            total += views_at(video.times, video.views, cutoff=t, create_time=created).views
    views.append((t, total))
"""
    + _WRITE
)


def main() -> None:
    """Parse options, store (or reuse) the campaign, measure both sides, compare and print."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--videos", type=int, default=100_000, help="simulated videos")
    parser.add_argument(
        "--observations-per-video", type=int, default=10, help="crawls per video (about)"
    )
    parser.add_argument(
        "--part-rows", type=int, default=0, help="observations a part (default: the store's)"
    )
    parser.add_argument(
        "--repeat", type=int, default=1, help="run each side this many times; keep the least times"
    )
    args = parser.parse_args()
    campaign = load_campaign(CAMPAIGN_FILE)
    path = stored(args.videos, args.observations_per_video)
    url = f"sqlite:///{path}"
    at = campaign.cutoff_ts + DAYS_AFTER * 86400
    print(f"{observations(url):,} stored observations of {args.videos:,} videos")

    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="oyren-bench-") as tmp:
        outputs = {"refresh, in parts": Path(tmp) / "parts.json",
                   "whole campaign at once": Path(tmp) / "whole.json"}  # fmt: skip
        common = [url, "", campaign.id, str(at)]
        sides = {
            "refresh, in parts": [sys.executable, "-c", PARTS, *common, str(args.part_rows)],
            "whole campaign at once": [sys.executable, "-c", WHOLE, *common],
        }
        runs: dict[str, list[bench.Measurement]] = {name: [] for name in sides}
        for _ in range(max(1, args.repeat)):
            for name, command in sides.items():
                command[4] = str(outputs[name])
                runs[name].append(bench.measure(name, command, stdout=None))
        found = {name: out.read_bytes() for name, out in outputs.items()}
    same = len(set(found.values())) == 1
    best = {name: bench._best(measured) for name, measured in runs.items()}
    base = best["whole campaign at once"]
    print(f"{'':<24}{'wall s':>8}{'CPU s':>8}{'peak MiB':>10}{'CPU × whole':>13}"
          f"{'peak × whole':>14}")  # fmt: skip
    for name, m in best.items():
        print(
            f"{name:<24}{m.wall_s:>8.2f}{m.cpu_s:>8.2f}{m.peak_bytes / 2**20:>10,.0f}"
            f"{m.cpu_s / base.cpu_s:>13.2f}{m.peak_bytes / base.peak_bytes:>14.2f}"
        )
    print(
        f"({len(os.sched_getaffinity(0))} CPUs, load average {load:.1f} before the runs; "
        f"least wall and CPU time of {max(1, args.repeat)}; peak memory of all its processes)"
    )
    print(f"flags and daily views: {'the same' if same else 'DIFFERENT'}")
    if not same:
        sys.exit(1)


def stored(videos: int, per_video: int) -> Path:
    """A SQLite file holding the simulated campaign, ingested once (cached)."""
    path = CACHE / f"flags-sandbox-v{videos}-k{per_video}-{SCHEMA_REVISION}.db"
    if path.exists():
        return path
    CACHE.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="oyren-bench-") as tmp:
        data = Path(tmp) / "observations.parquet"
        print(f"simulating and storing {videos:,} videos (cached for later runs) ...", flush=True)
        oyren = [sys.executable, "-m", "oyren"]
        env = dict(os.environ, PYTHONPATH=str(SRC))
        simulate = ["simulate", "--campaign", str(CAMPAIGN_FILE), "--out", str(data), "--videos",
                    str(videos), "--observations-per-video", str(per_video)]  # fmt: skip
        subprocess.run([*oyren, *simulate], check=True, env=env, stdout=subprocess.DEVNULL)
        partial = Path(tmp) / "store.db"
        _ingest(f"sqlite:///{partial}", data)
        partial.replace(path)
    return path


def _ingest(url: str, data: Path) -> None:
    from oyren.store import ingest_observations, register_campaign

    campaign = load_campaign(CAMPAIGN_FILE)
    engine = open_database(url, create=True)
    try:
        with transaction(engine) as session:
            register_campaign(
                session, campaign=campaign, by="benchmark", at=campaign.window_start_ts - 86400
            )
        with transaction(engine) as session:
            ingest_observations(session, campaign_id=campaign.id, path=data, by="benchmark")
    finally:
        engine.dispose()


def observations(url: str) -> int:
    """How many observations the store holds."""
    from sqlalchemy import func, select

    from oyren.store.models import ObservationRow

    engine = open_database(url)
    try:
        with transaction(engine, write=False) as session:
            return int(session.scalar(select(func.count()).select_from(ObservationRow)) or 0)
    finally:
        engine.dispose()


if __name__ == "__main__":
    main()
