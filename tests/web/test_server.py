"""Serving the app: uvicorn on the app built from the settings, its address told once it listens."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]

SERVE = """
import sys
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
