"""Serving the app: uvicorn on the app built from the settings, its address told once it listens."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

ROOT = Path(__file__).resolve().parents[2]

SERVE = """
import sys
import time
from oyren.settings import Settings
from oyren.web.server import serve

serve(
    Settings(database_url=sys.argv[1]),
    host=sys.argv[2],
    port=0,
    on_ready=lambda address: print("ready", address, flush=True),
    log_level="warning",
)
"""


def _ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
    except OSError:
        return False
    return True


@pytest.mark.parametrize(
    ("host", "shown"),
    [
        ("127.0.0.1", "http://127.0.0.1:"),
        pytest.param(
            "::1",
            "http://[::1]:",
            marks=pytest.mark.skipif(not _ipv6_loopback(), reason="no IPv6 loopback here"),
        ),
    ],
)
def test_serve_tells_its_address_once_it_listens_and_answers(
    sandbox_db_file: Path, tmp_path: Path, host: str, shown: str
) -> None:
    db = tmp_path / "oyren.db"
    db.write_bytes(sandbox_db_file.read_bytes())
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    server = subprocess.Popen(
        [sys.executable, "-c", SERVE, f"sqlite:///{db}", host],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        line = server.stdout.readline()
        assert line.startswith("ready "), "the server exited before it said where it listens"
        address = line.split()[1]
        assert address.startswith(shown)
        assert address.endswith("/")
        assert int(address.removeprefix(shown).rstrip("/")) > 0  # the port the system chose
        page = httpx.get(address + "campaigns/sandbox-2024.json", timeout=30)
    finally:
        server.terminate()
        server.wait(timeout=30)
        if server.stdout is not None:
            server.stdout.close()
    assert (page.status_code, page.json()["campaign"]["id"]) == (200, "sandbox-2024")
    assert "server" not in page.headers  # uvicorn's own header is left out


def _start(url: str, *extra: str) -> tuple[subprocess.Popen[str], str]:
    """Start `oyren serve` on any free port; return it and its address once it listens."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "OYREN_DATABASE_URL": url}
    server = subprocess.Popen(
        [sys.executable, "-m", "oyren", "serve", "--port", "0", *extra],
        env=env,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    assert server.stderr is not None
    for line in server.stderr:
        if "serving http" in line:
            return server, line.split()[1]
    server.wait(timeout=30)
    raise AssertionError("the server exited before it said where it listens")


def _early_in_a_minute() -> None:
    """Wait for a new minute when this one ends soon: validators change with the minute."""
    left = 60 - time.time() % 60
    if left < 20:
        time.sleep(left + 0.5)


def _stop(server: subprocess.Popen[str]) -> None:
    server.terminate()
    server.wait(timeout=30)
    if server.stderr is not None:
        server.stderr.close()


def test_processes_share_rate_limits_and_show_the_same_pages(
    stored_db: Engine,
    make_record: Callable[..., dict[str, Any]],
    write_jsonl: Callable[..., Path],
) -> None:
    from oyren.store import ingest_observations, moderate
    from oyren.store.db import transaction

    cid = "tiktokdan-oyren-2024"
    records = [make_record(id=i, username=f"u{i}", view_count=1000 * i) for i in range(1, 6)]
    with transaction(stored_db) as session:
        ingest_observations(session, campaign_id=cid, path=write_jsonl(records), by="test")
    url = stored_db.url.render_as_string(hide_password=False)
    started = [_start(url), _start(url), _start(url, "--workers", "2")]
    try:
        a, b, c = (address for _, address in started)
        board = f"campaigns/{cid}/leaderboard.json"
        _early_in_a_minute()
        answers = [httpx.get(x + board, timeout=30) for x in (a, b, c)]
        assert {r.status_code for r in answers} == {200}
        assert len({r.headers["etag"] for r in answers}) == 1  # one validator everywhere
        assert len({r.content for r in answers}) == 1
        # One process and several are configured alike: uvicorn's own header is left out.
        assert all("server" not in r.headers for r in answers)
        etag = answers[0].headers["etag"]
        assert httpx.get(b + board, headers={"If-None-Match": etag}).status_code == 304

        # The self-check's limit (10 at once, then one every 2 s) spent through one process
        # holds in the others: per-process buckets would let each of them allow 10 more.
        check = f"campaigns/{cid}/check?q=u1"
        began = time.monotonic()
        for x in (b, c):  # the first page of each process, before the clock matters
            assert httpx.get(x + check, timeout=30).status_code == 200
        spent = 2
        while httpx.get(a + check, timeout=30).status_code == 200:
            spent += 1
            assert spent <= 40, "the limit never applied"
        refilled = (time.monotonic() - began) / 2
        assert 10 <= spent <= 11 + refilled
        for x in (b, c):
            began = time.monotonic()
            allowed = sum(httpx.get(x + check, timeout=30).status_code == 200 for _ in range(5))
            assert allowed <= 1 + (time.monotonic() - began) / 2, x

        with transaction(stored_db) as session:
            moderate(session, campaign_id=cid, video_id="5", action="exclude", reason="r", by="m")
        _early_in_a_minute()
        after = [httpx.get(x + board, headers={"If-None-Match": etag}) for x in (a, b, c)]
        assert {r.status_code for r in after} == {200}
        assert len({r.headers["etag"] for r in after}) == 1
        assert all("5" not in [v["video_id"] for v in r.json()["videos"]] for r in after)
    finally:
        for server, _ in started:
            _stop(server)


@pytest.mark.skipif(sys.platform == "win32", reason="uvloop is not built for Windows")
def test_the_server_runs_on_uvloop_and_httptools() -> None:
    """Both are dependencies: uvicorn takes its faster event loop and HTTP parser when they are
    installed, and falls back quietly to asyncio's loop and h11 when they are not."""
    from fastapi import FastAPI

    from oyren.web.server import _config

    config = _config(FastAPI(), host="127.0.0.1", port=0, log_level="warning")
    config.load()
    assert config.get_loop_factory().__module__ == "uvloop"
    assert config.http_protocol_class.__name__ == "HttpToolsProtocol"
