"""The audit log in the store: read newest first, a page at a time."""

from __future__ import annotations

from sqlalchemy.orm import Session

from oyren.store import (
    audit_page,
    moderate,
)
from tests.store.conftest import CID


def test_audit_page_newest_first_in_pages(ingested: Session) -> None:
    for video_id in ("1", "2", "3"):
        moderate(ingested, campaign_id=CID, video_id=video_id, action="include", reason="", by="m")
    first = audit_page(ingested, campaign_id=CID, limit=2)
    second = audit_page(ingested, campaign_id=CID, limit=2, before=first.next_before)
    third = audit_page(ingested, campaign_id=CID, limit=2, before=second.next_before)
    assert [[e.details.get("video_id") for e in p.entries] for p in (first, second, third)] == [
        ["3", "2"],
        ["1", None],
        [None],
    ]
    assert [e.action for e in second.entries + third.entries] == [
        "moderation.include",
        "observations.ingest",
        "campaign.register",
    ]
    assert third.next_before is None
