"""Benchmark the public leaderboard page against a static file of the same size, same server.

A sandbox campaign is simulated and ingested into an SQLite store in a temporary folder. A
uvicorn server (a subprocess, so the load generator does not share its interpreter) serves the
web app with an extra static folder mounted at ``/bench``, in 1 or more worker processes
(``--workers 1,2`` runs each in turn). The leaderboard page is fetched once and its exact bytes
written to that folder, so both targets return the same number of bytes.

With ``--writes``, each configuration is run a second time while another process stores new
observations every second (a crawl's pages: ``--write-batch`` later counts of random videos),
so the leaderboard changes under the load as it does during a live contest.

Then, in the same run, each target gets ``--clients`` concurrent clients (asyncio tasks sharing
one httpx connection pool, all on loopback) for ``--seconds``, after a short warm-up that is not
counted. Each client loops until the time is up (and never past ``MAX_REQUESTS``). Printed per
target: requests, requests per second, p50 and p99 latency, errors (anything but a 200, and
failed connections; what they were is listed after the table), and the CPU time the server's
processes spent per request (read from ``/proc`` for the server and its workers), which stays
meaningful when other work shares the machine. The ratios (throughput, p99 and CPU against the
static file) come from the same run.

Rate limits are switched off in the served app, since every client comes from 127.0.0.1. Only
loopback addresses are used; nothing is fetched from the network.

Usage: ``python benchmarks/web.py [--videos N] [--clients C] [--seconds S] [--workers 1,2]
[--writes] [--quick]``.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from oyren.inputs.observations import observation_to_record  # noqa: E402

LOOPBACK = "127.0.0.1"
MAX_REQUESTS = 5_000_000  # per target: a bound on the loop whatever the machine's speed
WARM_UP_S = 3.0


def build_store(folder: Path, *, videos: int, seed: int) -> str:
    """Simulate the sandbox campaign and ingest it into a new SQLite store; return its URL."""
    from oyren.sandbox.simulate import observations, sandbox_campaign, simulate
    from oyren.store import ingest_observations, register_campaign
    from oyren.store.db import open_database, transaction

    campaign = sandbox_campaign()
    data = folder / "observations.jsonl"
    with data.open("wb") as handle:
        for obs in observations(simulate(campaign, videos=videos, seed=seed)):
            handle.write(orjson.dumps(observation_to_record(obs)) + b"\n")
    url = f"sqlite:///{folder / 'oyren.db'}"
    engine = open_database(url, create=True)
    with transaction(engine) as session:
        register_campaign(session, campaign=campaign, by="benchmark")
        ingest_observations(session, campaign_id=campaign.id, path=data, by="benchmark")
    engine.dispose()
    return url


def bench_app() -> object:
    """The app a server process runs: rate limits off, plus /bench static files."""
    from fastapi.staticfiles import StaticFiles

    from oyren.settings import Settings
    from oyren.web.app import WebOptions, create_app
    from oyren.web.security import RateLimit

    off = {name: RateLimit(per_minute=0, burst=0) for name in ("page", "check", "submit", "login")}
    url, static_dir = os.environ["OYREN_BENCH_URL"], os.environ["OYREN_BENCH_STATIC"]
    app = create_app(Settings(database_url=url), options=WebOptions(rate_limits=off))
    app.mount("/bench", StaticFiles(directory=static_dir), "bench")
    return app


def serve(url: str, port: int, static_dir: Path, workers: int) -> None:
    """Run in the server subprocess: uvicorn with ``workers`` processes on :func:`bench_app`."""
    import uvicorn

    from oyren.web.server import KEEP_ALIVE_S

    os.environ.update(OYREN_BENCH_URL=url, OYREN_BENCH_STATIC=str(static_dir))
    sys.path.insert(0, str(Path(__file__).resolve().parent))  # workers import "web:bench_app"
    os.environ["PYTHONPATH"] = os.pathsep.join(
        [str(Path(__file__).resolve().parent), os.environ.get("PYTHONPATH", "")]
    )
    uvicorn.run(
        "web:bench_app",
        factory=True,
        host=LOOPBACK,
        port=port,
        workers=workers,
        log_level="warning",
        access_log=False,
        timeout_keep_alive=KEEP_ALIVE_S,  # as `oyren serve` runs it
    )


def write_forever(url: str, batch: int, seed: int) -> None:
    """Run in the writer subprocess: every second, store ``batch`` later counts of random videos."""
    import random
    import signal

    from oyren.rules.observations import Observation
    from oyren.store import ingest_observations
    from oyren.store.db import open_database, transaction
    from oyren.store.rows import stored_observations

    # Stopped with SIGTERM: leave through SystemExit, so the temporary folder is removed.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    engine = open_database(url)
    with transaction(engine) as session:
        latest: dict[str, Observation] = {}
        for obs in stored_observations(session, "sandbox-2024"):
            if obs.video_id not in latest or obs.collected_at > latest[obs.video_id].collected_at:
                latest[obs.video_id] = obs
    rng = random.Random(seed)
    ids = sorted(latest)
    step = 0
    with tempfile.TemporaryDirectory(prefix="oyren-web-writes-") as tmp:
        path = Path(tmp) / "page.jsonl"
        while True:
            started = time.monotonic()
            step += 1
            with path.open("wb") as handle:
                for video_id in rng.sample(ids, min(batch, len(ids))):
                    last = latest[video_id]
                    obs = dataclasses.replace(
                        last,
                        collected_at=last.collected_at + 60,
                        view_count=last.view_count + rng.randint(1, 500),
                    )
                    latest[video_id] = obs
                    handle.write(orjson.dumps(observation_to_record(obs)) + b"\n")
            with transaction(engine) as session:
                ingest_observations(session, campaign_id="sandbox-2024", path=path, by="crawl")
            time.sleep(max(0.0, 1.0 - (time.monotonic() - started)))


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one target did under load."""

    target: str
    size: int
    requests: int
    errors: int
    seconds: float
    p50_ms: float
    p99_ms: float
    server_cpu_s: float  # CPU time the server process spent in the measured seconds
    error_kinds: tuple[tuple[str, int], ...] = ()  # what the errors were: a status or exception

    @property
    def cpu_ms_per_request(self) -> float:
        """Server CPU time per request: unlike latency, barely moved by other load on the host."""
        return self.server_cpu_s / max(1, self.requests) * 1000

    @property
    def rps(self) -> float:
        """Completed requests per second."""
        return self.requests / self.seconds


