"""The engine benchmark on a small campaign: every side runs and agrees with the DuckDB
reference; the comparison finds a difference when there is one; the kept times."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import engine
import orjson
import pytest

SIDES = (
    "oyren run",
    "oyren run --no-screen",
    "--engine python --no-scr",
    "--no-screen, Parquet",
    "oyren run, Parquet",
)


@pytest.mark.parametrize("written", engine.WRITTEN)
def test_engine_benchmark_sides_agree_with_the_reference(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path, written
) -> None:
    monkeypatch.setattr(engine, "CACHE", tmp_path)
    # Turns are kept apart once, on the compact file; the other writings run each side once.
    repeat = 2 if written == "compact" else 1
    argv = ["engine.py", "--videos", "120", "--observations-per-video", "4"]
    monkeypatch.setattr(sys, "argv", [*argv, "--repeat", str(repeat), "--written", written])
    engine.main()  # exits with status 1 when a side disagrees
    out = capsys.readouterr().out
    for side in SIDES:
        assert f"\n{side}: agreement with the DuckDB reference\n" in out
    assert "DIFF" not in out
    # Six checks per side: videos, views, basis, eligibility and both view prizes.
    assert out.count("  ok   ") == 6 * len(SIDES)
    assert f"least wall and CPU time of {repeat}" in out
    for name in engine.GOALS:
        assert f"goal {name}: CPU ≤ " in out
    assert list(tmp_path.glob("*.jsonl")) and list(tmp_path.glob("*.parquet"))
    if written in ("spaced", "escaped"):
        (copy,) = tmp_path.glob(f"*-{written}.jsonl")
        text = copy.read_bytes()
        assert b'", "' in text and (b"\\u0259" in text) == (written == "escaped")
    elif written == "crlf":
        (copy,) = tmp_path.glob("*-crlf.jsonl")
        lines = copy.read_bytes().split(b"\n")
        assert lines.pop() == b"" and all(line.endswith(b"}\r") for line in lines)
    elif written == "nulls":
        (copy,) = tmp_path.glob("*-nulls.jsonl")
        records = [orjson.loads(line) for line in copy.read_bytes().splitlines()]
        assert all(tuple(record) == engine.ALL_FIELDS for record in records)
        assert any(record["voice_to_text"] is None for record in records)


def _reference(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_bytes(b"".join(orjson.dumps(row) + b"\n" for row in rows))
    return path


def test_the_agreement_fails_on_any_difference(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [
        {"kind": "video", "id": "1", "views": 500, "basis": "observed", "eligible": True},
        {"kind": "video", "id": "2", "views": 90, "basis": "interpolated", "eligible": False},
        {"kind": "best_video", "id": "1", "username": "aysel", "views": 500},
        {"kind": "discover", "id": None, "username": "aysel", "views": 500, "video_ids": ["1"]},
    ]
    theirs = _reference(tmp_path / "duck.jsonl", rows)
    ours: dict[str, Any] = {
        "entries": [
            {"video_id": "1", "views_at_cutoff": 500, "views_basis": "observed", "eligible": True},
            {
                "video_id": "2",
                "views_at_cutoff": 90,
                "views_basis": "interpolated",
                "eligible": False,
            },
        ],
        "winners": {
            "best_video": {"video_id": "1", "username": "aysel", "views": 500},
            "discover": {"username": "aysel", "views": 500, "video_ids": ["1"]},
        },
    }
    assert engine.report_agreement(ours, theirs)
    changes = [
        lambda r: r["entries"][1].update(views_at_cutoff=91),
        lambda r: r["entries"][1].update(views_basis="last_before"),
        lambda r: r["entries"][0].update(eligible=False),
        lambda r: r["entries"].pop(),
        lambda r: r["winners"]["best_video"].update(views=501),
        lambda r: r["winners"].update(discover=None),
    ]
    for change in changes:
        changed = orjson.loads(orjson.dumps(ours))
        change(changed)
        assert not engine.report_agreement(changed, theirs)
    assert "DIFF views at the cutoff: 1 of 2 agree (e.g. 2: 91 vs 90)" in capsys.readouterr().out


def test_each_side_keeps_its_least_times_and_highest_peak() -> None:
    runs = [
        engine.Measurement(wall_s=3.0, cpu_s=2.0, peak_bytes=100),
        engine.Measurement(wall_s=2.5, cpu_s=2.6, peak_bytes=300),
        engine.Measurement(wall_s=2.8, cpu_s=1.9, peak_bytes=200),
    ]
    assert engine._best(runs) == engine.Measurement(2.5, 1.9, 300)
