"""The rebuild benchmark on a small campaign: both sides rebuild and build the same rows."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
import rebuild

from oyren.store import decided


def test_rebuild_benchmark_sides_agree(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setattr(rebuild, "CACHE", tmp_path)
    monkeypatch.setattr(sys, "argv", ["rebuild.py", "--videos", "150", "--rounds", "2"])
    rebuild.main()
    out = capsys.readouterr().out
    assert "sqlite: every way built the same rows under the same rules" in out
    assert "sqlite: now / one by one: wall" in out
    assert "sqlite: now / topics again: wall" in out
    assert out.count("sqlite, min 3") == 6  # two rounds of the three ways
    # The settings are set back after each rebuild.
    assert (decided.CREATORS_AT_ONCE, decided.CARRY_TOPICS) == (5_000, True)


@pytest.mark.skipif(
    not os.environ.get("OYREN_TEST_POSTGRES_URL"), reason="OYREN_TEST_POSTGRES_URL is not set"
)
def test_rebuild_benchmark_on_postgres(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    url = os.environ["OYREN_TEST_POSTGRES_URL"]
    monkeypatch.setattr(rebuild, "CACHE", tmp_path)
    monkeypatch.setattr(rebuild, "SCHEMA", f"oyren_bench_rebuild_{os.getpid()}")
    argv = ["rebuild.py", "--videos", "100", "--rounds", "2", "--postgres", url]
    monkeypatch.setattr(sys, "argv", argv)
    rebuild.main()
    out = capsys.readouterr().out
    assert "postgresql: every way built the same rows under the same rules" in out
    assert "postgres: now / one by one" in out
