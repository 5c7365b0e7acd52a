"""Collector leases: one crawl or track of a campaign at a time, taken over when its holder dies."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from oyren.collect.checkpoints import Checkpoint
from oyren.collect.dbstore import DbCrawlStore
from oyren.errors import CollectorBusy, StoreError
from oyren.rules.campaign import Campaign
from oyren.store.db import transaction
from oyren.store.leases import (
    LEASE_TTL_S,
    Lease,
    check_lease,
    collector_lease,
    release_lease,
    renew_lease,
    take_lease,
)
from oyren.store.models import CollectorLeaseRow, CrawlCheckpointRow

CID = "tiktokdan-oyren-2024"
SPAN = "20240220-20240321"
AT = 1_800_000_000


def take(engine: Engine, **kw: Any) -> Lease:
    with transaction(engine) as session:
        return take_lease(session, campaign_id=CID, **{"command": "crawl", "at": AT, **kw})


def dead_pid() -> int:
    """The id of a process that has ended (and been reaped)."""
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    return int(done.stdout)


def test_second_collector_is_refused_naming_the_first(stored_db: Engine) -> None:
    first = take(stored_db, pid=os.getppid(), host="collector-1")
    with pytest.raises(CollectorBusy) as refused:
        take(stored_db, command="track", at=AT + 30)
    message = str(refused.value)
    assert f"campaign '{CID}' is already being collected: `oyren crawl`" in message
    assert f"(process {os.getppid()} on collector-1)" in message
    assert "renewed 30 s ago" in message
    assert "--wait-lease" in message
    with transaction(stored_db) as session:
        assert session.scalar(select(CollectorLeaseRow.holder)) == first.holder


def test_released_lease_can_be_taken_again(stored_db: Engine) -> None:
    first = take(stored_db)
    with transaction(stored_db) as session:
        release_lease(session, first)
    second = take(stored_db, command="track", at=AT + 1)
    assert (second.holder != first.holder, second.took_over) == (True, None)


def test_lease_unrenewed_past_its_lifetime_is_taken_over(stored_db: Engine) -> None:
    first = take(stored_db, host="elsewhere", pid=1)
    with pytest.raises(CollectorBusy):
        take(stored_db, at=AT + LEASE_TTL_S - 1)
    second = take(stored_db, at=AT + LEASE_TTL_S)
    assert second.took_over == "`oyren crawl` (process 1 on elsewhere)"
    # The old holder finds out at its next write or renewal, and stops.
    with pytest.raises(CollectorBusy, match="lost the lease"), transaction(stored_db) as session:
        check_lease(session, first)
    with transaction(stored_db) as session:
        assert renew_lease(session, first, at=AT + LEASE_TTL_S + 1) is False
    assert first.lost.is_set()


def test_renewed_lease_is_not_taken_over(stored_db: Engine) -> None:
    first = take(stored_db, host="elsewhere", pid=1)
    with transaction(stored_db) as session:
        assert renew_lease(session, first, at=AT + LEASE_TTL_S - 10) is True
    with pytest.raises(CollectorBusy):
        take(stored_db, at=AT + LEASE_TTL_S + 5)


def test_lease_of_a_dead_process_on_this_host_is_taken_over_at_once(stored_db: Engine) -> None:
    import socket

    take(stored_db, pid=dead_pid(), host=socket.gethostname())
    second = take(stored_db, at=AT + 1)
    assert second.took_over is not None and "process" in second.took_over


def test_lease_of_an_unknown_campaign_names_it(stored_db: Engine) -> None:
    with pytest.raises(StoreError, match="no campaign 'nope'"), transaction(stored_db) as s:
        take_lease(s, campaign_id="nope", command="crawl")


def test_store_with_a_lost_lease_stores_no_checkpoint(stored_db: Engine) -> None:
    store = DbCrawlStore(stored_db)
    store.lease = take(stored_db, host="elsewhere", pid=1)
    store.save_checkpoint(CID, Checkpoint(SPAN, cursor=100))
    take(stored_db, at=AT + LEASE_TTL_S + 1)  # another collector takes over
    with pytest.raises(CollectorBusy, match="lost the lease"):
        store.save_checkpoint(CID, Checkpoint(SPAN, cursor=200))
    with transaction(stored_db) as session:
        assert session.scalar(select(CrawlCheckpointRow.cursor)) == 100


def test_collector_lease_renews_and_releases(stored_db: Engine) -> None:
    with collector_lease(stored_db, campaign_id=CID, command="crawl", renew_every_s=0.05) as lease:
        first_expiry = lease.expires_at
        time.sleep(1.2)
        with transaction(stored_db) as session:
            row = session.get(CollectorLeaseRow, CID)
            assert row is not None and row.holder == lease.holder
            renewed = row.renewed_at
        assert renewed > lease.acquired_at and lease.expires_at > first_expiry
    with transaction(stored_db) as session:
        assert session.get(CollectorLeaseRow, CID) is None


def test_collector_lease_waits_for_the_holder_to_finish(stored_db: Engine) -> None:
    order: list[str] = []
    waiting = threading.Event()

    def second() -> None:
        with collector_lease(stored_db, campaign_id=CID, command="track", wait=True, poll_s=0.05,
                             on_wait=lambda _: waiting.set()):  # fmt: skip
            order.append("second")

    with collector_lease(stored_db, campaign_id=CID, command="crawl"):
        thread = threading.Thread(target=second)
        thread.start()
        assert waiting.wait(10)
        order.append("first done")
    thread.join(10)
    assert order == ["first done", "second"]


def test_cli_crawl_refuses_while_another_collects(
    cli: Callable[..., Any], stored_db: Engine, campaign: Campaign
) -> None:
    take(stored_db, pid=os.getppid(), host="collector-1", at=int(time.time()))
    env = {"TIKTOK_CLIENT_KEY": "k", "TIKTOK_CLIENT_SECRET": "s",
           "OYREN_TIKTOK_API_BASE": "http://127.0.0.1:9"}  # fmt: skip
    for command in ("crawl", "track"):
        result = cli(command, "--campaign", CID, env=env)
        assert (result.exit_code, "is already being collected" in result.stderr) == (2, True)
        assert "Traceback" not in result.output


def test_cli_crawl_refused_leaves_the_lease_alone(
    cli: Callable[..., Any], stored_db: Engine, tmp_path: Path
) -> None:
    held = take(stored_db, pid=os.getppid(), host="collector-1", at=int(time.time()))
    env = {"TIKTOK_CLIENT_KEY": "k", "TIKTOK_CLIENT_SECRET": "s"}
    assert cli("crawl", "--campaign", CID, env=env).exit_code == 2
    with transaction(stored_db) as session:
        assert session.scalar(select(CollectorLeaseRow.holder)) == held.holder


def _crawl(url: str, base: str, campaign_id: str) -> subprocess.Popen[str]:
    """``oyren crawl`` of a campaign, as its own process, against the sandbox API at ``base``."""
    import oyren

    env = {**os.environ, "PYTHONPATH": str(Path(oyren.__file__).resolve().parents[1]),
           "OYREN_DATABASE_URL": url, "OYREN_USER": "tester", "OYREN_TIKTOK_API_BASE": base,
           "TIKTOK_CLIENT_KEY": "sandbox-client-key",
           "TIKTOK_CLIENT_SECRET": "sandbox-client-secret"}  # fmt: skip
    return subprocess.Popen(
        [sys.executable, "-m", "oyren", "crawl", "--campaign", campaign_id, "--no-wait"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.slow
def test_two_crawls_of_one_campaign_at_once_the_second_is_refused(
    tmp_path: Path, sqlite_template: Path
) -> None:
    """Two real ``oyren crawl`` processes of one campaign: while the first is in the middle of a
    request (held there by its sandbox server), the second is refused naming it; then the first
    ends well. Each has its own sandbox server, so the second is never held up by the first's."""
    import shutil

    from oyren.clock import DAY
    from oyren.sandbox.server import sandbox_for, serve
    from oyren.sandbox.simulate import sandbox_campaign

    campaign = sandbox_campaign()
    path = tmp_path / "oyren.db"
    shutil.copyfile(sqlite_template, path)
    url = f"sqlite:///{path}"
    toml = tmp_path / "sandbox.toml"
    toml.write_text(campaign.source_text, encoding="utf-8")
    init = subprocess.run([sys.executable, "-m", "oyren", "init", "--campaign", str(toml)],
                          env={**os.environ, "OYREN_DATABASE_URL": url, "OYREN_USER": "tester"},
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert init.returncode == 0, init.stderr

    start = campaign.cutoff_ts + 5 * DAY
    held, release = threading.Event(), threading.Event()
    first_api = sandbox_for(campaign, videos=200, seed=1, speed=60, start=start)
    second_api = sandbox_for(campaign, videos=200, seed=1, speed=60, start=start)
    handle = first_api.handle

    def holding(method: str, path: str, *args: Any) -> Any:
        if path.startswith("/v2/research/") and not held.is_set():
            held.set()
            release.wait(60)  # the first crawl waits here, in the middle of its run
        return handle(method, path, *args)

    first_api.handle = holding  # type: ignore[method-assign]
    with serve(first_api) as first_base, serve(second_api) as second_base:
        first = _crawl(url, first_base, campaign.id)
        try:
            assert held.wait(60), first.stderr.read() if first.poll() is not None else "no request"
            second = _crawl(url, second_base, campaign.id)
            _, second_err = second.communicate(timeout=120)
        finally:
            release.set()
        _, first_err = first.communicate(timeout=120)
    assert (first.returncode, "Traceback" in first_err) == (0, False), first_err
    assert second.returncode == 2, second_err
    assert f"campaign '{campaign.id}' is already being collected" in second_err
    assert "Traceback" not in second_err
