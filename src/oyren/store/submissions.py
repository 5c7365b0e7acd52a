"""Submissions: TikTok links that visitors gave us and no crawl has returned yet.

A creator checking a video the store has never seen can submit its link; the connector reads
:func:`open_submissions` to look those videos up at its next crawl or track, so an entry the
hashtag search missed (the API's well-known gaps) still gets its chance. A submission records
only the link and when it came, nothing about who sent it. The same link submitted twice is one
submission.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import BigInteger, ForeignKey, Integer, String, Text, UniqueConstraint, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from oyren.errors import StoreError
from oyren.inputs.links import Lookup
from oyren.store.audit import now
from oyren.store.models import Base, VideoRow

__all__ = [
    "Submission",
    "SubmissionRow",
    "find_submission",
    "open_submissions",
    "record_submission",
]

SUBMITTABLE = ("video", "short_link")


class SubmissionRow(Base):
    """A link a visitor submitted for the next crawl."""

    __tablename__ = "submissions"
    __table_args__ = (UniqueConstraint("campaign_id", "url"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[str] = mapped_column(ForeignKey("campaigns.id"))
    kind: Mapped[str] = mapped_column(String(16))  # "video" or "short_link"
    url: Mapped[str] = mapped_column(Text)
    video_id: Mapped[str | None] = mapped_column(String(64))
    username: Mapped[str | None] = mapped_column(Text)
    submitted_at: Mapped[int] = mapped_column(BigInteger)


@dataclass(frozen=True, slots=True)
class Submission:
    """A submitted link, as the connector and the self-check page see it."""

    id: int
    campaign_id: str
    kind: str
    url: str
    video_id: str | None
    username: str | None
    submitted_at: int


def _submission(row: SubmissionRow) -> Submission:
    return Submission(
        row.id, row.campaign_id, row.kind, row.url, row.video_id, row.username, row.submitted_at
    )


def _url(lookup: Lookup) -> str:
    if lookup.kind not in SUBMITTABLE or lookup.canonical_url is None:
        raise StoreError("only a link to one TikTok video can be submitted")
    # One video is one submission whichever username its link carried.
    if lookup.kind == "video":
        return f"https://www.tiktok.com/@/video/{lookup.video_id}"
    return lookup.canonical_url


def find_submission(session: Session, *, campaign_id: str, lookup: Lookup) -> Submission | None:
    """Return the submission of this link, if it was submitted before."""
    if lookup.kind not in SUBMITTABLE:
        return None
    row = session.scalar(
        select(SubmissionRow).where(
            SubmissionRow.campaign_id == campaign_id, SubmissionRow.url == _url(lookup)
        )
    )
    return None if row is None else _submission(row)


def record_submission(
    session: Session, *, campaign_id: str, lookup: Lookup, at: int | None = None
) -> Submission:
    """Record a link for the next crawl; submitting it again returns the first submission."""
    url = _url(lookup)
    existing = find_submission(session, campaign_id=campaign_id, lookup=lookup)
    if existing is not None:
        return existing
    row = SubmissionRow(
        campaign_id=campaign_id,
        kind=lookup.kind,
        url=url,
        video_id=lookup.video_id,
        username=lookup.username,
        submitted_at=now() if at is None else at,
    )
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        # The same link arrived from two visitors at once.
        found = find_submission(session, campaign_id=campaign_id, lookup=lookup)
        assert found is not None
        return found
    return _submission(row)


def open_submissions(session: Session, *, campaign_id: str) -> list[Submission]:
    """Submissions whose video the store has not seen yet, oldest first (for the connector)."""
    seen = select(VideoRow.video_id).where(VideoRow.campaign_id == campaign_id)
    query = (
        select(SubmissionRow)
        .where(SubmissionRow.campaign_id == campaign_id)
        .where((SubmissionRow.video_id.is_(None)) | (SubmissionRow.video_id.not_in(seen)))
        .order_by(SubmissionRow.id)
    )
    return [_submission(r) for r in session.scalars(query)]
