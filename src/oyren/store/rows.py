"""Stored rows read back as the core's objects, and the checks every store function shares."""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import String, case, cast, func, literal, select
from sqlalchemy.orm import Session

from oyren.batch.evaluate import decide
from oyren.batch.evaluate import jury_order as order_of_jury
from oyren.errors import NotFound
from oyren.inputs.judgments import Judgment, active
from oyren.inputs.removals import Removal, removed_ids
from oyren.jury import rounds as jury
from oyren.rules.awards import JuryPick
from oyren.rules.campaign import Campaign, parse_campaign
from oyren.rules.decisions import Decision, latest_decisions
from oyren.rules.observations import Observation
from oyren.rules.results import Results
from oyren.rules.videos import Video, meta_of, series_of
from oyren.store.db import plain_batches
from oyren.store.models import (
    AwardRow,
    CampaignRow,
    DecisionRow,
    JudgmentRow,
    JurorRow,
    JuryRoundRow,
    ObservationRow,
    RemovalRow,
    VideoRow,
)

__all__ = [
    "AwardRecord",
    "JuryCertainty",
    "Marks",
    "award_record",
    "current_award",
    "current_award_row",
    "current_marks",
    "file_digest",
    "iso",
    "jury_certainty",
    "jury_order",
    "jury_round_row",
    "live_results",
    "parse_stored",
    "require_campaign",
    "require_video",
    "stored_decisions",
    "stored_judgments",
    "stored_observations",
    "stored_removals",
    "stored_video_map",
    "stored_videos",
    "video_ids",
]


def require_campaign(session: Session, campaign_id: str) -> CampaignRow:
    """Return the stored campaign ``campaign_id`` or raise :class:`StoreError` listing others."""
    row = session.get(CampaignRow, campaign_id)
    if row is None:
        known = session.scalars(select(CampaignRow.id).order_by(CampaignRow.id)).all()
        have = f" (stored: {', '.join(known)})" if known else " (none is stored yet)"
        raise NotFound(
            f"no campaign '{campaign_id}' in the database{have}: "
            "register it with `oyren init --campaign FILE`"
        )
    return row


@functools.lru_cache(maxsize=64)
def parse_stored(source_text: str, campaign_id: str) -> Campaign:
    """Parse rules as stored in the database.

    Every page reads its campaign's rules; parsing them took a fifth of a leaderboard's data. The
    result depends only on the text (a :class:`Campaign` is frozen), so parsed rules are kept by
    their text: a change of rules is new text and is parsed anew, in every process alike.
    """
    return parse_campaign(source_text, path=f"<campaign '{campaign_id}' as stored>")


def video_ids(session: Session, campaign_id: str) -> set[str]:
    """Return the ids of every video stored for a campaign."""
    query = select(VideoRow.video_id).where(VideoRow.campaign_id == campaign_id)
    return set(session.scalars(query))


def require_video(session: Session, campaign_id: str, video_id: str) -> None:
    """Raise :class:`StoreError` unless the campaign has observations of ``video_id``."""
    query = select(VideoRow.id).where(
        VideoRow.campaign_id == campaign_id, VideoRow.video_id == video_id
    )
    if session.scalar(query) is None:
        raise NotFound(
            f"campaign '{campaign_id}' has no video '{video_id}': check the id, "
            "or ingest its observations first"
        )


@dataclass(frozen=True, slots=True)
class Marks:
    """The last row of each input table that counts: what an award was computed from."""

    observation: int
    decision: int
    removal: int | None  # None: awarded before removals were stored, so none count


def current_marks(session: Session, campaign_id: str) -> Marks:
    """Return the last stored row of each input table for a campaign."""
    observation = session.scalar(
        select(func.max(ObservationRow.id))
        .join(VideoRow, VideoRow.id == ObservationRow.video_pk)
        .where(VideoRow.campaign_id == campaign_id)
    )
    decision = session.scalar(
        select(func.max(DecisionRow.id)).where(DecisionRow.campaign_id == campaign_id)
    )
    removal = session.scalar(
        select(func.max(RemovalRow.id)).where(RemovalRow.campaign_id == campaign_id)
    )
    return Marks(observation or 0, decision or 0, removal or 0)


