"""The kill -9 fault harness, small: a few kills of `oyren crawl` and `oyren track` per database.

The full run (30 kills of each command on each database) is ``benchmarks/faults.py``; its figures
are in docs/security.md.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import faults  # benchmarks/faults.py: a missing harness fails here rather than being skipped
import pytest

from tests.conftest import POSTGRES_URL_ENV


def _check(t: Any) -> None:
    assert t.kills >= 2
    assert t.problems == []
    assert (t.torn_pages, t.twice, t.wrong_videos, t.wrong_counts, t.overcounted) == (0, 0, 0, 0, 0)
    assert t.pages_answered > 0 and t.ledger <= t.charged


@pytest.mark.slow
@pytest.mark.parametrize("command", ["crawl", "track"])
def test_kill_9_then_resume_stores_each_page_once_on_sqlite(command: str, tmp_path: Path) -> None:
    toml = faults.campaign_file(tmp_path)
    databases = faults.sqlite_databases(tmp_path)
    _check(faults.run_command(command, "SQLite", databases, trials=2, videos=600,
                              campaign_file=toml))  # fmt: skip


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.parametrize("command", ["crawl", "track"])
def test_kill_9_then_resume_stores_each_page_once_on_postgres(command: str, tmp_path: Path) -> None:
    url = os.environ.get(POSTGRES_URL_ENV)
    if not url:
        pytest.skip(f"{POSTGRES_URL_ENV} is not set")
    toml = faults.campaign_file(tmp_path)
    databases = faults.postgres_databases(url)
    try:
        _check(faults.run_command(command, "PostgreSQL", databases, trials=2, videos=600,
                                  campaign_file=toml, seed=3))  # fmt: skip
    finally:
        faults.drop_postgres(databases)
