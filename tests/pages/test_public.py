"""Publishing: the public pages' data, read from the sandbox campaign in a database."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import Engine

from oyren.batch.bundle import verify_bundle
from oyren.errors import StoreError
from oyren.jury.rounds import Progress
from oyren.pages.public import (
    award_bundle,
    jury_note,
    leaderboard,
    overview,
    partner_showcase,
    self_check,
    submit_link,
    winners,
)
from oyren.rules.campaign import Campaign
from oyren.store import JuryCertainty, award
from oyren.store.db import transaction
from tests.conftest import (
    HOSTILE_TEXT,
    LATE_ID,
    PARTNER_ID,
    SECOND_ID,
    SHORT_ID,
    TOP_ID,
    TOP_USER,
)

ID = "sandbox-2024"
UNSEEN = "https://www.tiktok.com/@new_creator/video/7399999999999999999"


def test_overview_before_and_after_the_deadline(sandbox_db: Engine, sandbox: Campaign) -> None:
    with transaction(sandbox_db) as session:
        before = overview(session, campaign_id=ID, now=sandbox.cutoff_ts - 90)
        after = overview(session, campaign_id=ID, now=sandbox.cutoff_ts + 1)
    assert (before.phase, before.seconds_to_deadline) == ("open", 90)
    assert (after.phase, after.seconds_to_deadline) == ("closed", 0)
    assert before.entries == after.entries
    assert 0 < before.entries < before.videos == 306


def test_leaderboard_ranks_by_views_with_descriptions_and_tiktok_links(
    sandbox_db: Engine, sandbox: Campaign
) -> None:
    with transaction(sandbox_db) as session:
        board = leaderboard(session, campaign_id=ID, now=sandbox.cutoff_ts + 1, limit=5)
    top = board.videos[0]
    assert [r.video_id for r in board.videos[:2]] == [TOP_ID, SECOND_ID]
    assert (top.rank, top.username, top.views, top.description) == (
        1,
        TOP_USER,
        90_000_000,
        f"{HOSTILE_TEXT} #TikTokdanÖyrən",
    )
    assert top.url == f"https://www.tiktok.com/@{TOP_USER}/video/{TOP_ID}"
    assert board.creators[0].username == TOP_USER
    assert (len(board.videos), board.limit, board.offset) == (5, 5, 0)


def test_leaderboard_offset_continues_the_ranks(sandbox_db: Engine, sandbox: Campaign) -> None:
    with transaction(sandbox_db) as session:
        first = leaderboard(session, campaign_id=ID, now=0, limit=4)
        second = leaderboard(session, campaign_id=ID, now=0, offset=2, limit=2)
    assert [r.video_id for r in first.videos[2:]] == [r.video_id for r in second.videos]
    assert [r.rank for r in second.videos] == [3, 4]


def test_self_check_late_video_explains_the_deadline(sandbox_db: Engine, sandbox: Campaign) -> None:
    with transaction(sandbox_db) as session:
        check = self_check(session, campaign_id=ID, query=LATE_ID, now=sandbox.cutoff_ts + 9)
    (video,) = check.videos
    (reason,) = video.explanations
    assert (video.status, reason.reason, reason.side, reason.fix) == (
        "not_counted",
        "outside_window",
        "late",
        "none",
    )
    assert reason.posted_at.isoformat() == "2024-04-22T01:00:00+04:00"


def test_self_check_username_lists_every_video(sandbox_db: Engine, sandbox: Campaign) -> None:
    with transaction(sandbox_db) as session:
        check = self_check(session, campaign_id=ID, query="@HOSTILE_CREATOR", now=0)
    assert (check.lookup.kind, [v.video_id for v in check.videos]) == ("username", [TOP_ID])
    assert check.videos[0].status == "counted"


def test_self_check_short_video_can_still_post_again(sandbox_db: Engine, sandbox: Campaign) -> None:
    with transaction(sandbox_db) as session:
        check = self_check(session, campaign_id=ID, query=SHORT_ID, now=sandbox.cutoff_ts - 60)
    (reason,) = check.videos[0].explanations
    assert (reason.reason, reason.duration_s, reason.fix, reason.can_fix) == (
        "too_short",
        12,
        "post_again",
        True,
    )


def test_self_check_unseen_link_is_submittable_until_the_deadline(
    sandbox_db: Engine, sandbox: Campaign
) -> None:
    with transaction(sandbox_db) as session:
        open_ = self_check(session, campaign_id=ID, query=UNSEEN, now=sandbox.cutoff_ts)
        closed = self_check(session, campaign_id=ID, query=UNSEEN, now=sandbox.cutoff_ts + 1)
    assert (open_.videos, open_.submittable, open_.submission) == ((), True, None)
    assert closed.submittable is False


def test_submit_link_then_check_shows_the_submission(sandbox_db: Engine, sandbox: Campaign) -> None:
    with transaction(sandbox_db) as session:
        made = submit_link(session, campaign_id=ID, query=UNSEEN, now=sandbox.cutoff_ts - 5)
        check = self_check(session, campaign_id=ID, query=UNSEEN, now=sandbox.cutoff_ts - 4)
    assert (check.submission, check.submittable) == (made, False)


def test_submit_link_after_the_deadline_is_refused(sandbox_db: Engine, sandbox: Campaign) -> None:
    with transaction(sandbox_db) as session, pytest.raises(StoreError, match="closed"):
        submit_link(session, campaign_id=ID, query=UNSEEN, now=sandbox.cutoff_ts + 1)


def test_partner_showcase_counts_partner_videos(sandbox_db: Engine, sandbox: Campaign) -> None:
    with transaction(sandbox_db) as session:
        show = partner_showcase(session, campaign_id=ID)
    first = next(c for c in show.partners if c.partner.username == sandbox.partners[0].username)
    assert PARTNER_ID in [v.video_id for v in first.videos]
    assert first.views >= 60_000
    assert first.url == f"https://www.tiktok.com/@{sandbox.partners[0].username}"
    assert show.views == sum(c.views for c in show.partners)


def test_winners_before_the_award_are_empty(sandbox_db: Engine, sandbox: Campaign) -> None:
    with transaction(sandbox_db) as session:
        page = winners(session, campaign_id=ID, now=sandbox.cutoff_ts + 1)
    assert (page.phase, page.award, page.prizes, page.bundle_digest) == ("closed", None, (), None)


def test_winners_after_the_award_with_a_bundle_that_verifies(
    sandbox_db: Engine, sandbox: Campaign, tmp_path: Path
) -> None:
    with transaction(sandbox_db) as session:
        award(session, campaign_id=ID, by="olga", at=sandbox.cutoff_ts + 86400)
    with transaction(sandbox_db) as session:
        page = winners(session, campaign_id=ID, now=sandbox.cutoff_ts + 2 * 86400)
        bundle = award_bundle(session, campaign_id=ID)
    with transaction(sandbox_db) as session:
        fresh = award_bundle(session, campaign_id=ID)
    best = next(p for p in page.prizes if p.category == "best_video")
    assert (page.phase, best.video_id, best.views) == ("awarded", TOP_ID, 90_000_000)
    assert (bundle.digest, bundle.data) == (page.bundle_digest, fresh.data)
    zipfile.ZipFile(io.BytesIO(bundle.data)).extractall(tmp_path)
    result = verify_bundle(tmp_path / f"{ID}-award-1")
    assert (result.ok, result.digest) == (True, bundle.digest)


def test_award_bundle_without_an_award_is_refused(sandbox_db: Engine) -> None:
    with transaction(sandbox_db) as session, pytest.raises(StoreError, match="no award yet"):
        award_bundle(session, campaign_id=ID)


# --- The winners page's words about the jury ----------------------------------------------------


def _certainty(**kw: object) -> JuryCertainty:
    base: dict[str, object] = dict(
        answers=40, by_juror=(("a", 20), ("b", 20)), entries=10, covered=10, leader="1",
        leader_p_best=0.93, threshold=0.9, done=True, to_cover=0, to_decide=0, runner_up="2",
        runner_up_p_best=0.05, jurors=5, jurors_on_top=3, jurors_needed=3, close=False,
        tiebreak=None, evidence=50.0,
    )  # fmt: skip
    base.update(kw)
    return JuryCertainty(1, 0.9, Progress(**base))  # type: ignore[arg-type]


def test_jury_note_gives_a_number_only_when_it_is_calibrated() -> None:
    settled = jury_note(_certainty(), "1")
    assert (settled.sure, settled.below, settled.jurors, settled.answers) == (0.93, False, 5, 40)
    # Not the leader (a prize limit passed it on), uncovered entries, too few jurors on the
    # top two: no number.
    assert jury_note(_certainty(), "2").sure is None
    assert jury_note(_certainty(covered=9, done=False), "1").sure is None
    assert jury_note(_certainty(jurors_on_top=2, done=False), "1").sure is None
    # Below the threshold: said so, no number.
    below = jury_note(_certainty(leader_p_best=0.7, done=False, evidence=2.0), "1")
    assert below.below and below.sure is None
    # Decided by the organizer's tie-break: the reason, not a number, and not "below".
    tied = _certainty(leader_p_best=0.55, runner_up_p_best=0.4, done=False, close=True,
                      tiebreak=("2", "1", "a bolder idea", "olga"))  # fmt: skip
    note = jury_note(tied, "2")
    assert (note.tiebreak_reason, note.sure, note.below) == ("a bolder idea", None, False)
