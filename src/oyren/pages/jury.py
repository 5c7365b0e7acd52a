"""What the jury's pages show: a juror's next question, and an organizer's view of the rounds.

A juror sees the videos to compare (description, creator, duration, a link to TikTok) and how
far they and the round have got, never the model's leader or its probability, so the answers
are not swayed by what others thought. The organizer sees the leader, its probability of being
the best and an estimate of the questions still needed.
"""

from __future__ import annotations

from dataclasses import dataclass

from oyren.inputs.links import video_url
from oyren.jury.rounds import Progress
from oyren.pages.snapshots import metas_at_deadline
from oyren.rules.campaign import Campaign
from oyren.rules.observations import Observation
from oyren.store import (
    RoundInfo,
    get_campaign,
    get_round,
    juror_rounds,
    list_rounds,
    next_question,
    round_judgments,
    round_progress,
)
from oyren.store.db import Session

__all__ = [
    "Ballot",
    "BallotVideo",
    "JurorRound",
    "RoundStatus",
    "ballot",
    "campaign_rounds",
    "rounds_of",
]


@dataclass(frozen=True, slots=True)
class BallotVideo:
    """A video as a juror sees it in a question."""

    video_id: str
    username: str
    description: str
    duration_s: int | None
    url: str | None


@dataclass(frozen=True, slots=True)
class Ballot:
    """A juror's page: the round, the next question (None when done), their progress."""

    round_id: int
    name: str
    campaign_id: str
    size: int
    videos: tuple[BallotVideo, ...]
    phase: str | None
    answers: int  # this juror's answers that count
    can_undo: bool
    covered: int
    entries: int
    # The round as a whole (every juror): questions answered, and about how many it needs in all
    # (answered plus the questions still needed to cover every entry or decide the leader).
    round_answers: int = 0
    about_total: int = 0


@dataclass(frozen=True, slots=True)
class JurorRound:
    """An open round a juror is invited to."""

    round_id: int
    name: str
    campaign_id: str
    entries: int


@dataclass(frozen=True, slots=True)
class RoundStatus:
    """A round and its progress, for the organizer."""

    round: RoundInfo
    progress: Progress


def rounds_of(session: Session, *, juror: str) -> list[JurorRound]:
    """The open rounds ``juror`` may answer in."""
    return [
        JurorRound(r.id, r.name, r.campaign_id, len(r.shortlist))
        for r in juror_rounds(session, juror=juror)
    ]


def ballot(session: Session, *, round_id: int, juror: str) -> Ballot:
    """The juror's page for a round: the question to answer now and their progress."""
    info = get_round(session, round_id=round_id)
    question = next_question(session, round_id=round_id, juror=juror)
    videos: tuple[BallotVideo, ...] = ()
    if question is not None:
        campaign = get_campaign(session, info.campaign_id)
        metas = metas_at_deadline(session, campaign, question.entries)
        videos = tuple(_video(info, metas, entry) for entry in question.entries)
    judgments = round_judgments(session, round_id=round_id)
    mine = [j for j in judgments if j.judge == juror]
    progress = round_progress(session, round_id=round_id)
    return Ballot(
        round_id=info.id,
        name=info.name,
        campaign_id=info.campaign_id,
        size=info.size,
        videos=videos,
        phase=None if question is None else question.phase,
        answers=sum(1 for j in mine if j.counts),
        can_undo=any(not j.undone for j in mine),
        covered=progress.covered,
        entries=progress.entries,
        round_answers=progress.answers,
        about_total=progress.answers + max(progress.to_cover, progress.to_decide or 0),
    )


def campaign_rounds(session: Session, *, campaign_id: str) -> tuple[Campaign, list[RoundStatus]]:
    """A campaign's rounds with their progress, newest first."""
    campaign = get_campaign(session, campaign_id)
    rounds = list_rounds(session, campaign_id=campaign_id)
    return campaign, [
        RoundStatus(r, round_progress(session, round_id=r.id)) for r in reversed(rounds)
    ]


def _video(info: RoundInfo, metas: dict[str, Observation], entry: str) -> BallotVideo:
    meta = metas.get(entry)
    username = info.creators.get(entry, "")
    description = meta.description if meta is not None else ""
    duration = meta.duration_s if meta is not None else None
    return BallotVideo(entry, username, description, duration, video_url(username, entry))
