"""The jury commands: open a round, invite, progress, close."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from oyren.store import ingest_observations, next_question, record_judgment
from oyren.store.accounts import create_user
from oyren.store.db import transaction

CID = "tiktokdan-oyren-2024"


def stock(
    stored_db: Engine, make_record: Callable[..., Any], write_jsonl: Callable[..., Path]
) -> None:
    """Five videos 1…5 by u1…u5 and the juror account 'ali'."""
    path = write_jsonl(
        [make_record(id=i, username=f"u{i}", view_count=7000 - 1000 * i) for i in range(1, 6)]
    )
    with transaction(stored_db) as s:
        ingest_observations(s, campaign_id=CID, path=path, by="organizer")
        create_user(s, username="ali", password="correct horse battery", role="juror", by="o")


def test_jury_round_workflow(
    cli: Callable[..., Any],
    stored_db: Engine,
    make_record: Callable[..., Any],
    write_jsonl: Callable[..., Path],
) -> None:
    stock(stored_db, make_record, write_jsonl)
    made = cli("jury", "round", "create", "--campaign", CID, "--name", "Final", "--top", 4)
    assert made.exit_code == 0, made.stderr
    r = int(made.stdout.split("jury round ")[1].split()[0])  # PostgreSQL's sequences move on
    assert made.stdout == f"{CID}: opened jury round {r} 'Final' on 4 entries\n"
    invited = cli("jury", "invite", "--round", r, "--juror", "ali", "--conflict", "@u2")
    assert invited.stdout == f"round {r}: invited ali (kept away from u2)\n"
    with transaction(stored_db) as s:
        question = next_question(s, round_id=r, juror="ali")
        assert question is not None and "2" not in question.entries
        record_judgment(s, round_id=r, juror="ali", kind="pair", entries=list(question.entries))
    progress = cli("jury", "progress", "--round", r)
    assert progress.exit_code == 0
    assert "1 answers (ali 1)" in progress.stdout
    assert "covered: 0 of 4 entries" in progress.stdout
    removed = cli("jury", "remove-votes", "--round", r, "--juror", "ali", "--reason", "a test")
    assert removed.stdout == f"round {r}: 1 answer(s) of ali no longer count\n"
    assert "0 answers" in cli("jury", "progress", "--round", r).stdout
    closed = cli("jury", "close", "--round", r)
    assert closed.stdout == f"round {r} 'Final' closed by tester\n"
    again = cli("jury", "close", "--round", r)
    assert again.exit_code == 2 and "closed" in again.stderr


def test_jury_round_create_needs_one_rule(
    cli: Callable[..., Any],
    stored_db: Engine,
    make_record: Callable[..., Any],
    write_jsonl: Callable[..., Path],
) -> None:
    stock(stored_db, make_record, write_jsonl)
    both = cli("jury", "round", "create", "--campaign", CID, "--name", "X", "--top", 3, "--all")
    assert both.exit_code == 2 and "one shortlist rule" in both.stderr


def test_jury_invite_unknown_juror(
    cli: Callable[..., Any],
    stored_db: Engine,
    make_record: Callable[..., Any],
    write_jsonl: Callable[..., Path],
) -> None:
    stock(stored_db, make_record, write_jsonl)
    made = cli("jury", "round", "create", "--campaign", CID, "--name", "X", "--all")
    round_id = made.stdout.split("jury round ")[1].split()[0]
    missing = cli("jury", "invite", "--round", round_id, "--juror", "nobody")
    assert missing.exit_code == 2 and "no active juror account 'nobody'" in missing.stderr
