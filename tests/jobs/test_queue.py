"""Jobs on the queue: in-process on SQLite, shared by worker processes on PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import Engine, func, select

from oyren.clock import VirtualClock
from oyren.rules.campaign import Campaign
from oyren.sandbox.api import SandboxAPI, SandboxConfig
from oyren.sandbox.server import serve
from oyren.sandbox.simulate import Simulation, sandbox_campaign, simulate
from oyren.store.db import transaction
from oyren.store.models import AuditRow, ObservationRow, QuotaRow
from tests.sandboxing import DAY

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def sandbox() -> Campaign:
    return sandbox_campaign()


@pytest.fixture(scope="module")
def sim(sandbox: Campaign) -> Simulation:
    return simulate(sandbox, videos=200, seed=11)


@contextmanager
def served(sim: Simulation, at: int) -> Iterator[dict[str, str]]:
    api = SandboxAPI(sim.videos, VirtualClock(at), SandboxConfig(seed=2))
    with serve(api) as base:
        yield {
            "OYREN_TIKTOK_API_BASE": base,
            "TIKTOK_CLIENT_KEY": api.config.client_key,
            "TIKTOK_CLIENT_SECRET": api.config.client_secret,
        }


@pytest.fixture
def registered(cli: Callable[..., Any], sandbox: Campaign, tmp_path: Path) -> str:
    path = tmp_path / "sandbox.toml"
    path.write_text(sandbox.source_text, encoding="utf-8")
    assert cli("init", "--campaign", path).exit_code == 0
    return sandbox.id


def _count(engine: Engine, what: Any, *where: Any) -> int:
    with transaction(engine) as session:
        return int(session.scalar(select(func.count()).select_from(what).where(*where)) or 0)


def _actions(engine: Engine, campaign_id: str) -> list[str]:
    with transaction(engine) as session:
        query = select(AuditRow.action).where(AuditRow.campaign_id == campaign_id)
        return list(session.scalars(query.order_by(AuditRow.id)))


def test_jobs_run_here_on_sqlite_and_queue_on_postgres(
    cli: Callable[..., Any],
    db: Engine,
    registered: str,
    sandbox: Campaign,
    sim: Simulation,
) -> None:
    with served(sim, sandbox.cutoff_ts + 5 * DAY) as env:
        first = cli("enqueue", "crawl", "--campaign", registered, env=env)
        assert first.exit_code == 0, first.output
        if db.dialect.name == "sqlite":
            # No worker, no queue table: the job ran in this process.
            assert first.stdout.startswith(f"ran crawl of {registered} here")
            assert _count(db, ObservationRow) > 0
            return
        assert first.stdout.startswith(f"queued crawl of {registered}")
        again = cli("enqueue", "crawl", "--campaign", registered, env=env)
        assert "already waiting" in again.stdout
        assert _count(db, ObservationRow) == 0  # nothing ran yet: it waits for a worker
        assert cli("enqueue", "track", "--campaign", registered, env=env).exit_code == 0

        # Two worker processes share the queue; the campaign's lock runs its collectors one at
        # a time, and the quota ledger in the database counts every request once.
        url = db.url.render_as_string(hide_password=False)
        variables = {**os.environ, **env, "PYTHONPATH": str(ROOT / "src"),
                     "OYREN_DATABASE_URL": url, "OYREN_USER": "tester"}  # fmt: skip
        workers = [
            subprocess.Popen(
                [sys.executable, "-m", "oyren", "worker", "--burst"],
                env=variables,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(2)
        ]
        outputs = [w.communicate(timeout=300) for w in workers]
    assert [w.returncode for w in workers] == [0, 0], outputs
    reported = [orjson.loads(line) for out, _ in outputs for line in out.splitlines()]
    assert sorted(r["job"] for r in reported) == ["crawl", "track"]
    assert _count(db, ObservationRow) > 0
    assert _actions(db, registered)[-2:] == ["crawl", "track"]
    with transaction(db) as session:
        spent = session.scalar(select(func.sum(QuotaRow.requests)))
    # Each job reports the requests it made; the shared ledger holds their sum, no more.
    assert spent == sum(r["requests"] for r in reported) > 0
    # Their writes queued one screening of the campaign, to run once writes settle.
    with db.connect() as connection:
        waiting = connection.exec_driver_sql(
            "SELECT task_name, args->>'campaign_id', scheduled_at > now() FROM procrastinate_jobs"
            " WHERE status = 'todo'"
        ).all()
    assert [tuple(row) for row in waiting] == [("oyren.screen", registered, True)]


def test_a_worker_needs_postgres(cli: Callable[..., Any], db: Engine) -> None:
    if db.dialect.name != "sqlite":
        pytest.skip("does not apply to PostgreSQL: it has a queue")
    result = cli("worker", "--burst")
    assert result.exit_code == 2
    assert "workers need PostgreSQL" in result.stderr


@pytest.mark.parametrize("job", ["screen", "rebuild"])
def test_screening_and_rebuild_run_as_jobs(
    cli: Callable[..., Any], db: Engine, registered: str, job: str
) -> None:
    result = cli("enqueue", job, "--campaign", registered)
    assert result.exit_code == 0, result.output
    if db.dialect.name == "sqlite":  # run here: its outcome is the command's
        assert result.stdout.startswith(f"ran {job} of {registered} here")
        return
    assert result.stdout.startswith(f"queued {job}")
    worked = cli("worker", "--burst", "--queue", "screening" if job == "screen" else job)
    assert worked.exit_code == 0, worked.output
    assert f'"job":"{job}"' in worked.stdout


def test_bad_requests_are_refused(cli: Callable[..., Any], registered: str) -> None:
    assert cli("enqueue", "dance", "--campaign", registered).exit_code == 2
    every = cli("enqueue", "crawl", "--campaign", registered, "--every", "1h")
    assert every.exit_code == 2
    assert "only a track job repeats" in every.stderr
    bad = cli("enqueue", "track", "--campaign", registered, "--every", "soon")
    assert bad.exit_code == 2
