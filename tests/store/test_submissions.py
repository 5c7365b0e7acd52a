"""Submissions: links creators send for the next crawl."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from oyren.errors import StoreError
from oyren.inputs.links import parse_lookup
from oyren.store.db import transaction
from oyren.store.submissions import find_submission, open_submissions, record_submission
from tests.conftest import TOP_ID

UNSEEN = "https://www.tiktok.com/@new_creator/video/7399999999999999999"


def test_record_submission_once_per_video(sandbox_db: Engine) -> None:
    with transaction(sandbox_db) as session:
        first = record_submission(
            session, campaign_id="sandbox-2024", lookup=parse_lookup(UNSEEN), at=100
        )
        again = record_submission(
            session, campaign_id="sandbox-2024", lookup=parse_lookup("7399999999999999999"), at=200
        )
    assert (first, first.url, first.username) == (
        again,
        "https://www.tiktok.com/@/video/7399999999999999999",
        "new_creator",
    )


def test_open_submissions_leaves_out_videos_already_stored(sandbox_db: Engine) -> None:
    with transaction(sandbox_db) as session:
        for text in (UNSEEN, TOP_ID, "https://vm.tiktok.com/ZMabc123/"):
            record_submission(session, campaign_id="sandbox-2024", lookup=parse_lookup(text))
        found = open_submissions(session, campaign_id="sandbox-2024")
    assert [(s.kind, s.video_id) for s in found] == [
        ("video", "7399999999999999999"),
        ("short_link", None),
    ]


@pytest.mark.parametrize("text", ["@someone", "https://evil.example/x", ""])
def test_record_submission_refuses_what_is_not_one_video(sandbox_db: Engine, text: str) -> None:
    with transaction(sandbox_db) as session, pytest.raises(StoreError, match="one TikTok video"):
        record_submission(session, campaign_id="sandbox-2024", lookup=parse_lookup(text))


def test_find_submission_of_a_username_is_none(sandbox_db: Engine) -> None:
    with transaction(sandbox_db) as session:
        lookup = parse_lookup("@someone")
        assert find_submission(session, campaign_id="sandbox-2024", lookup=lookup) is None
