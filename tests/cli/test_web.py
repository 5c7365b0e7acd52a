"""The web app's commands: `oyren user add` and `oyren serve`."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
from click.testing import CliRunner

from oyren.cli import cli as oyren_cli
from oyren.store.accounts import authenticate
from oyren.store.db import create_db_engine, transaction

ROOT = Path(__file__).resolve().parents[2]


def test_user_add_creates_an_account_that_can_sign_in(
    sandbox_db_file: Path, tmp_path: Path
) -> None:
    db = tmp_path / "oyren.db"
    db.write_bytes(sandbox_db_file.read_bytes())
    runner = CliRunner(env={"OYREN_DATABASE_URL": f"sqlite:///{db}", "OYREN_USER": "setup"})
    result = runner.invoke(
        oyren_cli,
        ["user", "add", "--username", "Leyla", "--role", "moderator"],
        input="a long enough password\na long enough password\n",
    )
    engine = create_db_engine(f"sqlite:///{db}")
    with transaction(engine) as session:
        found = authenticate(session, username="leyla", password="a long enough password")
    engine.dispose()
    assert (result.exit_code, result.stderr.strip()) == (
        0,
        "created the moderator account 'leyla'",
    )
    assert found is not None
    assert found.role == "moderator"


def test_user_add_short_password_is_a_user_error(sandbox_db_file: Path, tmp_path: Path) -> None:
    db = tmp_path / "oyren.db"
    db.write_bytes(sandbox_db_file.read_bytes())
    runner = CliRunner(env={"OYREN_DATABASE_URL": f"sqlite:///{db}"})
    result = runner.invoke(oyren_cli, ["user", "add", "--username", "leyla", "--password", "short"])
    assert result.exit_code == 2
    assert "a password needs at least 10 characters" in result.stderr


def test_serve_prints_its_address_and_answers(sandbox_db_file: Path, tmp_path: Path) -> None:
    db = tmp_path / "oyren.db"
    db.write_bytes(sandbox_db_file.read_bytes())
    env = {**os.environ, "OYREN_DATABASE_URL": f"sqlite:///{db}", "PYTHONPATH": str(ROOT / "src")}
    server = subprocess.Popen(
        [sys.executable, "-m", "oyren", "serve", "--port", "0"],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stderr is not None
        line = ""
        while "serving" not in line:
            line = server.stderr.readline()
            assert line, "the server exited before it said where it listens"
        match = re.search(r"serving (http://127\.0\.0\.1:\d+/)", line)
        assert match is not None
        page = httpx.get(match.group(1) + "campaigns/sandbox-2024.json", timeout=30)
    finally:
        server.terminate()
        server.wait(timeout=30)
        if server.stderr is not None:
            server.stderr.close()
    assert (page.status_code, page.json()["campaign"]["id"]) == (200, "sandbox-2024")
