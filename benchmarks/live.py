"""Benchmark live standings: ingests against the leaderboard that must show them at once.

On a seeded sandbox campaign (``oyren simulate``: N videos, about 10 observations each; cached
in the system temp folder), for each database (SQLite, and PostgreSQL with ``--postgres URL``):

- the full ingest of the campaign's observations (``init`` then ``ingest``, as ``oyren ingest``
  runs it), wall time and peak memory of the process, the decided rows built;
- rounds of an ingest of 1,000 new observations (500 of new videos that top the ranking, 500
  later sightings of videos already stored) into a store already holding the campaign, each
  followed by a leaderboard request to an app already serving (in-process, FastAPI's test
  client) that must show the new top video: the ingest's time, and the time from its commit to
  that response, and the CPU time the process spent on it (which other work on the machine
  barely changes, unlike the wall time);
- the first leaderboard request of a freshly started app (a new process, its start-up run as a
  server runs it before accepting connections), and the second; and how long the start took.

With ``--baseline-src DIR`` (the ``src`` folder of a checkout of the code to compare against, e.g.
the commit before decided rows) the same steps run with that code in the same run, so the ratios
printed compare like with like on the same machine and load. Each step runs in its own process,
timed from outside for the full ingest.

Usage: ``python benchmarks/live.py [--videos 100000 --videos 10000] [--rounds 15]
[--postgres URL] [--baseline-src DIR] [--baseline-rounds 1]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src"
sys.path.insert(0, str(SRC))

from oyren.rules.campaign import Campaign, load_campaign  # noqa: E402
from oyren.sandbox.simulate import write_simulation  # noqa: E402

CAMPAIGN_FILE = SRC / "oyren" / "data" / "sandbox-2024.toml"
CACHE = Path(tempfile.gettempdir()) / "oyren-bench"

# Runs in a fresh interpreter on the code under test (PYTHONPATH), so that both versions are
# measured the same way; only interfaces both have are used.
RUNNER = r"""
import json, sys, time
mode, url, campaign_path, data = sys.argv[1:5]
from oyren.rules.campaign import load_campaign
from oyren.store import ingest_observations, register_campaign
from oyren.store.db import open_database, transaction

def client():
    from fastapi.testclient import TestClient
    from oyren.settings import Settings
    from oyren.web.app import WebOptions, create_app
    from oyren.web.security import RateLimit
    off = {n: RateLimit(per_minute=0, burst=0) for n in ("page", "check", "submit", "login")}
    settings = Settings(database_url=url)
    # Visitors reach the site at its public address (the Host a proxy passes on).
    app = create_app(settings, options=WebOptions(rate_limits=off))
    return TestClient(app, base_url=settings.public_url)

campaign = load_campaign(campaign_path)
page = f"/campaigns/{campaign.id}/leaderboard"
if mode == "full":
    engine = open_database(url, create=True)
    start, cpu = time.perf_counter(), time.process_time()
    with transaction(engine) as session:
        register_campaign(session, campaign=campaign, by="benchmark")
    with transaction(engine) as session:
        ingest_observations(session, campaign_id=campaign.id, path=data, by="benchmark")
    print(json.dumps({"ingest_s": time.perf_counter() - start,
                      "ingest_cpu_s": time.process_time() - cpu}))
elif mode == "restart":
    started = time.perf_counter()
    # Entering the client runs the app's start-up (its lifespan), as a server does before it
    # accepts connections; the first request comes after it.
    with client() as web:
        ready, ready_cpu = time.perf_counter(), time.process_time()
        first = web.get(page)
        first_s, first_cpu = time.perf_counter() - ready, time.process_time() - ready_cpu
        t = time.perf_counter()
        second = web.get(page)
        second_s = time.perf_counter() - t
    assert first.status_code == second.status_code == 200, first.status_code
    print(json.dumps({"start_s": ready - started, "first_s": first_s, "second_s": second_s,
                      "first_cpu_s": first_cpu}))
elif mode == "rounds":
    files = json.loads(data)
    engine = open_database(url)
    web = client().__enter__()  # started as a server starts it
    assert web.get(page).status_code == 200  # the app is serving before the first ingest
    out = []
    for path, top in files:
        t = time.perf_counter()
        with transaction(engine) as session:
            ingest_observations(session, campaign_id=campaign.id, path=path, by="benchmark")
        ingested, cpu = time.perf_counter(), time.process_time()
        response = web.get(page)
        shown, shown_cpu = time.perf_counter(), time.process_time() - cpu
        assert response.status_code == 200 and top in response.text, "the new top is missing"
        out.append({"ingest_s": ingested - t, "shown_s": shown - ingested,
                    "shown_cpu_s": shown_cpu})
    print(json.dumps(out))
"""


def simulated(campaign: Campaign, videos: int) -> Path:
    """The simulated campaign's observations as JSONL (written once, then reused)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"live-{campaign.id}-{videos}-10-seed1.jsonl"
    if not path.exists():
        part = path.with_suffix(".part")
        write_simulation(campaign, part, videos=videos, seed=1, observations_per_video=10)
        part.replace(path)
    return path