# Stored observations are read this many rows at a time, with at most about this many distinct
# hashtag lists remembered (each parsed once while remembered).
READ_ROWS = 10_000
LISTS_KEPT = 10_000


def _observation_columns() -> tuple[Any, ...]:
    """A stored observation's columns, in the order of :class:`Observation`'s fields."""
    o = ObservationRow
    return (VideoRow.video_id, o.username, o.create_time, o.collected_at, o.view_count,
            o.region_code, o.description, o.hashtags, o.duration_s, o.like_count,
            o.comment_count, o.share_count, o.music_id, o.voice_to_text)  # fmt: skip


# Where a row of _videos_query has the video's series, after the observation's columns.
_POINTS = len(_observation_columns())


def _observations_query() -> Any:
    o = ObservationRow
    return select(*_observation_columns()).join(VideoRow, VideoRow.id == o.video_pk)


def stored_observations(
    session: Session,
    campaign_id: str,
    upto: int | None = None,
    *,
    video_ids: Collection[str] | None = None,
) -> Iterator[Observation]:
    """Stream a campaign's observations (ids up to ``upto``; of ``video_ids`` only), as read."""
    o = ObservationRow
    query = _observations_query().where(VideoRow.campaign_id == campaign_id).order_by(o.id)
    if upto is not None:
        query = query.where(o.id <= upto)
    if video_ids is not None:
        query = query.where(VideoRow.video_id.in_(video_ids))
    # A whole campaign is streamed. Not a few videos: PostgreSQL plans a streamed query for its
    # first rows (walking every observation in id order), not for reading them all.
    return _observations(session, query, stream=video_ids is None)


def stored_video_map(
    session: Session,
    campaign_id: str,
    *,
    cutoff: int,
    video_ids: Collection[str] | None = None,
) -> dict[str, Video]:
    """A campaign's videos (of ``video_ids`` only) as :func:`collect_videos` groups
    :func:`stored_observations`, in order of first appearance (see :func:`_videos_query`)."""
    query = _videos_query(campaign_id, cutoff=cutoff, video_ids=video_ids)
    batches = plain_batches(session, query, READ_ROWS, stream=video_ids is None)
    return {video.video_id: video for video, _ in _videos(batches)}


def stored_videos(
    session: Session, campaign_id: str, *, cutoff: int, rows: int
) -> Iterator[list[Video]]:
    """A campaign's videos as the pure rules group its observations (:func:`collect_videos` of
    :func:`stored_observations`, videos in order of first appearance), a part at a time: each
    part whole videos, about ``rows`` observations (more when one video has more), so that
    memory is that of a part whatever the campaign's size."""
    query = _videos_query(campaign_id, cutoff=cutoff)
    part: list[Video] = []
    held = 0  # observations in the part
    for video, observations in _videos(plain_batches(session, query, READ_ROWS, stream=True)):
        if held >= rows:
            yield part
            part, held = [], 0
        part.append(video)
        held += observations
    if part:
        yield part


