"""Collection's queries: span checkpoints, new observations only, the quota ledger."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

from oyren.rules.observations import Observation
from oyren.store.crawling import (
    add_observations,
    last_observation_id,
    put_checkpoint,
    quota_spent,
    record_quota,
    stored_checkpoints,
)
from oyren.store.db import transaction
from oyren.store.rows import stored_observations
from tests.store.conftest import CID

SPAN = "20240220-20240321"


def checkpoint(**overrides: object) -> dict[str, object]:
    fields: dict[str, object] = {
        "span": SPAN,
        "cursor": 0,
        "search_id": None,
        "done": False,
        "started_at": 1713000000,
        "finished_at": None,
    }
    fields.update(overrides)
    return fields


def test_put_checkpoint_replaces_the_spans_checkpoint(session: Session) -> None:
    assert stored_checkpoints(session, CID) == []
    put_checkpoint(session, CID, checkpoint())
    put_checkpoint(session, CID, checkpoint(span="20240322-20240421", search_id="s\x01"))
    put_checkpoint(session, CID, checkpoint(cursor=300, search_id="7301", done=True))
    session.flush()
    stored = sorted(stored_checkpoints(session, CID), key=lambda c: str(c["span"]))
    assert stored == [
        checkpoint(cursor=300, search_id="7301", done=True),
        checkpoint(span="20240322-20240421", search_id="s\x01"),
    ]
    assert stored_checkpoints(session, "another-campaign") == []


def test_add_observations_stores_each_sighting_once(
    session: Session, make_obs: Callable[..., Observation]
) -> None:
    assert last_observation_id(session, CID) == 0
    page = [make_obs(id=1), make_obs(id=2), make_obs(id=1)]  # the API can repeat a video
    assert add_observations(session, CID, page) == (2, 2)
    first = last_observation_id(session, CID)
    assert first > 0
    again = [
        make_obs(id=1),
        make_obs(id=2, view_count=5000, collected_at=page[0].collected_at + 60),
    ]
    assert add_observations(session, CID, again) == (1, 0)
    assert last_observation_id(session, CID) > first
    assert add_observations(session, CID, []) == (0, 0)
    assert add_observations(session, CID, again) == (0, 0)
    stored = stored_observations(session, CID)
    assert sorted((o.video_id, o.view_count) for o in stored) == [
        ("1", 1000),
        ("2", 1000),
        ("2", 5000),
    ]


def test_add_observations_keeps_hostile_text(
    session: Session, make_obs: Callable[..., Observation]
) -> None:
    text = "'; DROP TABLE videos; -- <script>\u202e"
    add_observations(session, CID, [make_obs(id=9, video_description=text, username="x'y")])
    [obs] = stored_observations(session, CID)
    assert (obs.description, obs.username) == (text, "x'y")


def test_record_quota_adds_up_per_day(stored_db) -> None:
    with transaction(stored_db) as s:
        assert quota_spent(s, "2024-04-21") == (0, 0)
        record_quota(s, "2024-04-21", 1, 100)
    with transaction(stored_db) as s:
        record_quota(s, "2024-04-21", 2, 50)
        record_quota(s, "2024-04-22", 1, 0)
    with transaction(stored_db) as s:
        assert quota_spent(s, "2024-04-21") == (3, 150)
        assert quota_spent(s, "2024-04-22") == (1, 0)
