"""Benchmark a rebuild of the decided rows (a change of rules), on SQLite and PostgreSQL.

A change of rules rewrites every decided row of a campaign (``oyren rebuild``), then totals
every creator of the new generation. Three ways, each with one thing as the rebuild did it
before:

- "now": as it is;
- "topics again": every video's topic computed again, where now a rebuild keeps the topics of
  the generation before it when the themes and hashtags are the same and the video's text too
  (:data:`oyren.store.decided.CARRY_TOPICS`);
- "one by one": the creators' totals inserted one creator at a time (each insert also updates
  the generation's count of creators), where now they go a few thousand at a time
  (:data:`oyren.store.decided.CREATORS_AT_ONCE`).

The seeded sandbox campaign (``oyren simulate``: N videos, about 10 observations each; the JSONL
cached in the system temp folder) is ingested once per database. Then its rules change several
times, the minimum duration going round 31 s, 32 s and 33 s, each rebuild made one of the
three ways, taking turns so that over three rounds each way rebuilds under each of the rules. Each
rebuild is timed: wall time, the process's CPU time and, on PostgreSQL, the CPU time of every
PostgreSQL process on the machine over it (read from /proc: the server's share of the work).
The decided rows and creators' totals each side builds under the same rules must be the same.

Usage: ``python benchmarks/rebuild.py [--videos 20000] [--rounds 3] [--postgres URL]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src"
sys.path.insert(0, str(SRC))

from sqlalchemy import Engine, create_engine, select, text  # noqa: E402

from oyren.rules.campaign import Campaign, load_campaign, parse_campaign  # noqa: E402
from oyren.sandbox.simulate import write_simulation  # noqa: E402
from oyren.store import decided, ingest_observations, register_campaign  # noqa: E402
from oyren.store.db import open_database, transaction  # noqa: E402
from oyren.store.models import DecidedCreatorRow, DecidedVideoRow  # noqa: E402

CAMPAIGN_FILE = SRC / "oyren" / "data" / "sandbox-2024.toml"
CACHE = Path(tempfile.gettempdir()) / "oyren-bench"
SCHEMA = "oyren_bench_rebuild"
TICKS = os.sysconf("SC_CLK_TCK")
# Each way of rebuilding: the settings of oyren.store.decided it runs with.
SIDES: dict[str, dict[str, Any]] = {
    "now": {},
    "topics again": {"CARRY_TOPICS": False},
    "one by one": {"CREATORS_AT_ONCE": 1},
}


def main() -> None:
    """Parse options, then store and rebuild the campaign on each database, and print."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--videos", type=int, default=20_000, help="simulated videos")
    parser.add_argument("--rounds", type=int, default=3, help="rebuilds each way")
    parser.add_argument("--postgres", help="a PostgreSQL server URL to measure too")
    args = parser.parse_args()

    shipped = load_campaign(CAMPAIGN_FILE)
    data = simulated(shipped, args.videos)
    with tempfile.TemporaryDirectory(prefix="oyren-bench-") as folder:
        databases = {"sqlite": open_database(f"sqlite:///{folder}/oyren.db", create=True)}
        try:
            if args.postgres:
                databases["postgres"] = _fresh_schema(args.postgres)
            results = {name: measure(engine, shipped, data, args.rounds)
                       for name, engine in databases.items()}  # fmt: skip
        finally:
            for engine in databases.values():
                engine.dispose()
            if args.postgres:
                _drop_schema(args.postgres)
    print()
    print(f"{'median of ' + str(args.rounds):<22}{'wall s':>8}{'CPU s':>8}{'server CPU s':>14}")
    for name, sides in results.items():
        for side, runs in sides.items():
            wall, cpu, server = (statistics.median(run[i] for run in runs) for i in range(3))
            shown = f"{server:>14.2f}" if name == "postgres" else f"{'':>14}"
            print(f"{name + ', ' + side:<22}{wall:>8.2f}{cpu:>8.2f}{shown}")
        now = [statistics.median(run[i] for run in sides["now"]) for i in range(3)]
        for side in list(SIDES)[1:]:
            before = [statistics.median(run[i] for run in sides[side]) for i in range(3)]
            print(f"{name}: now / {side}: wall {now[0] / before[0]:.2f},"
                  f" CPU {now[1] / before[1]:.2f}")  # fmt: skip
    print(f"({len(os.sched_getaffinity(0))} CPUs, load average {os.getloadavg()[0]:.1f})")


