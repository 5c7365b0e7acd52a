"""Shared row helpers of the store: lookups that name what is missing, marks, awards, digests."""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from oyren.errors import CampaignError, StoreError
from oyren.rules.campaign import Campaign
from oyren.rules.observations import Observation
from oyren.rules.videos import collect_videos
from oyren.store import award, ingest_observations, moderate, remove_video, rows
from oyren.store.db import transaction
from oyren.store.ingest import ObservationWriter
from oyren.store.rows import (
    current_award,
    current_marks,
    file_digest,
    iso,
    live_results,
    parse_stored,
    require_campaign,
    require_video,
    stored_decisions,
    stored_observations,
    stored_removals,
    video_ids,
)
from tests.store.conftest import AFTER, CID


def test_require_campaign_names_the_stored_ones(session: Session) -> None:
    assert require_campaign(session, CID).id == CID
    hostile = "x'; DROP TABLE campaigns; --"
    with pytest.raises(StoreError, match=rf"no campaign 'x'; DROP.*\(stored: {CID}\).*oyren init"):
        require_campaign(session, hostile)
    assert require_campaign(session, CID).id == CID


def test_require_campaign_on_an_empty_database_says_none_is_stored(db: Engine) -> None:
    with pytest.raises(StoreError, match="none is stored yet"), transaction(db) as session:
        require_campaign(session, CID)


def test_video_ids_and_require_video(ingested: Session) -> None:
    assert video_ids(ingested, CID) == {"1", "2", "3"}
    assert video_ids(ingested, "other") == set()
    require_video(ingested, CID, "2")
    with pytest.raises(StoreError, match="has no video '404'"):
        require_video(ingested, CID, "404")
    with pytest.raises(StoreError, match="has no video '1'"):
        require_video(ingested, "other", "1")


def test_parse_stored_names_the_stored_rules_when_they_break(campaign: Campaign) -> None:
    assert parse_stored(campaign.source_text, CID) == campaign
    with pytest.raises(CampaignError, match=f"<campaign '{CID}' as stored>"):
        parse_stored("id = [not toml", CID)


def test_current_marks_move_with_each_input(ingested: Session) -> None:
    first = current_marks(ingested, CID)
    assert first.observation > 0 and (first.decision, first.removal) == (0, 0)
    moderate(ingested, campaign_id=CID, video_id="1", action="include", reason="", by="m")
    remove_video(ingested, campaign_id=CID, video_id="2", reason="deleted", by="m")
    second = current_marks(ingested, CID)
    assert second.observation == first.observation
    assert second.decision > 0 and second.removal and second.removal > 0
    assert current_marks(ingested, "other") == type(first)(0, 0, 0)


def test_stored_inputs_read_back_what_was_stored(ingested: Session) -> None:
    moderate(ingested, campaign_id=CID, video_id="1", action="exclude", reason="spam", by="m",
             at=100)  # fmt: skip
    remove_video(ingested, campaign_id=CID, video_id="2", reason="deleted", by="m", at=200)
    assert [(d.video_id, d.action, d.reason) for d in stored_decisions(ingested, CID)] == [
        ("1", "exclude", "spam")
    ]
    assert [(r.video_id, r.reason) for r in stored_removals(ingested, CID)] == [("2", "deleted")]
    assert sorted(o.video_id for o in stored_observations(ingested, CID)) == ["1", "2", "3"]
    assert [o.video_id for o in stored_observations(ingested, CID, video_ids=["3"])] == ["3"]
    assert live_results(ingested, stored_campaign(ingested)).winners.best_video is None


def test_stored_observations_are_the_same_read_a_row_at_a_time(
    ingested: Session,
    monkeypatch: pytest.MonkeyPatch,
    make_record: Callable[..., dict[str, Any]],
    write_jsonl: Callable[..., Path],
) -> None:
    # Rows fetched a batch at a time and hashtag lists remembered a few at a time give the same
    # observations as one batch; nothing is lost between batches.
    later = [
        make_record(id=1 + i % 3, view_count=4000 + i, collected_at=AFTER - 60 + i,
                    hashtag_names=[["elm"], ["TikTokdanÖyrən", "elm"], []][i % 3])
        for i in range(7)
    ]  # fmt: skip
    ingest_observations(ingested, campaign_id=CID, path=write_jsonl(later), by="organizer")
    whole = list(stored_observations(ingested, CID))
    assert len(whole) > 3 and len({o.hashtags for o in whole}) > 1
    monkeypatch.setattr(rows, "READ_ROWS", 1)
    monkeypatch.setattr(rows, "LISTS_KEPT", 0)
    assert list(stored_observations(ingested, CID)) == whole
    assert list(stored_observations(ingested, CID, video_ids=["1", "3"])) == [
        o for o in whole if o.video_id in ("1", "3")
    ]


