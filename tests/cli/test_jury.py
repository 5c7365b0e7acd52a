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


def test_close_race_is_said_and_an_unsettled_award_is_refused(
    cli: Callable[..., Any],
    stored_db: Engine,
    make_record: Callable[..., Any],
    write_jsonl: Callable[..., Path],
) -> None:
    stock(stored_db, make_record, write_jsonl)
    with transaction(stored_db) as s:
        for name in ("bela", "cem"):
            create_user(s, username=name, password="correct horse battery", role="juror", by="o")
    made = cli("jury", "round", "create", "--campaign", CID, "--name", "Final", "--top", 3)
    assert made.exit_code == 0, made.stderr
    r = int(made.stdout.split("jury round ")[1].split()[0])
    for name in ("ali", "bela", "cem"):
        cli("jury", "invite", "--round", r, "--juror", name)
    # 1 and 2 split evenly, 3 always last: a close race between 1 and 2.
    flip = 0
    for _ in range(4):
        for name in ("ali", "bela", "cem"):
            with transaction(stored_db) as s:
                question = next_question(s, round_id=r, juror=name)
                if question is None:
                    continue
                order = sorted(question.entries, key=lambda e: (e == "3", e != str(1 + flip % 2)))
                flip += 1
                record_judgment(s, round_id=r, juror=name, kind="pair", entries=order)
    progress = cli("jury", "progress", "--round", r)
    assert progress.exit_code == 0, progress.stderr
    assert "close race:" in progress.stdout and "cannot yet say which is better" in progress.stdout
    assert f"oyren jury focus --round {r}" in progress.stdout
    assert "runner-up:" in progress.stdout
    refused = cli("award", "--campaign", CID)
    assert refused.exit_code != 0
    assert "has not settled the most creative prize" in refused.stderr
    assert "--despite-jury" in refused.stderr
    focused = cli("jury", "focus", "--round", r, "1", "2", "--faceoff")
    assert focused.stdout == f"round {r}: every juror is asked 1 against 2\n"
    assert (
        "a final face-off by every juror on 1 and 2" in cli("jury", "progress", "--round", r).stdout
    )
    bad = cli("jury", "focus", "--round", r, "1")
    assert bad.exit_code == 2 and "two entries" in bad.stderr
    assert cli("jury", "focus", "--round", r, "--off").stdout == f"round {r}: questions as usual\n"
    no_reason = cli("jury", "tiebreak", "--round", r, "--first", "2", "--second", "1",
                    "--reason", " ")  # fmt: skip
    assert no_reason.exit_code == 2 and "reason" in no_reason.stderr
    broken = cli("jury", "tiebreak", "--round", r, "--first", "2", "--second", "1",
                 "--reason", "the clearer lesson")  # fmt: skip
    assert broken.stdout == f"round {r}: tie-break recorded, 2 ahead of 1\n"
    assert (
        "tie-break by tester: 2 ahead of 1 (the clearer lesson)"
        in cli("jury", "progress", "--round", r).stdout
    )
    awarded = cli("award", "--campaign", CID)
    assert awarded.exit_code == 0, awarded.stderr
