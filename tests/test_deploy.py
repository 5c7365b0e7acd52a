"""The deployment files (deploy/) call only commands and options the `oyren` CLI has."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner

from oyren.cli import cli

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"


def _commands() -> list[list[str]]:
    found: list[list[str]] = []
    compose = (DEPLOY / "compose.yaml").read_text(encoding="utf-8")
    for match in re.finditer(r"command: (\[.*\])", compose):
        found.append(json.loads(match.group(1)))
    for match in re.finditer(r"docker compose run --rm web (oyren .*)", compose):
        found.append(shlex.split(match.group(1)))
    for unit in sorted((DEPLOY / "systemd").glob("*.service")):
        for match in re.finditer(r"^ExecStart=(\S+) (.*)$", unit.read_text(), re.M):
            found.append([Path(match.group(1)).name, *shlex.split(match.group(2))])
    dockerfile = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    found.append(json.loads(re.search(r"^CMD (\[.*\])$", dockerfile, re.M).group(1)))  # type: ignore[union-attr]
    return found


def test_the_deployment_files_start_every_process() -> None:
    firsts = {tuple(c[:2]) for c in _commands()}
    assert {("oyren", "serve"), ("oyren", "worker"), ("oyren", "migrate")} <= firsts


@pytest.mark.parametrize("command", _commands(), ids=lambda c: " ".join(c[:3]))
def test_each_command_and_option_exists(command: list[str]) -> None:
    assert command[0] == "oyren"
    # --help after the arguments: click rejects an unknown command or option before it helps.
    result = CliRunner().invoke(cli, [*command[1:], "--help"])
    assert result.exit_code == 0, (command, result.output)
    assert "Usage:" in result.output
