"""``python -m oyren``: the same command line as the installed ``oyren`` script."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from oyren.cli import cli

ROOT = Path(__file__).resolve().parent.parent


def run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "COLUMNS": "100"}
    return subprocess.run(
        [sys.executable, "-m", "oyren", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def commands(help_text: str) -> list[str]:
    """The command names a help page lists, in order."""
    section = help_text.split("Commands:\n", 1)[1]
    return [
        line.split()[0] for line in section.splitlines() if line.startswith("  ") and line[2] != " "
    ]


def test_python_m_oyren_prints_the_same_help_as_the_cli() -> None:
    result = run("--help")
    assert result.returncode == 0, result.stderr
    in_process = CliRunner().invoke(cli, ["--help"], prog_name="oyren", terminal_width=100)
    assert commands(result.stdout) == commands(in_process.output)
    assert result.stdout.startswith("Usage: python -m oyren [OPTIONS] COMMAND [ARGS]...")
    assert all(name in result.stdout for name in cli.list_commands(None))  # type: ignore[arg-type]


def test_python_m_oyren_unknown_command_is_a_usage_error() -> None:
    result = run("no-such-command")
    assert result.returncode == 2
    assert "No such command 'no-such-command'" in result.stderr