def _percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[index]


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of process ``pid`` and its children so far (/proc/PID/stat)."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # a process that ended meanwhile
        if stat.parent.name == str(pid) or fields[1] == str(pid):
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


async def load(
    base: str, path: str, *, clients: int, seconds: float, cpu: Callable[[], float]
) -> Outcome:
    """Hit ``base + path`` with ``clients`` concurrent loops for ``seconds`` (after a warm-up)."""
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    latencies: list[float] = []
    errors = 0
    kinds: Counter[str] = Counter()
    size = 0
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60.0) as client:

        async def loop(until: float, record: bool) -> None:
            nonlocal errors, size
            sent = 0
            while time.monotonic() < until and sent < MAX_REQUESTS // clients:
                sent += 1
                start = time.perf_counter()
                kind = ""
                try:
                    response = await client.get(path)
                    if response.status_code == 200:
                        size = len(response.content)
                    else:
                        kind = str(response.status_code)
                except httpx.HTTPError as exc:
                    kind = type(exc).__name__
                if record:
                    latencies.append(time.perf_counter() - start)
                    if kind:
                        errors += 1
                        kinds[kind] += 1

        warm = time.monotonic() + WARM_UP_S
        await asyncio.gather(*(loop(warm, False) for _ in range(clients)))
        began, cpu_before = time.monotonic(), cpu()
        await asyncio.gather(*(loop(began + seconds, True) for _ in range(clients)))
        elapsed, cpu_used = time.monotonic() - began, cpu() - cpu_before
    latencies.sort()
    return Outcome(
        target=path,
        size=size,
        requests=len(latencies),
        errors=errors,
        seconds=elapsed,
        p50_ms=_percentile(latencies, 0.50) * 1000,
        p99_ms=_percentile(latencies, 0.99) * 1000,
        server_cpu_s=cpu_used,
        error_kinds=tuple(sorted(kinds.items())),
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        return int(s.getsockname()[1])


def _wait_for(base: str, process: subprocess.Popen[bytes], timeout: float = 300.0) -> None:
    # Generous: on a loaded machine starting the workers (imports, then the app's warm-up)
    # can take most of a minute.
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit("the server exited before it answered")
        try:
            httpx.get(base + "/campaigns", timeout=30.0)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise SystemExit(f"the server did not answer within {timeout:g} s")


def run_config(
    url: str, static: Path, *, workers: int, writes: bool, args: argparse.Namespace
) -> tuple[Outcome, Outcome]:
    """Serve with ``workers`` processes (and the writer, when ``writes``); load both targets."""
    port = _free_port()
    base = f"http://{LOOPBACK}:{port}"
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve", url, str(port), str(static), str(workers)], env=env
    )
    writer = None
    try:
        _wait_for(base, server)
        page = "/campaigns/sandbox-2024/leaderboard"
        body = httpx.get(base + page, timeout=60.0).content
        (static / "leaderboard-copy.html").write_bytes(body)
        if writes:
            writer = subprocess.Popen(
                [sys.executable, __file__, "--write", url, str(args.write_batch)], env=env
            )
        results = []
        for path in (page, "/bench/leaderboard-copy.html"):
            print(f"loading {path}: {workers} worker(s), writes {writes}…", file=sys.stderr)
            outcome = load(
                base,
                path,
                clients=args.clients,
                seconds=args.seconds,
                cpu=lambda: cpu_seconds(server.pid),
            )
            results.append(asyncio.run(outcome))
    finally:
        if writer is not None:
            writer.terminate()
            writer.wait(timeout=30)
        server.terminate()
        server.wait(timeout=30)
    return results[0], results[1]


