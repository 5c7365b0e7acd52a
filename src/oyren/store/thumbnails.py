"""Thumbnails: each video's image as Öyrən caches it, so pages show it from their own origin.

The platform gives an image's address (oEmbed's ``thumbnail_url``, the Display API's
``cover_image_url``) that works only for a while; :func:`note_thumbnail_url` keeps it with the
moment it stops working, :func:`save_thumbnail` the image fetched from it (checked by
:func:`oyren.inputs.images.read_image`), :func:`thumbnail_failed` why a try failed, and
:func:`thumbnails_due` says which videos need an image now: none yet, or one older than
``max_age_s`` — the most viewed first, passing over those whose last tries failed until a wait
that grows with each failure is over. The web app reads :func:`get_thumbnail`.

Thumbnails are a cache beside the contest's data: they decide nothing, are replaced in place and
are not written to the audit log.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from oyren.inputs.images import Image
from oyren.store.models import ObservationRow, ThumbnailRow, VideoRow

__all__ = [
    "RETRY_S",
    "SOURCES",
    "StoredThumbnail",
    "ThumbnailDue",
    "get_thumbnail",
    "note_thumbnail_url",
    "save_thumbnail",
    "thumbnail_failed",
    "thumbnails_due",
]

SOURCES = ("oembed", "display_api")
RETRY_S = 3600  # after a failure wait this long, times the failures so far (at most a day)
MAX_RETRY_S = 86400


@dataclass(frozen=True, slots=True)
class StoredThumbnail:
    """A cached image, ready to serve."""

    content_type: str
    image: bytes
    digest: str
    fetched_at: int


@dataclass(frozen=True, slots=True)
class ThumbnailDue:
    """A video that needs an image, with the address already known (if it still works)."""

    video_id: str
    username: str
    url: str | None
    url_expires_at: int | None
    fetched_at: int | None


def _row(session: Session, campaign_id: str, video_id: str, *, at: int) -> ThumbnailRow:
    row = session.get(ThumbnailRow, (campaign_id, video_id))
    if row is None:
        row = ThumbnailRow(
            campaign_id=campaign_id, video_id=video_id, source="oembed", checked_at=at, failures=0
        )
        session.add(row)
    return row


def note_thumbnail_url(
    session: Session,
    *,
    campaign_id: str,
    video_id: str,
    url: str,
    source: str,
    expires_at: int,
    at: int,
) -> None:
    """Keep the address the platform gave for a video's image, and when it stops working."""
    if source not in SOURCES:
        raise ValueError(f"unknown thumbnail source {source!r}")
    row = _row(session, campaign_id, video_id, at=at)
    row.url, row.url_expires_at, row.source = url[:2000], expires_at, source
    session.flush()


def save_thumbnail(
    session: Session, *, campaign_id: str, video_id: str, image: Image, at: int
) -> StoredThumbnail:
    """Store a checked image as the video's thumbnail (replacing an older one)."""
    row = _row(session, campaign_id, video_id, at=at)
    row.content_type = image.content_type
    row.image = image.data
    row.digest = hashlib.sha256(image.data).hexdigest()
    row.fetched_at = row.checked_at = at
    row.failures, row.problem = 0, None
    session.flush()
    return StoredThumbnail(image.content_type, image.data, row.digest, at)


def thumbnail_failed(
    session: Session, *, campaign_id: str, video_id: str, problem: str, at: int
) -> None:
    """Note a failed try (the image kept so far, if any, stays)."""
    row = _row(session, campaign_id, video_id, at=at)
    row.checked_at = at
    row.failures = (row.failures or 0) + 1
    row.problem = problem[:500]
    session.flush()


def get_thumbnail(session: Session, *, campaign_id: str, video_id: str) -> StoredThumbnail | None:
    """The cached image of a video, or None when there is none yet."""
    row = session.get(ThumbnailRow, (campaign_id, video_id))
    if row is None or row.image is None or row.content_type is None or row.digest is None:
        return None
    return StoredThumbnail(row.content_type, row.image, row.digest, row.fetched_at or 0)


def thumbnails_due(
    session: Session,
    *,
    campaign_id: str,
    now: int,
    max_age_s: int,
    limit: int,
    video_ids: list[str] | None = None,
) -> list[ThumbnailDue]:
    """Videos of the campaign that need an image at ``now``, most viewed first."""
    latest = (
        select(
            ObservationRow.video_pk.label("pk"),
            func.max(ObservationRow.id).label("last_id"),
            func.max(ObservationRow.view_count).label("views"),
        )
        .join(VideoRow, VideoRow.id == ObservationRow.video_pk)
        .where(VideoRow.campaign_id == campaign_id)  # this campaign's observations, not all
        .group_by(ObservationRow.video_pk)
        .subquery()
    )
    # After n failures wait RETRY_S × n, at most a day (SQLite's two-argument min is least()).
    smaller = func.min if session.get_bind().dialect.name == "sqlite" else func.least
    wait = smaller(ThumbnailRow.failures * RETRY_S, MAX_RETRY_S)
    query = (
        select(
            VideoRow.video_id,
            ObservationRow.username,
            ThumbnailRow.url,
            ThumbnailRow.url_expires_at,
            ThumbnailRow.fetched_at,
        )
        .join(latest, latest.c.pk == VideoRow.id)
        .join(ObservationRow, ObservationRow.id == latest.c.last_id)
        .outerjoin(
            ThumbnailRow,
            (ThumbnailRow.campaign_id == VideoRow.campaign_id)
            & (ThumbnailRow.video_id == VideoRow.video_id),
        )
        .where(VideoRow.campaign_id == campaign_id)
        .where(
            or_(
                ThumbnailRow.video_id.is_(None),
                (
                    or_(
                        ThumbnailRow.fetched_at.is_(None), ThumbnailRow.fetched_at < now - max_age_s
                    )
                    & (ThumbnailRow.checked_at + wait <= now)
                ),
            )
        )
        .order_by(ThumbnailRow.fetched_at.is_not(None), latest.c.views.desc(), VideoRow.video_id)
        .limit(limit)
    )
    if video_ids is not None:
        query = query.where(VideoRow.video_id.in_(video_ids))
    return [ThumbnailDue(*row) for row in session.execute(query)]