def sightings(data: Path, count: int) -> list[dict[str, Any]]:
    """The last sighting of ``count`` stored videos, from the campaign's file."""
    last: dict[str, dict[str, Any]] = {}
    with data.open("rb") as handle:
        for line in handle:
            record = orjson.loads(line)
            vid = str(record["id"])
            known = last.get(vid)
            if (known is None and len(last) < count) or (
                known is not None and record["collected_at"] > known["collected_at"]
            ):
                last[vid] = record
    return list(last.values())


def new_batch(
    campaign: Campaign, folder: Path, number: int, seen: list[dict[str, Any]]
) -> tuple[str, str]:
    """1,000 new observations: 500 new videos topping the ranking, 500 later sightings."""
    out = folder / f"new-{number}.jsonl"
    tag = sorted(campaign.hashtags)[0]
    region = sorted(campaign.regions)[0]
    base = 18_000_000_000_000_000_000 + number * 1_000
    records = []
    for i in range(500):
        records.append(
            {
                "id": base + i,
                "username": f"bench_{number}_{i}",
                "create_time": campaign.window_start_ts + 86400,
                "region_code": region,
                "video_description": f"Dərs #{tag}",
                "hashtag_names": [tag],
                "video_duration": 60,
                "view_count": 2_000_000_000 + number * 1_000 + i,
                "like_count": 10,
                "comment_count": 1,
                "share_count": 1,
                "collected_at": campaign.cutoff_ts - 3600,
            }
        )
    for record in seen:
        later = dict(record)
        later["collected_at"] = record["collected_at"] + 60 * (number + 1)
        later["view_count"] = record["view_count"] + number + 1
        records.append(later)
    out.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in records))
    return str(out), str(base + 499)


def run(src: Path, *args: str) -> tuple[Any, float, int]:
    """Run the runner on the code in ``src``: its JSON answer, wall seconds, peak RSS bytes."""
    env = {**os.environ, "PYTHONPATH": str(src), "OPENBLAS_NUM_THREADS": "1"}
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", RUNNER, *args], env=env, stdout=subprocess.PIPE)
    assert proc.stdout is not None
    output = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if status != 0:
        raise SystemExit(f"the runner failed ({' '.join(args[:1])} on {src})")
    return orjson.loads(output), wall, usage.ru_maxrss * 1024