def _videos_query(
    campaign_id: str, *, cutoff: int, video_ids: Collection[str] | None = None
) -> Any:
    """One row per video and observation at its metadata instant (the last at or before
    ``cutoff``, else the first: where :func:`collect_videos` takes its metadata), in order of
    the videos' first observations: that observation in :func:`_observations_query`'s columns,
    then the video's whole series as one text (``instant:views`` pairs joined by commas, in no
    order) and its number of observations. A video is one row unless it was seen more than once
    at that instant; its other observations never become rows, nor their texts strings."""
    o = ObservationRow
    point = cast(o.collected_at, String) + literal(":") + cast(o.view_count, String)
    per_video = (
        select(
            o.video_pk,
            func.min(o.id).label("first_id"),
            func.count().label("observations"),
            func.coalesce(
                func.max(case((o.collected_at <= cutoff, o.collected_at))), func.min(o.collected_at)
            ).label("meta_at"),
            func.aggregate_strings(point, ",").label("points"),
        )
        .join(VideoRow, VideoRow.id == o.video_pk)
        .where(VideoRow.campaign_id == campaign_id)
        .group_by(o.video_pk)
    )
    if video_ids is not None:
        per_video = per_video.where(VideoRow.video_id.in_(video_ids))
    videos = per_video.subquery()
    query = (
        select(*_observation_columns(), videos.c.points, videos.c.observations)
        .join_from(o, videos, videos.c.video_pk == o.video_pk)
        .where(o.collected_at == videos.c.meta_at)
        .join(VideoRow, VideoRow.id == o.video_pk)
        .where(VideoRow.campaign_id == campaign_id)
    )
    if video_ids is not None:
        # Said again outside: a planner without statistics (rows written in this transaction)
        # then finds a few videos' rows by their index, as without the join.
        query = query.where(VideoRow.video_id.in_(video_ids))
    return query.order_by(videos.c.first_id, o.id)


def _videos(batches: Iterable[Sequence[Any]]) -> Iterator[tuple[Video, int]]:
    """The videos of :func:`_videos_query`'s rows, each with its number of observations."""
    lists: dict[str, tuple[str, ...]] = {}
    rows: list[Any] = []
    for batch in batches:
        if len(lists) > LISTS_KEPT:
            lists.clear()
        for row in batch:
            if rows and row[0] != rows[0][0]:
                yield _video(rows, lists)
                rows = []
            rows.append(row)
    if rows:
        yield _video(rows, lists)


def _video(rows: list[Any], lists: dict[str, tuple[str, ...]]) -> tuple[Video, int]:
    """A video from its rows of :func:`_videos_query` (one per observation at its metadata
    instant), with its number of observations."""
    first = rows[0]
    if len(rows) == 1:
        meta = _observation(first, lists)
    else:
        meta = meta_of(_observation(row, lists) for row in rows)
    numbers = list(map(int, first[_POINTS].replace(":", ",").split(",")))
    return Video(meta, *series_of(numbers[0::2], numbers[1::2])), first[_POINTS + 1]


def _observations(session: Session, query: Any, *, stream: bool) -> Iterator[Observation]:
    """The observations of a query of :func:`_observations_query`'s columns. Each distinct
    hashtag list (few, repeated) is parsed once, and forgotten past LISTS_KEPT of them, so that
    a streamed campaign's memory does not grow with them."""
    lists: dict[str, tuple[str, ...]] = {}
    for rows in plain_batches(session, query, READ_ROWS, stream=stream):
        if len(lists) > LISTS_KEPT:
            lists.clear()
        for row in rows:
            yield _observation(row, lists)


def _observation(row: Sequence[Any], lists: dict[str, tuple[str, ...]]) -> Observation:
    """The observation of a row starting with :func:`_observations_query`'s columns (each
    distinct hashtag list parsed once into ``lists``)."""
    (video_id, username, create_time, collected_at, view_count, region_code, description,
     hashtags, duration_s, likes, comments, shares, music_id,
     voice_to_text) = row[:_POINTS]  # fmt: skip
    tags = lists.get(hashtags)
    if tags is None:
        tags = lists[hashtags] = tuple(orjson.loads(hashtags))
    return Observation(video_id, username, create_time, collected_at, view_count, region_code,
                       description, tags, duration_s, likes, comments, shares, music_id,
                       voice_to_text)  # fmt: skip


def stored_decisions(
    session: Session,
    campaign_id: str,
    upto: int | None = None,
    *,
    video_ids: Collection[str] | None = None,
) -> list[Decision]:
    """Return a campaign's decisions (of ``video_ids`` only) in the order they were stored."""
    query = select(DecisionRow).where(DecisionRow.campaign_id == campaign_id)
    if upto is not None:
        query = query.where(DecisionRow.id <= upto)
    if video_ids is not None:
        query = query.where(DecisionRow.video_id.in_(video_ids))
    # Stored order matters: of two decisions made at the same moment the later one is in force.
    return [
        Decision(video_id=r.video_id, action=r.action, reason=r.reason, by=r.actor, at=r.at)
        for r in session.scalars(query.order_by(DecisionRow.id))
    ]


