"""The flag refresh benchmark on a small campaign: both sides run and find the same flags and
daily views; a difference fails it."""

from __future__ import annotations

import sys
from pathlib import Path

import flags
import pytest


def _run(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, *options: str) -> None:
    monkeypatch.setattr(flags, "CACHE", tmp_path)
    argv = ["flags.py", "--videos", "150", "--observations-per-video", "6", *options]
    monkeypatch.setattr(sys, "argv", argv)
    flags.main()


def test_flag_benchmark_sides_find_the_same(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    _run(monkeypatch, tmp_path, "--part-rows", "40")
    out = capsys.readouterr().out
    assert "flags and daily views: the same" in out
    assert "least wall and CPU time of 1" in out
    for side in ("refresh, in parts", "whole campaign at once"):
        assert f"\n{side} " in out
    assert len(list(tmp_path.glob("flags-*.db"))) == 1  # the store is kept for the next run


def test_flag_benchmark_fails_when_the_sides_differ(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # The baseline forgets every flag it found.
    lost = flags.WHOLE.replace("flag_videos(videos).items()", "{}.items()")
    assert lost != flags.WHOLE
    monkeypatch.setattr(flags, "WHOLE", lost)
    with pytest.raises(SystemExit) as exit_:
        _run(monkeypatch, tmp_path)
    assert exit_.value.code == 1
    assert "flags and daily views: DIFFERENT" in capsys.readouterr().out
