"""Removals in the store: confirmed by a person, from a file, or by crawls that stop finding a
video. A removed video cannot win (see :mod:`oyren.inputs.removals`)."""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from oyren.errors import InputError, StoreError
from oyren.inputs.removals import Removal, read_removals
from oyren.store import decided
from oyren.store.audit import now, record_event
from oyren.store.models import CrawlMissRow, ObservationRow, RemovalRow, VideoRow
from oyren.store.rows import file_digest, iso, require_campaign, require_video, video_ids

__all__ = ["REMOVAL_MISSES", "confirm_removals", "import_removals", "remove_video"]

REMOVAL_MISSES = 3  # crawls in a row that must miss a video before its removal is confirmed


def _removed(session: Session, campaign_id: str) -> dict[str, RemovalRow]:
    query = select(RemovalRow).where(RemovalRow.campaign_id == campaign_id)
    return {r.video_id: r for r in session.scalars(query)}


def _add(session: Session, campaign_id: str, removal: Removal, source: str) -> None:
    decided.touch(session, campaign_id, [removal.video_id])
    session.add(
        RemovalRow(
            campaign_id=campaign_id,
            video_id=removal.video_id,
            reason=removal.reason,
            actor=removal.by,
            at=removal.at,
            source=source,
        )
    )


def remove_video(
    session: Session,
    *,
    campaign_id: str,
    video_id: str,
    reason: str,
    by: str,
    at: int | None = None,
    source: str = "moderator",
) -> Removal:
    """Record that a video is confirmed gone (deleted or private): it can no longer win."""
    require_campaign(session, campaign_id)
    reason = reason.replace("\x00", "").strip()
    if not reason:
        raise StoreError("a removal needs a reason, e.g. 'deleted by the creator' (--reason TEXT)")
    require_video(session, campaign_id, video_id)
    existing = session.scalar(
        select(RemovalRow).where(
            RemovalRow.campaign_id == campaign_id, RemovalRow.video_id == video_id
        )
    )
    if existing is not None:
        raise StoreError(
            f"video '{video_id}' is already recorded as removed on "
            f"{iso(existing.at)}: {existing.reason}"
        )
    removal = Removal(video_id, reason, now() if at is None else at, by)
    _add(session, campaign_id, removal, source)
    record_event(
        session,
        campaign_id=campaign_id,
        action="removal",
        by=by,
        at=removal.at,
        details={"video_id": video_id, "reason": reason, "source": source},
    )
    return removal


def import_removals(session: Session, *, campaign_id: str, path: str | Path, by: str) -> int:
    """Store the removals in a JSONL file, passing over videos already removed; return how many."""
    require_campaign(session, campaign_id)
    removals = read_removals(path)
    known = video_ids(session, campaign_id)
    done = set(_removed(session, campaign_id))
    added = 0
    for r in removals:
        if r.video_id not in known:
            raise InputError(
                f"campaign '{campaign_id}' has no video '{r.video_id}'",
                path=str(path),
                field="video_id",
            )
        if r.video_id not in done:
            done.add(r.video_id)
            _add(session, campaign_id, r, "file")
            added += 1
    details = {
        "file": Path(path).name,
        "sha256": file_digest(path),
        "removals": added,
        "already_removed": len(removals) - added,
    }
    record_event(session, campaign_id=campaign_id, action="removal.import", by=by, details=details)
    return added


def confirm_removals(
    session: Session,
    *,
    campaign_id: str,
    missing_video_ids: Collection[str],
    crawled_at: int,
    needed: int = REMOVAL_MISSES,
    by: str = "crawler",
) -> list[Removal]:
    """Note the videos a crawl did not return; confirm removal of those missed ``needed`` times.

    Call it once per crawl, with that crawl's time. A miss counts only after the video's last
    observation, so the misses counted are the crawls in a row since it was last seen. Ids the
    campaign does not have are ignored. Returns the removals it confirmed.
    """
    require_campaign(session, campaign_id)
    if needed < 1:
        raise StoreError("needed must be at least 1")
    last_seen_query = (
        select(VideoRow.video_id, func.max(ObservationRow.collected_at))
        .join(ObservationRow, ObservationRow.video_pk == VideoRow.id)
        .where(VideoRow.campaign_id == campaign_id, VideoRow.video_id.in_(set(missing_video_ids)))
        .group_by(VideoRow.video_id)
    )
    last_seen: dict[str, int] = {v: t for v, t in session.execute(last_seen_query)}
    misses: dict[str, set[int]] = {video_id: set() for video_id in last_seen}
    misses_query = select(CrawlMissRow.video_id, CrawlMissRow.at).where(
        CrawlMissRow.campaign_id == campaign_id, CrawlMissRow.video_id.in_(last_seen)
    )
    for video_id, at in session.execute(misses_query):
        misses[video_id].add(at)
    removed = _removed(session, campaign_id)
    confirmed = []
    for video_id in sorted(last_seen):
        if crawled_at not in misses[video_id]:
            session.add(CrawlMissRow(campaign_id=campaign_id, video_id=video_id, at=crawled_at))
            misses[video_id].add(crawled_at)
        since = last_seen[video_id]
        count = sum(1 for at in misses[video_id] if at > since)
        if count >= needed and video_id not in removed:
            reason = f"missing from {count} crawls in a row since it was last seen on {iso(since)}"
            confirmed.append(
                remove_video(
                    session,
                    campaign_id=campaign_id,
                    video_id=video_id,
                    reason=reason,
                    by=by,
                    at=crawled_at,
                    source="crawl",
                )
            )
    return confirmed
