"""The dashboard benchmark on a small store: both sides run and give the same numbers."""

from __future__ import annotations

import sys

import dashboard
import pytest


def test_dashboard_benchmark_sides_agree(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "argv", ["dashboard.py", "--videos", "300"])
    dashboard.main()
    out = capsys.readouterr().out
    assert "every pair's numbers are the same" in out
    assert "[300, " in out  # every video counted