def measure(
    engine: Engine, shipped: Campaign, data: Path, rounds: int
) -> dict[str, list[tuple[float, float, float]]]:
    """Store the campaign, then rebuild it ``rounds`` times each way, in turns."""
    start = time.perf_counter()
    with transaction(engine) as session:
        register_campaign(session, campaign=shipped, by="benchmark")
    with transaction(engine) as session:
        summary = ingest_observations(session, campaign_id=shipped.id, path=data, by="benchmark")
    stored = f"{summary.new_observations:,} observations of {summary.new_videos:,} videos"
    print(f"{engine.dialect.name}: stored {stored} in {time.perf_counter() - start:.1f} s",
          flush=True)  # fmt: skip
    runs: dict[str, list[tuple[float, float, float]]] = {side: [] for side in SIDES}
    built: dict[tuple[str, int], list[Any]] = {}
    rebuilds = 0
    ways = list(SIDES)
    for n in range(rounds):
        for side in ways[n % len(ways) :] + ways[: n % len(ways)]:
            minimum = 31 + rebuilds % len(ways)
            rebuilds += 1
            previous = decided.INLINE_REBUILD
            decided.INLINE_REBUILD = -1  # rebuilt below, by rebuild()
            try:
                with transaction(engine) as session:
                    register_campaign(session, campaign=_rules(shipped, minimum), by="benchmark")
            finally:
                decided.INLINE_REBUILD = previous
            saved = {name: getattr(decided, name) for name in SIDES[side]}
            for name, value in SIDES[side].items():
                setattr(decided, name, value)
            try:
                before = _now()
                assert decided.rebuild(engine, shipped.id)
                after = _now()
            finally:
                for name, value in saved.items():
                    setattr(decided, name, value)
            wall, cpu, server = (b - a for a, b in zip(before, after, strict=True))
            runs[side].append((wall, cpu, server))
            built.setdefault((side, minimum), _rows(engine, shipped.id))
            print(f"{engine.dialect.name}, min {minimum} s, {side:<12}: wall {wall:6.2f} s"
                  f"  CPU {cpu:6.2f} s  server CPU {server:6.2f} s", flush=True)  # fmt: skip
    for minimum in range(31, 31 + len(ways)):
        sides = [built[side, minimum] for side in SIDES if (side, minimum) in built]
        if any(rows != sides[0] for rows in sides):
            sys.exit(f"{engine.dialect.name}, min {minimum} s: the rows differ between the ways")
    print(f"{engine.dialect.name}: every way built the same rows under the same rules")
    return runs


def _rows(engine: Engine, campaign_id: str) -> list[Any]:
    """The campaign's decided rows and creators' totals, as pages read them (no generation)."""
    with transaction(engine, write=False) as session:
        generation = decided.status(session, campaign_id).generation
        out: list[Any] = []
        for table, key in ((DecidedVideoRow, "video_id"), (DecidedCreatorRow, "username_folded")):
            columns = table.__table__.c
            out += session.execute(
                select(*(c for c in columns if c.name != "generation"))
                .where(columns.campaign_id == campaign_id, columns.generation == generation)
                .order_by(columns[key])
            ).all()
    return [tuple(row) for row in out]


def simulated(campaign: Campaign, videos: int) -> Path:
    """The simulated campaign's observations as JSONL, written once (cached)."""
    path = CACHE / f"rebuild-{campaign.id}-v{videos}.jsonl"
    if not path.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.partial")
        write_simulation(campaign, partial, videos=videos, seed=1)
        partial.replace(path)
    return path


def _fresh_schema(url: str) -> Engine:
    """An engine on a new schema of its own in the server's database, at the newest revision."""
    _drop_schema(url, create=True)
    url = url.replace("postgresql://", "postgresql+psycopg://", 1)
    joiner = "&" if "?" in url else "?"
    return open_database(f"{url}{joiner}options=-csearch_path%3D{SCHEMA}", create=True)


def _drop_schema(url: str, *, create: bool = False) -> None:
    """Drop the benchmark's schema (and create it empty)."""
    admin = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with admin.begin() as connection:
            connection.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
            if create:
                connection.execute(text(f"CREATE SCHEMA {SCHEMA}"))
    finally:
        admin.dispose()


def _rules(shipped: Campaign, min_duration: int) -> Campaign:
    """The sandbox rules with another minimum duration."""
    source = shipped.source_text.replace("min_duration_s = 30", f"min_duration_s = {min_duration}")
    return parse_campaign(source, path=f"{shipped.id}.toml")


def _now() -> tuple[float, float, float]:
    """Now: wall clock, this process's CPU time, and every PostgreSQL process's CPU time."""
    return time.perf_counter(), time.process_time(), _postgres_cpu()


def _postgres_cpu() -> float:
    """The CPU seconds of every process named postgres on the machine (from /proc)."""
    total = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        name, rest = stat[stat.index("(") + 1 : stat.rindex(")")], stat[stat.rindex(")") + 2 :]
        if name.startswith("postgres"):
            fields = rest.split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / TICKS


if __name__ == "__main__":
    main()