def stored_removals(
    session: Session,
    campaign_id: str,
    upto: int | None = None,
    *,
    video_ids: Collection[str] | None = None,
) -> list[Removal]:
    """Return a campaign's confirmed removals (of ``video_ids`` only) in the order stored."""
    query = select(RemovalRow).where(RemovalRow.campaign_id == campaign_id)
    if upto is not None:
        query = query.where(RemovalRow.id <= upto)
    if video_ids is not None:
        query = query.where(RemovalRow.video_id.in_(video_ids))
    return [
        Removal(video_id=r.video_id, reason=r.reason, at=r.at, by=r.actor)
        for r in session.scalars(query.order_by(RemovalRow.id))
    ]


def live_results(session: Session, campaign: Campaign) -> Results:
    """Evaluate everything stored for ``campaign`` now, with the engine ``oyren run`` uses."""
    return decide(
        campaign,
        stored_video_map(session, campaign.id, cutoff=campaign.cutoff_ts),
        decisions=stored_decisions(session, campaign.id),
        removals=stored_removals(session, campaign.id),
        judgments=round_judgments_of(session, campaign.id),
    )


def jury_round_row(session: Session, campaign_id: str) -> JuryRoundRow | None:
    """The round the most creative prize comes from: the latest closed, else the latest open."""
    query = select(JuryRoundRow).where(
        JuryRoundRow.campaign_id == campaign_id, JuryRoundRow.mode == "compare"
    )
    rounds = list(session.scalars(query.order_by(JuryRoundRow.id)))
    closed = [r for r in rounds if r.status == "closed"]
    chosen = closed or rounds
    return chosen[-1] if chosen else None


def stored_judgments(
    session: Session, round_id: int, *, upto: int | None = None, as_of: int | None = None
) -> list[Judgment]:
    """A round's judgments in order; ``upto`` the last id, ``as_of`` the time undos count to.

    A judgment undone (or whose juror's votes were removed) by ``as_of`` comes back undone.
    """
    removed = {
        username: at
        for username, at in session.execute(
            select(JurorRow.username, JurorRow.removed_at).where(
                JurorRow.round_id == round_id, JurorRow.removed_at.is_not(None)
            )
        )
    }

    def gone(at: int | None) -> bool:
        return at is not None and (as_of is None or at <= as_of)

    query = select(JudgmentRow).where(JudgmentRow.round_id == round_id)
    if upto is not None:
        query = query.where(JudgmentRow.id <= upto)
    return [
        Judgment(
            r.juror,
            r.kind,  # type: ignore[arg-type]
            tuple(orjson.loads(r.entries)),
            r.at,
            gone(r.undone_at) or gone(removed.get(r.juror)),
            r.note,
        )
        for r in session.scalars(query.order_by(JudgmentRow.id))
    ]


def jury_order(
    session: Session, campaign_id: str, *, judgments: list[Judgment] | None = None
) -> list[JuryPick]:
    """The jury's order for the most creative prize, fitted as ``oyren run --judgments`` does:
    over the judged entries that can win (the latest round's judgments unless given)."""
    if judgments is None:
        judgments = round_judgments_of(session, campaign_id)
    counted = active(judgments)
    if not counted:
        return []
    campaign = parse_stored(require_campaign(session, campaign_id).source_text, campaign_id)
    videos = stored_video_map(session, campaign_id, cutoff=campaign.cutoff_ts)
    return order_of_jury(
        campaign,
        videos,
        judgments,
        decisions=latest_decisions(stored_decisions(session, campaign_id)),
        removed=removed_ids(stored_removals(session, campaign_id)),
    )


def round_judgments_of(session: Session, campaign_id: str) -> list[Judgment]:
    """The judgments of the round the most creative prize comes from (none without a round)."""
    row = jury_round_row(session, campaign_id)
    return [] if row is None else stored_judgments(session, row.id)