def fresh_url(kind: str, name: str, folder: Path, postgres: str | None) -> str:
    """An empty database for one measurement (on PostgreSQL, dropped first if it exists)."""
    if kind == "sqlite":
        path = folder / f"{name}.db"
        path.unlink(missing_ok=True)
        return f"sqlite:///{path}"
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    from oyren.store.db import normalize_url

    assert postgres is not None
    server = normalize_url(postgres)
    admin = create_engine(server, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    # Named after the URL's database (which must exist: the new ones are made from a
    # connection to it), so that runs given different ones never meet.
    database = f"{server.database or 'oyren_bench'}_{name}"
    with admin.connect() as connection:
        connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
        connection.exec_driver_sql(f"CREATE DATABASE {database}")
    admin.dispose()
    return normalize_url(postgres).set(database=database).render_as_string(hide_password=False)


def median_ms(values: list[float]) -> str:
    return f"{statistics.median(values) * 1000:,.1f} ms"


def measure(
    kind: str,
    videos: int,
    label: str,
    src: Path,
    rounds: int,
    folder: Path,
    postgres: str | None,
    campaign: Campaign,
) -> dict[str, Any]:
    """Every step for one database, size and version of the code."""
    data = simulated(campaign, videos)
    url = fresh_url(kind, f"{label}_{videos}", folder, postgres)
    full, wall, peak = run(src, "full", url, str(CAMPAIGN_FILE), str(data))
    if rounds == 0:
        return {"full_wall_s": wall, "full_ingest_s": full["ingest_s"],
                "full_cpu_s": full["ingest_cpu_s"], "full_peak_mb": peak / 1e6}  # fmt: skip
    seen = sightings(data, 500)
    batches = [new_batch(campaign, folder, n, seen) for n in range(rounds)]
    out, _, _ = run(src, "rounds", url, str(CAMPAIGN_FILE), orjson.dumps(batches).decode())
    restart, _, _ = run(src, "restart", url, str(CAMPAIGN_FILE), "")
    return {
        "full_wall_s": wall,
        "full_ingest_s": full["ingest_s"],
        "full_cpu_s": full["ingest_cpu_s"],
        "full_peak_mb": peak / 1e6,
        "ingest_1k": [r["ingest_s"] for r in out],
        "shown": [r["shown_s"] for r in out],
        "shown_cpu": [r.get("shown_cpu_s", float("nan")) for r in out],
        "restart": restart,
    }


def report(kind: str, videos: int, label: str, m: dict[str, Any]) -> None:
    if "shown" not in m:
        print(
            f"{kind:8} {videos:>7,} {label:9} full ingest {m['full_ingest_s']:7.1f} s "
            f"(cpu {m['full_cpu_s']:.1f} s, process {m['full_wall_s']:.1f} s, "
            f"peak {m['full_peak_mb']:,.0f} MB)",
            flush=True,
        )
        return
    print(
        f"{kind:8} {videos:>7,} {label:9} full ingest {m['full_ingest_s']:7.1f} s "
        f"(cpu {m['full_cpu_s']:.1f} s, process {m['full_wall_s']:.1f} s, "
        f"peak {m['full_peak_mb']:,.0f} MB) | "
        f"1,000 new: ingest {median_ms(m['ingest_1k'])}, to leaderboard {median_ms(m['shown'])} "
        f"(CPU {median_ms(m['shown_cpu'])}; max {max(m['shown']) * 1000:,.1f} ms, "
        f"{len(m['shown'])} rounds) | after restart: "
        f"start {m['restart']['start_s'] * 1000:,.0f} ms, "
        f"first {m['restart']['first_s'] * 1000:,.1f} ms "
        f"(CPU {m['restart'].get('first_cpu_s', float('nan')) * 1000:,.1f} ms), second "
        f"{m['restart']['second_s'] * 1000:,.1f} ms",
        flush=True,
    )


def full_only_ratios(kind: str, videos: int, turns: dict[str, list[dict[str, Any]]]) -> None:
    """Medians of the turns, and decided / baseline."""
    med = {
        label: {k: statistics.median(m[k] for m in ms) for k in ("full_ingest_s", "full_cpu_s")}
        for label, ms in turns.items()
    }
    d, b = med["decided"], med["baseline"]
    print(
        f"{kind:8} {videos:>7,} medians of {len(turns['decided'])} turns: decided "
        f"{d['full_ingest_s']:.1f} s (cpu {d['full_cpu_s']:.1f} s), baseline "
        f"{b['full_ingest_s']:.1f} s (cpu {b['full_cpu_s']:.1f} s); decided / baseline: wall "
        f"{d['full_ingest_s'] / b['full_ingest_s']:.2f}x, cpu "
        f"{d['full_cpu_s'] / b['full_cpu_s']:.2f}x",
        flush=True,
    )


def main() -> None:
    """Parse options, measure every database and size, print one line each and the ratios."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--videos", type=int, action="append", help="campaign sizes (repeatable)")
    parser.add_argument("--rounds", type=int, default=15, help="1,000-observation ingests")
    parser.add_argument("--postgres", help="a PostgreSQL server URL to measure too")
    parser.add_argument("--no-sqlite", action="store_true", help="measure PostgreSQL only")
    parser.add_argument("--baseline-src", type=Path, help="src folder of the code to compare")
    parser.add_argument("--baseline-rounds", type=int, default=1, help="its ingest rounds")
    parser.add_argument("--baseline-videos", type=int, help="the size the baseline runs at")
    parser.add_argument(
        "--full-only",
        type=int,
        metavar="N",
        help="only the full ingest, N times each, versions taking turns (with --baseline-src)",
    )
    args = parser.parse_args()
    sizes = args.videos or [100_000, 10_000]
    campaign = load_campaign(CAMPAIGN_FILE)
    kinds = ([] if args.no_sqlite else ["sqlite"]) + (["postgres"] if args.postgres else [])
    with tempfile.TemporaryDirectory(prefix="oyren-live-") as tmp:
        folder = Path(tmp)
        if args.full_only:
            for kind in kinds:
                for videos in sizes:
                    turns: dict[str, list[dict[str, Any]]] = {}
                    for _ in range(args.full_only):
                        for label, src in (("decided", SRC), ("baseline", args.baseline_src)):
                            if src is not None:
                                m = measure(kind, videos, label, src, 0, folder, args.postgres,
                                            campaign)  # fmt: skip
                                report(kind, videos, label, m)
                                turns.setdefault(label, []).append(m)
                    if "baseline" in turns:
                        full_only_ratios(kind, videos, turns)
            return
        for kind in kinds:
            for videos in sizes:
                m = measure(kind, videos, "decided", SRC, args.rounds, folder, args.postgres,
                            campaign)  # fmt: skip
                report(kind, videos, "decided", m)
                if args.baseline_src and videos == (args.baseline_videos or max(sizes)):
                    b = measure(kind, videos, "baseline", args.baseline_src, args.baseline_rounds,
                                folder, args.postgres, campaign)  # fmt: skip
                    report(kind, videos, "baseline", b)
                    print(
                        f"{kind:8} {videos:>7,} ratios (decided / baseline): full ingest "
                        f"{m['full_ingest_s'] / b['full_ingest_s']:.2f}x, peak memory "
                        f"{m['full_peak_mb'] / b['full_peak_mb']:.2f}x, to leaderboard "
                        f"{statistics.median(m['shown']) / statistics.median(b['shown']):.4f}x, "
                        f"first after restart "
                        f"{m['restart']['first_s'] / b['restart']['first_s']:.4f}x",
                        flush=True,
                    )


if __name__ == "__main__":
    main()