def stored_campaign(session: Session) -> Campaign:
    return parse_stored(require_campaign(session, CID).source_text, CID)


def test_current_award_is_the_latest(ingested: Session) -> None:
    assert current_award(ingested, campaign_id=CID) is None
    award(ingested, campaign_id=CID, by="organizer", at=AFTER)
    award(ingested, campaign_id=CID, by="director", supersede=True, reason="again", at=AFTER + 1)
    latest = current_award(ingested, campaign_id=CID)
    assert latest is not None
    assert (latest.number, latest.by, latest.reason) == (2, "director", "again")


def test_iso_and_file_digest(tmp_path: Path) -> None:
    assert iso(1713729599) == "2024-04-21T19:59:59Z"
    assert iso(0) == "1970-01-01T00:00:00Z"
    path = tmp_path / "input.jsonl"
    path.write_bytes(b"\x00\xff line\n")
    assert file_digest(path) == hashlib.sha256(b"\x00\xff line\n").hexdigest()
    assert file_digest(str(path)) == file_digest(path)
    with pytest.raises(FileNotFoundError):
        file_digest(tmp_path / "missing")


@pytest.mark.parametrize("size", [1, 4, 10**9])
def test_stored_videos_are_the_rules_videos_at_once_and_a_part_at_a_time(
    stored_db: Engine, campaign: Campaign, size: int
) -> None:
    # Videos first seen in an order that is not their ids' (nor the order they were stored in
    # each batch), with their observations interleaved across batches.
    seen = [
        Observation(str(9 - n % 7), "ayla", campaign.window_start_ts, campaign.window_start_ts
                    + 3600 * (n // 7) + n % 3, 100 * n, "AZ", f"#elm {n % 2}", ("elm",), 45)
        for n in range(40)
    ]  # fmt: skip
    # Seen twice at the instant of its metadata, with other counts and words: the rules choose.
    seen += [replace(seen[34], view_count=v, description=f"#elm {v}") for v in (3300, 3500)]
    # Seen twice at an instant before its metadata's (neither can be its metadata).
    seen.append(replace(seen[6], view_count=7, description="#elm again"))
    # Video 2 only after the cutoff: twice at its first instant (its metadata), stored after a
    # later one. Video 1 twice after the cutoff, then before it and at it (its metadata).
    cut = campaign.cutoff_ts
    seen += [
        replace(seen[0], video_id="2", collected_at=at, view_count=v, description=f"#elm {v}")
        for at, v in ((cut + 10, 50), (cut + 5, 40), (cut + 5, 45), (cut + 20, 60))
    ]
    seen += [
        replace(seen[0], video_id="1", collected_at=at, view_count=v, description=f"#elm {v}")
        for at, v in ((cut + 50, 90), (cut + 50, 80), (cut - 100, 10), (cut, 20))
    ]
    with transaction(stored_db) as session:
        writer = ObservationWriter(session, CID)
        writer.insert(seen[:9])
        writer.insert(seen[9:])
    with transaction(stored_db, write=False) as session:
        parts = list(rows.stored_videos(session, CID, cutoff=campaign.cutoff_ts, rows=size))
        whole = collect_videos(stored_observations(session, CID), cutoff=campaign.cutoff_ts)
        # All at once, and of some videos (one row a video from the database): the same videos.
        assert rows.stored_video_map(session, CID, cutoff=campaign.cutoff_ts) == whole
        some = ["3", "5", "no such video"]
        assert rows.stored_video_map(
            session, CID, cutoff=campaign.cutoff_ts, video_ids=some
        ) == collect_videos(
            stored_observations(session, CID, video_ids=some), cutoff=campaign.cutoff_ts
        )
    assert [v for part in parts for v in part] == list(whole.values())
    assert [v.video_id for v in whole.values()] == ["9", "8", "7", "6", "5", "4", "3", "2", "1"]
    assert (whole["2"].meta.view_count, whole["2"].times) == (45, (cut + 5, cut + 10, cut + 20))
    assert (whole["1"].meta.collected_at, whole["1"].views) == (cut, (10, 20, 90))
    # Parts are whole videos, the next one started once a part holds ``size`` observations.
    stored = Counter(o.video_id for o in seen)
    for part in parts[:-1]:
        held = sum(stored[v.video_id] for v in part)
        assert held >= size and held - stored[part[-1].video_id] < size
    assert len(parts) == (9 if size <= 4 else 1)