@dataclass(frozen=True, slots=True)
class JuryCertainty:
    """How sure the jury was of the most creative prize, for the award and the winners page."""

    round_id: int
    threshold: float
    progress: jury.Progress

    @property
    def below(self) -> bool:
        """The leader had not reached the round's threshold and no tie-break decided it."""
        return not self.progress.met(self.threshold) and self.progress.tiebreak is None

    def summary(self) -> dict[str, Any]:
        """The figures the audit bundle records."""
        p = self.progress
        return {
            "round": self.round_id,
            "threshold": self.threshold,
            "leader": p.leader,
            "leader_p_best": round(p.leader_p_best, 4),
            "runner_up": p.runner_up,
            "runner_up_p_best": round(p.runner_up_p_best, 4),
            "jurors": p.jurors,
            "answers": p.answers,
            "jurors_on_top": p.jurors_on_top,
            "stop_rule_met": p.met(self.threshold),
            "below_threshold": self.below,
            "tiebreak": None
            if p.tiebreak is None
            else {"first": p.tiebreak[0], "second": p.tiebreak[1], "reason": p.tiebreak[2],
                  "by": p.tiebreak[3]},
        }  # fmt: skip


def jury_certainty(
    session: Session, *, campaign_id: str, award: bool = False
) -> JuryCertainty | None:
    """The jury's certainty now (``award``: as of the award in force); None without a jury."""
    if award:
        record = current_award_row(session, campaign_id)
        if record is None or record.jury_round_id is None:
            return None
        row = session.get(JuryRoundRow, record.jury_round_id)
        if row is None:
            return None
        judgments = stored_judgments(
            session, row.id, upto=record.last_judgment_id or 0, as_of=record.awarded_at
        )
    else:
        found = jury_round_row(session, campaign_id)
        if found is None:
            return None
        row = found
        judgments = stored_judgments(session, row.id)
    if not active(judgments):
        return None
    status = jury.progress(
        shortlist=list(orjson.loads(row.shortlist)), judgments=judgments, threshold=row.threshold,
        size=row.size,
    )  # fmt: skip
    return JuryCertainty(row.id, row.threshold, status)


@dataclass(frozen=True, slots=True)
class AwardRecord:
    """A stored award: who froze which results, when, and on which rules."""

    campaign_id: str
    number: int
    awarded_at: int
    by: str
    reason: str | None
    rules_digest: str
    results_digest: str
    bundle_digest: str | None = None  # the audit bundle's digest, as fixed when awarded
    signed_by: str | None = None  # the id of the key that signed the bundle
    public_key: str | None = None  # that key, as published


def award_record(row: AwardRow) -> AwardRecord:
    """Return an award row as an :class:`AwardRecord`."""
    return AwardRecord(
        row.campaign_id,
        row.number,
        row.awarded_at,
        row.actor,
        row.reason,
        row.rules_digest,
        row.results_digest,
        row.bundle_digest,
        *_signer(row.signature),
    )


def _signer(signature: str | None) -> tuple[str | None, str | None]:
    if signature is None:
        return None, None
    data = orjson.loads(signature)
    return str(data["key_id"]), str(data["public_key"])


def current_award_row(session: Session, campaign_id: str) -> AwardRow | None:
    """Return the award in force (the latest), if any."""
    query = select(AwardRow).where(AwardRow.campaign_id == campaign_id)
    return session.scalars(query.order_by(AwardRow.number.desc()).limit(1)).first()


def current_award(session: Session, *, campaign_id: str) -> AwardRecord | None:
    """Return the award in force for a campaign, if prizes have been awarded."""
    row = current_award_row(session, campaign_id)
    return None if row is None else award_record(row)


def iso(ts: int) -> str:
    """Unix seconds as ISO 8601 in UTC, for messages and the audit log."""
    return datetime.fromtimestamp(ts, tz=UTC).isoformat().replace("+00:00", "Z")


def file_digest(path: str | Path) -> str:
    """The SHA-256 of a file, to name the exact input in the audit log."""
    with Path(path).open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()
