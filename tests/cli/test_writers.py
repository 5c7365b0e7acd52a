"""Writers at once: every writing command waits its turn; none dies of a locked database."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import func, select

import oyren
from oyren.errors import StoreBusy
from oyren.inputs.observations import observation_to_record
from oyren.rules.campaign import Campaign
from oyren.sandbox.simulate import observations, simulate
from oyren.store import ingest_observations
from oyren.store.db import create_db_engine, transaction
from oyren.store.models import AuditRow, ObservationRow

CID = "tiktokdan-oyren-2024"
SRC = str(Path(oyren.__file__).resolve().parent.parent)


def _oyren(url: str, *args: object) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": SRC, "OYREN_DATABASE_URL": url, "OYREN_USER": "tester"}
    command = [sys.executable, "-m", "oyren", *(str(a) for a in args)]
    return subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


@pytest.fixture(scope="module")
def big_files(tmp_path_factory: pytest.TempPathFactory, campaign: Campaign) -> list[Path]:
    """Two files of 6,000 observations each (different videos): imports that take a while."""
    folder = tmp_path_factory.mktemp("writers")
    paths = []
    for seed in (1, 2):
        sim = simulate(campaign, videos=600, seed=seed, observations_per_video=10)
        path = folder / f"observations-{seed}.jsonl"
        with path.open("wb") as handle:
            for o in observations(sim):
                record = observation_to_record(o)
                record["id"] = f"{seed}{record['id']}"  # the two files share no video
                handle.write(orjson.dumps(record) + b"\n")
        paths.append(path)
    return paths


@pytest.fixture
def sqlite_url(tmp_path: Path, sqlite_template: Path, campaign: Campaign) -> str:
    """A migrated SQLite file with the shipped campaign registered (in this process: `oyren
    init` has tests of its own, and the writers under test here are the commands that follow)."""
    import shutil

    from oyren.store import register_campaign

    path = tmp_path / "oyren.db"
    shutil.copyfile(sqlite_template, path)
    url = f"sqlite:///{path}"
    engine = create_db_engine(url)
    with transaction(engine) as session:
        register_campaign(session, campaign=campaign, by="tester")
    engine.dispose()
    return url


def _finish(run: subprocess.Popen[str]) -> tuple[int, str]:
    """Wait for a command; return its exit status and what it printed on stderr."""
    _, err = run.communicate(timeout=180)
    return run.returncode, err


def _lines(path: Path) -> int:
    return path.read_bytes().count(b"\n")


@pytest.mark.slow
def test_two_ingests_at_once_on_sqlite_both_succeed(sqlite_url: str, big_files: list[Path]) -> None:
    for _ in range(2):  # the old code lost this race every time
        runs = [_oyren(sqlite_url, "ingest", "--campaign", CID, "--observations", p)
                for p in big_files]  # fmt: skip
        results = [_finish(run) for run in runs]
        assert [(code, "Traceback" in err) for code, err in results] == [(0, False), (0, False)]
    engine = create_db_engine(sqlite_url)
    with transaction(engine, write=False) as session:
        stored = session.scalar(select(func.count()).select_from(ObservationRow))
        imports = session.scalar(
            select(func.count()).where(AuditRow.action == "observations.ingest")
        )
    engine.dispose()
    assert (stored, imports) == (sum(_lines(p) for p in big_files), 4)


@pytest.mark.slow
def test_ingest_moderate_and_remove_at_once_on_sqlite_all_succeed(
    sqlite_url: str,
    big_files: list[Path],
    tmp_path: Path,
    write_jsonl: Any,
    make_record: Any,
    campaign: Campaign,
) -> None:
    known = write_jsonl([make_record(id=42), make_record(id=43)], name="known.jsonl")
    assert _finish(_oyren(sqlite_url, "ingest", "--campaign", CID, "--observations", known))[0] == 0
    decisions = write_jsonl(
        [{"video_id": "43", "action": "exclude", "reason": "re-upload", "by": "nigar",
          "at": campaign.cutoff_ts + 60}],
        name="decisions.jsonl",
    )  # fmt: skip
    runs = [
        _oyren(sqlite_url, "ingest", "--campaign", CID, "--observations", big_files[0]),
        _oyren(sqlite_url, "ingest", "--campaign", CID, "--observations", big_files[1]),
        _oyren(sqlite_url, "moderate", "--campaign", CID, "--from", decisions),
        _oyren(sqlite_url, "remove", "--campaign", CID, "--video", "42", "--reason", "deleted"),
    ]
    results = [_finish(run) for run in runs]
    assert [(code, "Traceback" in err) for code, err in results] == [(0, False)] * 4, results


def _hold_write_lock(path: str, seconds: float, held: threading.Event,
                     release: threading.Event | None = None) -> None:  # fmt: skip
    """Take SQLite's write lock as another writer would; let go after ``seconds`` or ``release``."""
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("BEGIN IMMEDIATE")
    held.set()
    if release is None:
        time.sleep(seconds)
    else:
        release.wait(seconds)
    connection.execute("ROLLBACK")
    connection.close()


