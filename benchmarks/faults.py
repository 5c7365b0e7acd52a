"""Fault harness: ``kill -9`` of ``oyren crawl`` and ``oyren track`` at random moments.

The sandbox Research API is served on a loopback port as ``oyren sandbox-api`` serves it (the
same :func:`~oyren.sandbox.server.sandbox_for` campaign, the same uvicorn server), here in this
process so that its answers can be written down. Each round starts from a fresh database (SQLite
file or PostgreSQL database), registers the sandbox campaign with ``oyren init`` and runs the
real command in a subprocess, killed with SIGKILL at a random moment, three to five times; then
one more run goes to the end. Afterwards:

- *every observation stored exactly once*: every page the sandbox answered is stored whole (each
  of its videos at the page's instant) or not at all, at most one page per kill is missing (the
  one in flight), and no video is stored twice at one instant;
- *a crawl found everything*: the videos stored are exactly the campaign's videos the sandbox
  serves, each with as many observations as an uninterrupted crawl stores;
- *no request quota counted twice*: the quota ledger in the database holds at most the requests
  the sandbox charged, and misses at most one per kill (the request in flight).

Run: ``PYTHONPATH=src python benchmarks/faults.py --trials 30 --postgres postgresql://…``
(trials are kills per command and database). Figures go into docs/security.md.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from oyren.clock import DAY
from oyren.rules.campaign import Campaign
from oyren.sandbox.api import Faults, SandboxAPI, SandboxConfig, SandboxResponse
from oyren.sandbox.server import sandbox_for, serve
from oyren.sandbox.simulate import sandbox_campaign

SRC = Path(__file__).resolve().parents[1] / "src"
QUERY_PATH = "/v2/research/video/query/"
# Faults that cost requests and restart searches but never change what a page holds.
FAULTS = Faults(server_error=0.02, gateway_timeout=0.01, search_expired=0.03, empty_page=0.03)


@dataclass
class Tally:
    """What one command on one database went through, and what was found afterwards."""

    command: str
    backend: str
    rounds: int = 0
    kills: int = 0
    runs: int = 0
    pages_answered: int = 0
    pages_lost: int = 0  # answered pages that were not stored (in flight at a kill)
    torn_pages: int = 0  # pages stored in part: must be 0
    twice: int = 0  # a video stored twice at one instant: must be 0
    wrong_videos: int = 0  # crawl: videos missing or extra against the truth: must be 0
    wrong_counts: int = 0  # crawl: videos observed more or fewer times than one clean crawl
    charged: int = 0  # requests the sandbox charged
    ledger: int = 0  # requests the database's quota ledger counts
    overcounted: int = 0  # rounds whose ledger exceeds what was charged: must be 0
    undercounted_beyond_kills: int = 0  # rounds missing more than one request per kill: must be 0
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every invariant held."""
        return not self.problems


class PageLog:
    """The research pages the sandbox answered: (instant, video ids)."""

    def __init__(self, api: SandboxAPI) -> None:
        self.pages: list[tuple[int, tuple[str, ...]]] = []
        self.requests = 0  # research requests answered, whatever the answer
        handle = api.handle

        def logged(method: str, path: str, query: str, headers: Any, body: bytes) -> Any:
            answer: SandboxResponse = handle(method, path, query, headers, body)
            if path == QUERY_PATH:
                self.requests += 1
            if path == QUERY_PATH and answer.status == 200:
                data = orjson.loads(answer.body)["data"]
                ids = tuple(str(v["id"]) for v in data.get("videos", []))
                instant = _date_header(answer)
                if ids:
                    self.pages.append((instant, ids))
            return answer

        api.handle = logged  # type: ignore[method-assign]


def _date_header(answer: SandboxResponse) -> int:
    from email.utils import parsedate_to_datetime

    date = dict(answer.headers)["date"]
    return int(parsedate_to_datetime(date).timestamp())


