"""Jury rounds in the store: shortlists, conflicts, undo, removed votes, stop rule, the prize."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from oyren.batch.bundle import verify_bundle
from oyren.errors import StoreError
from oyren.inputs.judgments import Judgment, active, read_judgments, without_judges
from oyren.jury.model import jury_picks
from oyren.store import (
    audit_page,
    award,
    break_tie,
    build_shortlist,
    close_round,
    create_round,
    export_bundle,
    focus_round,
    get_campaign,
    ingest_observations,
    invite_juror,
    jury_certainty,
    jury_order,
    next_question,
    record_judgment,
    remove_juror_votes,
    round_judgments,
    round_progress,
    skip,
    standings,
    undo_last,
)
from oyren.store.accounts import create_user
from oyren.store.db import transaction
from oyren.store.moderation import moderate

CID = "tiktokdan-oyren-2024"
PASSWORD = "correct horse battery"
TASTE = ["4", "2", "5", "1", "3", "6"]  # the jurors' shared taste, best first


@pytest.fixture
def session(
    stored_db: Engine,
    make_record: Callable[..., dict[str, Any]],
    write_jsonl: Callable[..., Path],
) -> Iterator[Session]:
    """Six eligible videos 1…6 by creators u1…u6 (views 6000 down to 1000), jurors ali, bela
    and cem, and a moderator."""
    path = write_jsonl(
        [make_record(id=i, username=f"u{i}", view_count=7000 - 1000 * i) for i in range(1, 7)]
    )
    with transaction(stored_db) as s:
        ingest_observations(s, campaign_id=CID, path=path, by="organizer")
        for name in ("ali", "bela", "cem"):
            create_user(s, username=name, password=PASSWORD, role="juror", by="organizer")
        create_user(s, username="mona", password=PASSWORD, role="moderator", by="organizer")
        yield s


def open_round(session: Session, **kw: Any) -> int:
    made = create_round(session, campaign_id=CID, name="Final", by="organizer", **kw)
    for juror in ("ali", "bela"):
        invite_juror(session, round_id=made.id, juror=juror, by="organizer")
    return made.id


def answer(session: Session, round_id: int, juror: str, *, times: int) -> list[Judgment]:
    """Let ``juror`` answer up to ``times`` questions by :data:`TASTE`."""
    out = []
    for _ in range(times):
        question = next_question(session, round_id=round_id, juror=juror)
        if question is None:
            break
        order = sorted(question.entries, key=TASTE.index)
        out.append(
            record_judgment(session, round_id=round_id, juror=juror, kind="ranking", entries=order)
        )
    return out


def test_build_shortlist_top_by_views(session: Session) -> None:
    entries = standings(session, campaign_id=CID).results.entries
    assert [e.video_id for e in build_shortlist(entries, top=3)] == ["1", "2", "3"]


def test_build_shortlist_hand_picked_must_be_eligible(session: Session) -> None:
    entries = standings(session, campaign_id=CID).results.entries
    assert [e.video_id for e in build_shortlist(entries, videos=["5", "2"])] == ["5", "2"]
    with pytest.raises(StoreError, match="not eligible"):
        build_shortlist(entries, videos=["2", "99"])


def test_build_shortlist_one_rule_at_a_time(session: Session) -> None:
    entries = standings(session, campaign_id=CID).results.entries
    with pytest.raises(StoreError, match="one rule"):
        build_shortlist(entries, top=3, topic="science")


def test_create_round_all_eligible(session: Session) -> None:
    made = create_round(session, campaign_id=CID, name="All", by="organizer", size=3)
    assert (made.shortlist, made.size, made.status) == (("1", "2", "3", "4", "5", "6"), 3, "open")
    assert made.creators["4"] == "u4"


def test_invite_juror_needs_a_juror_account(session: Session) -> None:
    made = create_round(session, campaign_id=CID, name="All", by="organizer")
    with pytest.raises(StoreError, match="no active juror account 'mona'"):
        invite_juror(session, round_id=made.id, juror="mona", by="organizer")


def test_next_question_uninvited_juror_refused(session: Session) -> None:
    made = create_round(session, campaign_id=CID, name="All", by="organizer")
    with pytest.raises(StoreError, match="not a juror"):
        next_question(session, round_id=made.id, juror="ali")


def test_conflicts_keep_a_juror_away_from_creators_and_videos(session: Session) -> None:
    made = create_round(session, campaign_id=CID, name="All", by="organizer")
    invite_juror(session, round_id=made.id, juror="ali", by="organizer", conflicts=["@u4", "5"])
    judged = answer(session, made.id, "ali", times=40)
    assert judged
    assert {e for j in judged for e in j.entries}.isdisjoint({"4", "5"})


def test_record_judgment_must_answer_the_question(session: Session) -> None:
    round_id = open_round(session)
    question = next_question(session, round_id=round_id, juror="ali")
    assert question is not None
    other = next(e for e in ("1", "2", "3", "4", "5", "6") if e not in question.entries)
    with pytest.raises(StoreError, match="does not match the question"):
        record_judgment(
            session,
            round_id=round_id,
            juror="ali",
            kind="pair",
            entries=[question.entries[0], other],
        )


def test_skip_keeps_entries_away_until_undone(session: Session) -> None:
    round_id = open_round(session)
    question = next_question(session, round_id=round_id, juror="ali")
    assert question is not None
    skipped = question.entries[0]
    skip(session, round_id=round_id, juror="ali", entries=[skipped])
    judged = answer(session, round_id, "ali", times=3)
    assert all(skipped not in j.entries for j in judged)
    for _ in range(4):
        undo_last(session, round_id=round_id, juror="ali")
    assert all(j.undone for j in round_judgments(session, round_id=round_id))


def test_undo_is_exact(session: Session) -> None:
    round_id = open_round(session)
    answer(session, round_id, "ali", times=5)
    before = round_judgments(session, round_id=round_id)
    answer(session, round_id, "ali", times=1)
    taken = undo_last(session, round_id=round_id, juror="ali")
    after = round_judgments(session, round_id=round_id)
    assert taken is not None and taken.undone
    assert len(after) == len(before) + 1 and after[-1].undone  # kept, marked
    counted = active(before)
    assert active(after) == counted
    judged = {e for j in counted for e in j.entries}
    assert jury_order(session, CID) == jury_picks(counted, judged)


def test_remove_juror_votes_is_exact(session: Session) -> None:
    round_id = open_round(session)
    answer(session, round_id, "ali", times=4)
    answer(session, round_id, "bela", times=4)
    everything = round_judgments(session, round_id=round_id)
    removed = remove_juror_votes(
        session, round_id=round_id, juror="bela", by="organizer", reason="clicked at random"
    )
    assert removed == 4
    kept = active(without_judges(everything, {"bela"}))
    assert active(round_judgments(session, round_id=round_id)) == kept
    assert jury_order(session, CID) == jury_picks(kept, {e for j in kept for e in j.entries})
    with pytest.raises(StoreError, match="not a juror"):
        next_question(session, round_id=round_id, juror="bela")


def test_round_progress_stop_rule(session: Session) -> None:
    round_id = open_round(session, threshold=0.8)
    # An entry both first and last in two answers needs a third juror to be covered.
    invite_juror(session, round_id=round_id, juror="cem", by="organizer")
    start = round_progress(session, round_id=round_id)
    assert (start.answers, start.done, start.entries) == (0, False, 6)
    for _ in range(40):
        for juror in ("ali", "bela", "cem"):
            answer(session, round_id, juror, times=1)
        progress = round_progress(session, round_id=round_id)
        if progress.done:
            break
    assert progress.leader == TASTE[0]
    assert progress.leader_p_best >= 0.8
    assert progress.covered == 6
    assert progress.jurors_on_top == 3
    # Three jurors, however unanimous, leave room for their private tastes: the evidence
    # against a dead heat is what decides whether the round may stop.
    assert progress.done == (progress.evidence >= 0.8 / 0.2)


def test_close_round_refuses_more_answers(session: Session) -> None:
    round_id = open_round(session)
    answer(session, round_id, "ali", times=2)
    closed = close_round(session, round_id=round_id, by="organizer")
    assert (closed.status, closed.closed_by) == ("closed", "organizer")
    with pytest.raises(StoreError, match="closed"):
        answer(session, round_id, "ali", times=1)


def test_jury_prize_in_standings_award_and_bundle(session: Session, tmp_path: Path) -> None:
    round_id = open_round(session, size=3)
    for _ in range(8):
        answer(session, round_id, "ali", times=1)
        answer(session, round_id, "bela", times=1)
    close_round(session, round_id=round_id, by="organizer")
    live = standings(session, campaign_id=CID).results.winners
    assert live.most_creative is not None
    assert live.most_creative.video_id == TASTE[0]
    campaign = get_campaign(session, CID)
    frozen = award(session, campaign_id=CID, by="organizer", at=campaign.cutoff_ts + 86400)
    assert frozen.results.winners.most_creative == live.most_creative
    out = tmp_path / "bundle"
    export_bundle(session, campaign_id=CID, out=out)
    lines = [orjson.loads(line) for line in (out / "judgments.jsonl").read_bytes().splitlines()]
    assert len(lines) == 16
    assert all(set(r) <= {"judge", "winner", "loser", "tie", "ranking", "at"} for r in lines)
    assert len(read_judgments(out / "judgments.jsonl", {str(i) for i in range(1, 7)})) == 16
    verification = verify_bundle(out)
    assert verification.problems == ()


def test_jury_changes_are_audited(session: Session) -> None:
    round_id = open_round(session)
    answer(session, round_id, "ali", times=1)
    undo_last(session, round_id=round_id, juror="ali")
    close_round(session, round_id=round_id, by="organizer")
    logged = [e.action for e in audit_page(session, campaign_id=CID).entries]
    assert logged[:5] == ["jury.close", "jury.undo", "jury.judgment", "jury.invite", "jury.invite"]
    assert "jury.round" in logged


# --- Close races: focus, face-off, tie-break, and the award's honesty about them ------------


def test_focus_and_faceoff_are_stored_audited_and_asked(session: Session) -> None:
    round_id = open_round(session, size=3)
    info = focus_round(session, round_id=round_id, entries=["2", "5"], mode="faceoff",
                       by="organizer", at=1_000)  # fmt: skip
    assert info.focus is not None and info.focus.entries == ("2", "5")
    question = next_question(session, round_id=round_id, juror="ali")
    assert question is not None and set(question.entries) == {"2", "5"}
    assert question.phase == "faceoff"
    record_judgment(session, round_id=round_id, juror="ali", kind="pair", entries=["5", "2"],
                    at=1_001)  # fmt: skip
    after = next_question(session, round_id=round_id, juror="ali")
    assert after is not None and after.phase != "faceoff"
    assert focus_round(session, round_id=round_id, entries=None, by="organizer").focus is None
    for bad, message in (
        (["2", "2"], "two different"),
        (["2", "99"], "not on round"),
        (["2"], "two different"),
    ):
        with pytest.raises(StoreError, match=message):
            focus_round(session, round_id=round_id, entries=bad, by="organizer")
    with pytest.raises(StoreError, match="unknown focus"):
        focus_round(session, round_id=round_id, entries=["2", "5"], mode="loud", by="organizer")
    logged = [e.action for e in audit_page(session, campaign_id=CID).entries]
    assert logged.count("jury.focus") == 2


def test_tiebreak_is_stored_audited_in_the_bundle_and_verifiable(
    session: Session, tmp_path: Path
) -> None:
    round_id = open_round(session, size=3)
    for _ in range(8):
        answer(session, round_id, "ali", times=1)
        answer(session, round_id, "bela", times=1)
    leader = jury_order(session, CID)[0].video_id
    second = jury_order(session, CID)[1].video_id
    for bad in ("", "   ", "\x00"):
        with pytest.raises(StoreError, match="reason"):
            break_tie(session, round_id=round_id, first=second, second=leader, reason=bad,
                      by="organizer")  # fmt: skip
    with pytest.raises(StoreError, match="not on round"):
        break_tie(session, round_id=round_id, first="99", second=leader, reason="x",
                  by="organizer")  # fmt: skip
    break_tie(session, round_id=round_id, first=second, second=leader, reason="bolder idea",
              by="organizer")  # fmt: skip
    assert [p.video_id for p in jury_order(session, CID)[:2]] == [second, leader]
    assert round_progress(session, round_id=round_id).tiebreak == (
        second, leader, "bolder idea", "organizer"
    )  # fmt: skip
    entry = audit_page(session, campaign_id=CID).entries[0]
    assert entry.action == "jury.tiebreak"
    close_round(session, round_id=round_id, by="organizer")
    campaign = get_campaign(session, CID)
    frozen = award(session, campaign_id=CID, by="organizer", at=campaign.cutoff_ts + 86400)
    # u2 holds the discover prize (one prize per creator), so "4" still wins; the jury's order
    # behind it is the tie-break's, in the store and in the bundle's recomputation alike.
    assert frozen.results.winners.most_creative is not None
    out = tmp_path / "bundle"
    manifest = export_bundle(session, campaign_id=CID, out=out)
    lines = [orjson.loads(line) for line in (out / "judgments.jsonl").read_bytes().splitlines()]
    assert lines[-1]["tiebreak"] == [second, leader] and lines[-1]["reason"] == "bolder idea"
    assert manifest["award"]["jury"]["tiebreak"]["reason"] == "bolder idea"
    assert verify_bundle(out).problems == ()


def test_certainty_below_threshold_is_reported_and_kept_with_the_award(
    session: Session, tmp_path: Path
) -> None:
    round_id = open_round(session, size=3, threshold=0.99)
    answer(session, round_id, "ali", times=2)
    certainty = jury_certainty(session, campaign_id=CID)
    assert certainty is not None and certainty.round_id == round_id
    assert certainty.below and certainty.progress.leader_p_best < 0.99
    campaign = get_campaign(session, CID)
    award(session, campaign_id=CID, by="organizer", at=campaign.cutoff_ts + 86400)
    # Later answers do not change what the award was made on.
    answer(session, round_id, "bela", times=3)
    kept = jury_certainty(session, campaign_id=CID, award=True)
    assert kept is not None and kept.progress.answers == 2 and kept.below
    manifest = export_bundle(session, campaign_id=CID, out=tmp_path / "b")
    jury = manifest["award"]["jury"]
    assert jury["below_threshold"] is True and jury["answers"] == 2
    assert jury["threshold"] == 0.99 and jury["stop_rule_met"] is False


def test_award_after_the_jurys_favourite_is_excluded_verifies(
    session: Session, tmp_path: Path
) -> None:
    # The store and the bundle fit the jury over the same entries (the judged ones that can win),
    # so an award made after a moderator excludes the jury's favourite recomputes from its bundle.
    round_id = open_round(session, size=3)
    for _ in range(8):
        answer(session, round_id, "ali", times=1)
        answer(session, round_id, "bela", times=1)
    close_round(session, round_id=round_id, by="organizer")
    campaign = get_campaign(session, CID)
    moderate(
        session,
        campaign_id=CID,
        video_id=TASTE[0],
        action="exclude",
        reason="a re-upload of another creator's video",
        by="mona",
        at=campaign.cutoff_ts + 3600,
    )
    frozen = award(session, campaign_id=CID, by="organizer", at=campaign.cutoff_ts + 86400)
    picked = frozen.results.winners.most_creative
    assert picked is not None and picked.video_id != TASTE[0]
    out = tmp_path / "bundle"
    export_bundle(session, campaign_id=CID, out=out)
    verification = verify_bundle(out)
    assert verification.problems == ()