def main() -> None:
    """Parse the arguments, build the store, serve it and load both targets."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--videos", type=int, default=3000, help="videos in the sandbox store")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--clients", type=int, default=200, help="concurrent clients")
    parser.add_argument("--seconds", type=float, default=30.0, help="measured seconds per target")
    parser.add_argument("--workers", default="1", help="server processes, e.g. 1,2 for each")
    parser.add_argument("--writes", action="store_true", help="also run each with a writer")
    parser.add_argument("--write-batch", type=int, default=100, help="observations per second")
    parser.add_argument("--quick", action="store_true", help="20 clients for 3 s: a smoke run")
    parser.add_argument("--serve", nargs=4, help=argparse.SUPPRESS)
    parser.add_argument("--write", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        url, port, static, workers = args.serve
        serve(url, int(port), Path(static), int(workers))
        return
    if args.write:
        write_forever(args.write[0], int(args.write[1]), args.seed)
        return
    if args.quick:
        args.clients, args.seconds = 20, 3.0
    configs = [(int(w), False) for w in args.workers.split(",")]
    if args.writes:
        configs += [(w, True) for w, _ in configs]
    rows = []
    with tempfile.TemporaryDirectory(prefix="oyren-web-bench-") as tmp:
        folder = Path(tmp)
        static = folder / "static"
        static.mkdir()
        print(f"building a store of {args.videos:,} simulated videos…", file=sys.stderr)
        url = build_store(folder, videos=args.videos, seed=args.seed)
        for workers, writes in configs:
            rows.append((workers, writes, *run_config(url, static, workers=workers,
                                                      writes=writes, args=args)))  # fmt: skip
    load_1m = os.getloadavg()[0]
    print(
        f"Öyrən web benchmark: {args.videos:,} videos, {args.clients} concurrent clients, "
        f"{args.seconds:g} s per target on loopback; Python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs, {platform.machine()}, load average {load_1m:.1f} at the end"
    )
    header = ("workers", "writes", "target", "bytes", "requests", "req/s", "p50 ms", "p99 ms",
              "errors", "CPU ms/req")  # fmt: skip
    print("{:>7} {:>6} {:<38} {:>7} {:>9} {:>7} {:>8} {:>8} {:>6} {:>10}".format(*header))
    for workers, writes, lb, static_outcome in rows:
        for r in (lb, static_outcome):
            print(
                f"{workers:>7} {'yes' if writes else 'no':>6} {r.target:<38} {r.size:>7,} "
                f"{r.requests:>9,} {r.rps:>7,.0f} {r.p50_ms:>8.1f} {r.p99_ms:>8.1f} "
                f"{r.errors:>6,} {r.cpu_ms_per_request:>10.2f}"
            )
    for workers, writes, lb, st in rows:
        print(
            f"{workers} worker(s), writes {'yes' if writes else 'no'}: leaderboard / static: "
            f"throughput {lb.rps / st.rps:.2f}, p99 {lb.p99_ms / st.p99_ms:.2f}, "
            f"server CPU per request {lb.cpu_ms_per_request / st.cpu_ms_per_request:.2f}, "
            f"errors {lb.errors + st.errors}"
        )
    for workers, writes, lb, st in rows:
        for r in (lb, st):
            if r.error_kinds:
                kinds = ", ".join(f"{kind} ×{n}" for kind, n in r.error_kinds)
                print(f"errors, {workers} worker(s), writes {'yes' if writes else 'no'}, "
                      f"{r.target}: {kinds}")  # fmt: skip


if __name__ == "__main__":
    main()
