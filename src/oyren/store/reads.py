"""The reads the pages make beside the standings: activity, a video's history, the latest notes.

Each function is one query (or one per chunk of ids) that returns plain values; the pages turn
them into what a person reads. Nothing here decides anything.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from oyren.store.models import (
    CampaignRow,
    CrawlMissRow,
    DecisionRow,
    ObservationRow,
    VideoRow,
)

__all__ = [
    "Activity",
    "StoredDecision",
    "activity",
    "campaign_ids",
    "decision_history",
    "exclusion_notes",
    "last_observation_at",
    "view_series",
]

CHUNK = 500  # ids per IN (...) list: well under every database's parameter limit


@dataclass(frozen=True, slots=True)
class Activity:
    """How much a campaign's collection has seen: for the organizer's dashboard."""

    observations: int
    observations_since: int
    last_observation: int | None
    crawl_misses: int


class StoredDecision(NamedTuple):
    """A person's decision about a video as stored (newest first in :func:`decision_history`)."""

    action: str
    reason: str
    actor: str
    at: int


def campaign_ids(session: Session, *, limit: int) -> list[str]:
    """The ids of the first ``limit`` stored campaigns, by id (one primary-key range read)."""
    return list(session.scalars(select(CampaignRow.id).order_by(CampaignRow.id).limit(limit)))


def activity(session: Session, campaign_id: str, *, since: int) -> Activity:
    """Count a campaign's observations (all, and those collected after ``since``) and misses."""
    in_campaign = select(VideoRow.id).where(VideoRow.campaign_id == campaign_id)
    count, last, recent = session.execute(
        select(
            func.count(),
            func.max(ObservationRow.collected_at),
            func.count().filter(ObservationRow.collected_at > since),
        ).where(ObservationRow.video_pk.in_(in_campaign))
    ).one()
    misses = session.scalar(
        select(func.count())
        .select_from(CrawlMissRow)
        .where(CrawlMissRow.campaign_id == campaign_id)
    )
    return Activity(
        observations=count or 0,
        observations_since=recent or 0,
        last_observation=last,
        crawl_misses=misses or 0,
    )


def last_observation_at(session: Session, campaign_id: str) -> int | None:
    """When the newest observation of a campaign was collected (Unix seconds), if any."""
    value: int | None = session.scalar(
        select(func.max(ObservationRow.collected_at))
        .join(VideoRow, VideoRow.id == ObservationRow.video_pk)
        .where(VideoRow.campaign_id == campaign_id)
    )
    return value


def view_series(session: Session, campaign_id: str, video_id: str) -> list[tuple[int, int]]:
    """One video's views over time: (collected_at, views), two counts at one moment as the max."""
    rows = session.execute(
        select(ObservationRow.collected_at, func.max(ObservationRow.view_count))
        .join(VideoRow, VideoRow.id == ObservationRow.video_pk)
        .where(VideoRow.campaign_id == campaign_id, VideoRow.video_id == video_id)
        .group_by(ObservationRow.collected_at)
        .order_by(ObservationRow.collected_at)
    ).all()
    return [(at, views) for at, views in rows]


def decision_history(session: Session, campaign_id: str, video_id: str) -> list[StoredDecision]:
    """Every decision about one video, newest first."""
    rows = session.execute(
        select(DecisionRow.action, DecisionRow.reason, DecisionRow.actor, DecisionRow.at)
        .where(DecisionRow.campaign_id == campaign_id, DecisionRow.video_id == video_id)
        .order_by(DecisionRow.at.desc(), DecisionRow.id.desc())
    ).all()
    return [StoredDecision(action, reason, actor, at) for action, reason, actor, at in rows]


def exclusion_notes(session: Session, campaign_id: str, video_ids: Sequence[str]) -> dict[str, str]:
    """The written reason of the latest exclusion of each video ("" when the latest is not one)."""
    out: dict[str, str] = {}
    for start in range(0, len(video_ids), CHUNK):
        query = (
            select(DecisionRow.video_id, DecisionRow.action, DecisionRow.reason)
            .where(
                DecisionRow.campaign_id == campaign_id,
                DecisionRow.video_id.in_(video_ids[start : start + CHUNK]),
            )
            .order_by(DecisionRow.at, DecisionRow.id)
        )
        for video_id, action, reason in session.execute(query):
            out[video_id] = reason if action == "exclude" else ""
    return out