def _oyren(url: str, env: dict[str, str], *args: str) -> subprocess.Popen[bytes]:
    variables = {**os.environ, **env, "PYTHONPATH": str(SRC), "OYREN_DATABASE_URL": url,
                 "OYREN_USER": "harness"}  # fmt: skip
    return subprocess.Popen(
        [sys.executable, "-m", "oyren", *args],
        env=variables,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _run(url: str, env: dict[str, str], *args: str) -> None:
    process = _oyren(url, env, *args)
    _, err = process.communicate(timeout=600)
    if process.returncode != 0:
        raise RuntimeError(f"oyren {' '.join(args)} failed: {err.decode()[-2000:]}")


def _stored(url: str, campaign_id: str) -> list[tuple[str, int]]:
    from sqlalchemy import select

    from oyren.store.db import create_db_engine, transaction
    from oyren.store.models import ObservationRow, VideoRow

    engine = create_db_engine(url)
    try:
        with transaction(engine, write=False) as session:
            query = (
                select(VideoRow.video_id, ObservationRow.collected_at)
                .join(ObservationRow, ObservationRow.video_pk == VideoRow.id)
                .where(VideoRow.campaign_id == campaign_id)
            )
            return [(v, int(t)) for v, t in session.execute(query)]
    finally:
        engine.dispose()


def _ledger(url: str) -> int:
    from sqlalchemy import func, select

    from oyren.store.db import create_db_engine, transaction
    from oyren.store.models import QuotaRow

    engine = create_db_engine(url)
    try:
        with transaction(engine, write=False) as session:
            return int(session.scalar(select(func.coalesce(func.sum(QuotaRow.requests), 0))))
    finally:
        engine.dispose()


def _charged(api: SandboxAPI, first: int, last: int) -> int:
    from oyren.clock import utc_day

    return sum(api.spent(utc_day(t))[0] for t in range(first - DAY, last + 2 * DAY, DAY))


def sqlite_databases(folder: Path) -> Callable[[str | None], str]:
    """A new SQLite file for each round: empty, or a copy of a template's."""
    import shutil

    count = iter(range(1_000_000))

    def make(template: str | None = None) -> str:
        path = folder / f"round-{next(count)}.db"
        if template is not None:
            shutil.copyfile(template.removeprefix("sqlite:///"), path)
        return f"sqlite:///{path}"

    return make


def postgres_databases(url: str) -> Callable[[str | None], str]:
    """A new PostgreSQL database for each round, empty or copied from a template (dropped when
    the harness ends)."""
    from sqlalchemy import create_engine

    from oyren.store.db import normalize_url

    admin_url = normalize_url(url)
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")

    def make(template: str | None = None) -> str:
        name = f"oyren_faults_{uuid.uuid4().hex[:10]}"
        copy = "" if template is None else f" TEMPLATE {normalize_url(template).database}"
        with admin.connect() as connection:
            connection.exec_driver_sql(f"CREATE DATABASE {name}{copy}")
        made.append(name)
        return admin_url.set(database=name).render_as_string(hide_password=False)

    made: list[str] = []
    make.made = made  # type: ignore[attr-defined]
    make.admin = admin  # type: ignore[attr-defined]
    return make


def drop_postgres(make: Callable[[str | None], str]) -> None:
    """Drop the databases :func:`postgres_databases` made."""
    admin = make.admin  # type: ignore[attr-defined]
    with admin.connect() as connection:
        for name in make.made:  # type: ignore[attr-defined]
            connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    admin.dispose()


@contextmanager
def sandbox(campaign: Campaign, *, start: int, videos: int, seed: int) -> Iterator[
    tuple[SandboxAPI, PageLog, dict[str, str]]
]:  # fmt: skip
    """The sandbox API on a loopback port, from ``start`` at 60× real time, with faults."""
    config = SandboxConfig(faults=FAULTS, seed=seed, daily_requests=10**9, daily_records=10**12)
    api = sandbox_for(campaign, videos=videos, seed=seed, speed=60, start=start, config=config)
    log = PageLog(api)
    with serve(api) as base:
        env = {
            "OYREN_TIKTOK_API_BASE": base,
            "TIKTOK_CLIENT_KEY": config.client_key,
            "TIKTOK_CLIENT_SECRET": config.client_secret,
        }
        yield api, log, env


def run_command(
    command: str,
    backend: str,
    databases: Callable[[str | None], str],
    *,
    trials: int,
    videos: int = 1000,
    seed: int = 1,
    campaign_file: Path,
) -> Tally:
    """Kill ``oyren COMMAND`` ``trials`` times at random moments over fresh rounds; check."""
    campaign = sandbox_campaign()
    rng = random.Random(seed)
    tally = Tally(command, backend)
    started = time.monotonic()
    # Crawl after the campaign (every date final); track from a day before the deadline.
    start = campaign.cutoff_ts + 5 * DAY if command == "crawl" else campaign.cutoff_ts - DAY
    args = ["crawl", "--campaign", campaign.id, "--no-wait"]
    if command == "track":
        # Round robin with a large budget: every cycle asks for every known entry again.
        args = ["track", "--campaign", campaign.id, "--no-discover", "--strategy", "round_robin",
                "--daily-requests", "100000"]  # fmt: skip
    reference: Counter[str] | None = None
    work = 1.0  # seconds from a run's first request to its end
    with sandbox(campaign, start=start, videos=videos, seed=seed) as (api, log, env):
        template = databases(None)
        _run(template, env, "init", "--campaign", str(campaign_file))
        if command == "track":
            _run(template, env, "crawl", "--campaign", campaign.id, "--no-wait")
        while tally.kills < trials:
            tally.rounds += 1
            url = databases(template)
            first_page = len(log.pages)
            ledger_before = _ledger(url)
            charged_before = _charged(api, start, int(api.clock.now()))
            if tally.rounds == 1:  # a clean run: how long its work takes, what a crawl stores
                before = log.requests
                process = _oyren(url, env, *args)
                _wait_first_request(process, log, before)
                clean = time.monotonic()
                process.communicate(timeout=600)
                work = time.monotonic() - clean
                reference = Counter(v for v, _ in _stored(url, campaign.id))
                tally.runs += 1
                continue
            kills = 0
            for _ in range(rng.randint(3, 5)):
                before = log.requests
                process = _oyren(url, env, *args)
                # A random moment of the run's work: from its first request to its end.
                _wait_first_request(process, log, before)
                time.sleep(rng.uniform(0.0, work))
                tally.runs += 1
                if process.poll() is None:
                    process.send_signal(signal.SIGKILL)
                    kills += 1
                process.communicate(timeout=60)
            _run(url, env, *args)  # the resumed run, to the end
            tally.runs += 1
            tally.kills += kills
            stored = _stored(url, campaign.id)
            _check_pages(tally, log.pages[first_page:], stored, kills)
            if command == "crawl":
                assert reference is not None
                _check_crawl(tally, reference, stored)
            charged = _charged(api, start, int(api.clock.now())) - charged_before
            ledger = _ledger(url) - ledger_before
            tally.charged += charged
            tally.ledger += ledger
            if ledger > charged:
                tally.overcounted += 1
                tally.problems.append(f"round {tally.rounds}: ledger {ledger} > charged {charged}")
            if charged - ledger > kills:
                tally.undercounted_beyond_kills += 1
                tally.problems.append(
                    f"round {tally.rounds}: ledger {ledger} misses {charged - ledger} of "
                    f"{charged} charged requests after {kills} kills"
                )
            print(f"{command} {backend}: round {tally.rounds}, {tally.kills} kills, "
                  f"{time.monotonic() - started:.0f} s, {len(tally.problems)} problem(s)",
                  file=sys.stderr, flush=True)  # fmt: skip
    tally.seconds = time.monotonic() - started
    return tally


def _wait_first_request(process: subprocess.Popen[bytes], log: PageLog, before: int) -> None:
    while process.poll() is None and log.requests == before:
        time.sleep(0.005)


def _check_pages(
    tally: Tally,
    pages: Sequence[tuple[int, tuple[str, ...]]],
    stored: list[tuple[str, int]],
    kills: int,
) -> None:
    counts = Counter(stored)
    twice = [key for key, n in counts.items() if n > 1]
    tally.twice += len(twice)
    if twice:
        tally.problems.append(f"round {tally.rounds}: stored twice: {twice[:3]}")
    keys = set(counts)
    lost = 0
    for instant, ids in pages:
        present = sum((v, instant) in keys for v in ids)
        if present == 0:
            lost += 1
        elif present < len(ids):
            tally.torn_pages += 1
            tally.problems.append(f"round {tally.rounds}: page at {instant} stored in part")
    tally.pages_answered += len(pages)
    tally.pages_lost += lost
    if lost > kills:
        tally.problems.append(f"round {tally.rounds}: {lost} answered pages lost, {kills} kills")


def _check_crawl(tally: Tally, reference: Counter[str], stored: list[tuple[str, int]]) -> None:
    found = Counter(v for v, _ in stored)
    wrong_videos = set(found) ^ set(reference)
    wrong_counts = [v for v in found if v in reference and found[v] != reference[v]]
    tally.wrong_videos += len(wrong_videos)
    tally.wrong_counts += len(wrong_counts)
    if wrong_videos or wrong_counts:
        tally.problems.append(
            f"round {tally.rounds}: {len(wrong_videos)} videos missing or extra, "
            f"{len(wrong_counts)} observed a different number of times than a clean crawl"
        )


def campaign_file(folder: Path) -> Path:
    """The sandbox campaign as a file, for ``oyren init``."""
    path = folder / "sandbox-2024.toml"
    path.write_text(sandbox_campaign().source_text, encoding="utf-8")
    return path


COLUMNS = ("command", "database", "rounds", "kills", "runs", "pages", "lost", "torn", "twice",
           "wrong videos", "wrong counts", "charged", "ledger", "over", "seconds")  # fmt: skip


def row(t: Tally) -> list[str]:
    """A table row of a tally."""
    return [t.command, t.backend, str(t.rounds), str(t.kills), str(t.runs),
            f"{t.pages_answered:,}", str(t.pages_lost), str(t.torn_pages), str(t.twice),
            str(t.wrong_videos), str(t.wrong_counts), f"{t.charged:,}", f"{t.ledger:,}",
            str(t.overcounted), f"{t.seconds:.0f}"]  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    """Run the harness and print a Markdown table; exit 1 if an invariant broke."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=30, help="kills per command and database")
    parser.add_argument("--videos", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--commands", default="crawl,track")
    parser.add_argument("--postgres", metavar="URL", help="a PostgreSQL server to test too")
    parser.add_argument("--no-sqlite", action="store_true", help="PostgreSQL only")
    options = parser.parse_args(argv)
    tallies = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        toml = campaign_file(folder)
        backends: list[tuple[str, Callable[[str | None], str]]] = []
        if not options.no_sqlite:
            backends.append(("SQLite", sqlite_databases(folder)))
        if options.postgres:
            backends.append(("PostgreSQL", postgres_databases(options.postgres)))
        try:
            for name, databases in backends:
                for command in options.commands.split(","):
                    tally = run_command(command, name, databases, trials=options.trials,
                                        videos=options.videos, seed=options.seed,
                                        campaign_file=toml)  # fmt: skip
                    tallies.append(tally)
                    print(" | ".join(row(tally)), flush=True)
        finally:
            for name, databases in backends:
                if name == "PostgreSQL":
                    drop_postgres(databases)
    print()
    print("| " + " | ".join(COLUMNS) + " |")
    print("|" + "---|" * len(COLUMNS))
    for tally in tallies:
        print("| " + " | ".join(row(tally)) + " |")
    problems = [p for t in tallies for p in t.problems]
    for problem in problems:
        print(f"- {problem}")
    print("every invariant held" if not problems else f"{len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
