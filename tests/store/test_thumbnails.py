"""Thumbnails in the store: addresses with their expiry, checked images, what is due next."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from oyren.inputs.images import read_image
from oyren.sandbox.login import thumbnail_png
from oyren.store.thumbnails import (
    RETRY_S,
    get_thumbnail,
    note_thumbnail_url,
    save_thumbnail,
    thumbnail_failed,
    thumbnails_due,
)
from tests.store.conftest import CID

DAY = 86400


def due(session: Session, now: int, **kw: object) -> list[str]:
    found = thumbnails_due(
        session,
        campaign_id=CID,
        now=now,
        max_age_s=7 * DAY,
        limit=10,
        **kw,  # type: ignore[arg-type]
    )
    return [d.video_id for d in found]


def test_every_video_without_an_image_is_due_most_viewed_first(ingested: Session) -> None:
    found = thumbnails_due(ingested, campaign_id=CID, now=1000, max_age_s=DAY, limit=10)
    assert [(d.video_id, d.username, d.url) for d in found] == [
        ("1", "aysel_teaches", None),
        ("2", "nigar", None),
        ("3", "aysel_teaches", None),
    ]
    assert due(ingested, 1000, video_ids=["3"]) == ["3"]


def test_a_noted_address_comes_back_with_its_expiry(ingested: Session) -> None:
    note_thumbnail_url(ingested, campaign_id=CID, video_id="2", url="https://x.tiktokcdn.com/a",
                       source="display_api", expires_at=5000, at=1000)  # fmt: skip
    found = {d.video_id: d for d in thumbnails_due(
        ingested, campaign_id=CID, now=1000, max_age_s=DAY, limit=10)}  # fmt: skip
    assert (found["2"].url, found["2"].url_expires_at) == ("https://x.tiktokcdn.com/a", 5000)
    with pytest.raises(ValueError, match="unknown thumbnail source"):
        note_thumbnail_url(ingested, campaign_id=CID, video_id="2", url="u", source="web",
                           expires_at=1, at=1)  # fmt: skip


def test_a_saved_image_is_served_and_not_due_until_it_is_old(ingested: Session) -> None:
    image = read_image(thumbnail_png("1"))
    saved = save_thumbnail(ingested, campaign_id=CID, video_id="1", image=image, at=1000)
    got = get_thumbnail(ingested, campaign_id=CID, video_id="1")
    assert got == saved and got.content_type == "image/png" and got.image == image.data
    assert len(got.digest) == 64
    assert due(ingested, 1000 + 7 * DAY) == ["2", "3"]
    assert due(ingested, 1001 + 7 * DAY) == ["2", "3", "1"]  # old: fetched again, after the rest
    assert get_thumbnail(ingested, campaign_id=CID, video_id="2") is None
    assert get_thumbnail(ingested, campaign_id="other", video_id="1") is None


def test_failures_wait_longer_each_time_and_keep_the_old_image(ingested: Session) -> None:
    thumbnail_failed(ingested, campaign_id=CID, video_id="2", problem="answered 403", at=1000)
    assert due(ingested, 1000 + RETRY_S - 1) == ["1", "3"]
    assert due(ingested, 1000 + RETRY_S) == ["1", "2", "3"]
    thumbnail_failed(ingested, campaign_id=CID, video_id="2", problem="answered 403", at=5000)
    assert "2" not in due(ingested, 5000 + 2 * RETRY_S - 1)
    assert "2" in due(ingested, 5000 + 2 * RETRY_S)
    for at in range(10, 40):  # the wait stops growing at a day
        thumbnail_failed(ingested, campaign_id=CID, video_id="2", problem="x", at=at)
    assert "2" in due(ingested, 39 + DAY)

    image = read_image(thumbnail_png("3"))
    save_thumbnail(ingested, campaign_id=CID, video_id="3", image=image, at=100)
    thumbnail_failed(ingested, campaign_id=CID, video_id="3", problem="timeout", at=200 + 7 * DAY)
    assert get_thumbnail(ingested, campaign_id=CID, video_id="3").image == image.data
