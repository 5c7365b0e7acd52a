"""The jury's pages as data: a juror's rounds, the ballot to answer now, a campaign's rounds."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from oyren.errors import StoreError
from oyren.pages.jury import ballot, campaign_rounds, rounds_of
from oyren.store.db import transaction
from oyren.store.jury import close_round, create_round, invite_juror, record_judgment, undo_last
from tests.conftest import HOSTILE_TEXT, SECOND_ID, TOP_ID, TOP_USER

CID = "sandbox-2024"


@pytest.fixture
def session(sandbox_db: Engine) -> Iterator[Session]:
    with transaction(sandbox_db) as s:
        yield s


@pytest.fixture
def round_id(session: Session) -> int:
    """A round on the 6 most viewed eligible entries with the juror 'jale' invited."""
    made = create_round(session, campaign_id=CID, name="Final", by="olga", top=6)
    invite_juror(session, round_id=made.id, juror="jale", by="olga")
    return made.id


def answer(session: Session, round_id: int) -> None:
    page = ballot(session, round_id=round_id, juror="jale")
    entries = [v.video_id for v in page.videos]
    kind = "pair" if len(entries) == 2 else "ranking"
    record_judgment(session, round_id=round_id, juror="jale", kind=kind, entries=entries)


def test_rounds_of_lists_only_the_jurors_open_rounds(session: Session, round_id: int) -> None:
    [mine] = rounds_of(session, juror="jale")
    assert (mine.round_id, mine.name, mine.campaign_id, mine.entries) == (round_id, "Final", CID, 6)
    assert rounds_of(session, juror="kamal") == []
    close_round(session, round_id=round_id, by="olga")
    assert rounds_of(session, juror="jale") == []


def test_ballot_shows_the_question_with_each_videos_facts(session: Session, round_id: int) -> None:
    page = ballot(session, round_id=round_id, juror="jale")
    assert (page.round_id, page.name, page.campaign_id, page.entries) == (round_id, "Final", CID, 6)
    assert page.phase == "coverage"
    assert 2 <= len(page.videos) <= page.size
    assert (page.answers, page.can_undo, page.covered) == (0, False, 0)
    for video in page.videos:
        assert video.username and video.url is not None
        assert video.url.endswith(f"/@{video.username}/video/{video.video_id}")


def test_ballot_keeps_hostile_descriptions_as_plain_text(session: Session) -> None:
    made = create_round(
        session, campaign_id=CID, name="Hostile", by="olga", videos=[TOP_ID, SECOND_ID]
    )
    invite_juror(session, round_id=made.id, juror="jale", by="olga")
    page = ballot(session, round_id=made.id, juror="jale")
    assert {v.video_id for v in page.videos} == {TOP_ID, SECOND_ID}
    [video] = [v for v in page.videos if v.video_id == TOP_ID]
    assert video.username == TOP_USER
    assert HOSTILE_TEXT in video.description


def test_ballot_counts_answers_and_offers_undo(session: Session, round_id: int) -> None:
    answer(session, round_id)
    answer(session, round_id)
    page = ballot(session, round_id=round_id, juror="jale")
    assert (page.answers, page.can_undo) == (2, True)
    undo_last(session, round_id=round_id, juror="jale")
    assert ballot(session, round_id=round_id, juror="jale").answers == 1


def test_ballot_of_a_closed_round_is_refused(session: Session, round_id: int) -> None:
    close_round(session, round_id=round_id, by="olga")
    with pytest.raises(StoreError, match="closed"):
        ballot(session, round_id=round_id, juror="jale")


def test_ballot_refuses_an_uninvited_juror_and_an_unknown_round(
    session: Session, round_id: int
) -> None:
    with pytest.raises(StoreError):
        ballot(session, round_id=round_id, juror="kamal")
    with pytest.raises(StoreError):
        ballot(session, round_id=round_id + 1000, juror="jale")


def test_campaign_rounds_newest_first_with_progress(session: Session, round_id: int) -> None:
    second = create_round(session, campaign_id=CID, name="Second", by="olga", top=4)
    answer(session, round_id)
    campaign, statuses = campaign_rounds(session, campaign_id=CID)
    assert campaign.id == CID
    assert [s.round.id for s in statuses] == [second.id, round_id]
    assert statuses[1].progress.entries == 6
    assert [(s.progress.answers, s.progress.entries) for s in statuses] == [(0, 4), (1, 6)]
    with pytest.raises(StoreError, match="no campaign"):
        campaign_rounds(session, campaign_id="no-such-contest")