def test_writer_waits_for_the_lock_held_by_another(
    stored_db: Any, write_jsonl: Any, make_record: Any
) -> None:
    if stored_db.dialect.name != "sqlite":
        pytest.skip("does not apply to PostgreSQL: a case of SQLite's write lock")
    held = threading.Event()
    holder = threading.Thread(target=_hold_write_lock, args=(stored_db.url.database, 0.5, held))
    holder.start()
    held.wait(5)
    started = time.monotonic()
    with transaction(stored_db) as session:
        ingest_observations(session, campaign_id=CID, path=write_jsonl([make_record()]), by="m")
    holder.join()
    assert time.monotonic() - started >= 0.4


def test_writer_past_the_busy_timeout_gets_a_message(
    sqlite_url: str, big_files: list[Path]
) -> None:
    path = sqlite_url.removeprefix("sqlite:///")
    held, release = threading.Event(), threading.Event()
    holder = threading.Thread(target=_hold_write_lock, args=(path, 120, held, release))
    holder.start()
    held.wait(5)
    run = _oyren(f"{sqlite_url}?timeout=0.2", "ingest", "--campaign", CID,
                 "--observations", big_files[0])  # fmt: skip
    code, err = _finish(run)
    release.set()
    holder.join()
    assert (code, "Traceback" in err, "busy with another writer" in err) == (2, False, True)


def test_transaction_past_the_busy_timeout_raises_store_busy(
    sqlite_url: str, write_jsonl: Any, make_record: Any
) -> None:
    path = sqlite_url.removeprefix("sqlite:///")
    held = threading.Event()
    holder = threading.Thread(target=_hold_write_lock, args=(path, 1.0, held))
    holder.start()
    held.wait(5)
    engine = create_db_engine(f"{sqlite_url}?timeout=0.1")
    path = write_jsonl([make_record()])
    with pytest.raises(StoreBusy, match="nothing was changed"), transaction(engine) as session:
        ingest_observations(session, campaign_id=CID, path=path, by="m")
    # A reader does not wait for the writer.
    with transaction(engine, write=False) as session:
        assert session.scalar(select(func.count()).select_from(AuditRow)) == 1
    engine.dispose()
    holder.join()


def test_two_imports_in_threads_with_their_own_engines_both_finish(
    stored_db: Any, big_files: list[Path], tmp_path: Path
) -> None:
    """On SQLite and PostgreSQL: overlapping imports at once, each observation stored once."""
    overlap = tmp_path / "overlap.jsonl"
    second = big_files[1].read_bytes()
    overlap.write_bytes(big_files[0].read_bytes() + second[: second.index(b"\n", 200_000) + 1])
    url = stored_db.url.render_as_string(hide_password=False)
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def load(path: Path) -> None:
        engine = create_db_engine(url)
        try:
            start.wait(10)
            with transaction(engine) as session:
                ingest_observations(session, campaign_id=CID, path=path, by="t")
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            engine.dispose()

    threads = [threading.Thread(target=load, args=(p,)) for p in (big_files[0], overlap)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(300)
    assert errors == []
    distinct = {line for line in overlap.read_bytes().splitlines() if line}
    with transaction(stored_db, write=False) as session:
        stored = session.scalar(select(func.count()).select_from(ObservationRow))
    assert stored == len(distinct)
