"""Page data read from the store: change watermarks, activity, series, decision histories."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from oyren.store import ingest_observations, moderate
from oyren.store.reads import (
    CHUNK,
    StoredDecision,
    activity,
    campaign_ids,
    decision_history,
    exclusion_notes,
    last_observation_at,
    view_series,
)
from tests.store.conftest import CID


def test_activity_counts_observations_since_a_moment(
    ingested: Session, campaign, make_record, write_jsonl
) -> None:
    seen = campaign.cutoff_ts - 3600  # when the fixture's three observations were made
    assert activity(ingested, CID, since=0).observations == 3
    later = write_jsonl(
        [make_record(id=1, view_count=3100, collected_at=seen + 60)], name="l.jsonl"
    )
    ingest_observations(ingested, campaign_id=CID, path=later, by="crawler")
    now = activity(ingested, CID, since=seen)
    assert (now.observations, now.observations_since, now.last_observation) == (4, 1, seen + 60)
    assert now.crawl_misses == 0
    assert last_observation_at(ingested, CID) == seen + 60
    empty = activity(ingested, "no-such-campaign", since=0)
    assert (empty.observations, empty.last_observation) == (0, None)
    assert last_observation_at(ingested, "no-such-campaign") is None


def test_view_series_takes_the_larger_of_two_counts_at_one_moment(
    ingested: Session,
    campaign,
    make_record: Callable[..., dict[str, Any]],
    write_jsonl: Callable[..., Path],
) -> None:
    seen = campaign.cutoff_ts - 3600
    more = write_jsonl(
        [
            make_record(id=1, view_count=3500, collected_at=seen),  # same instant, higher
            make_record(id=1, view_count=4000, collected_at=seen + 600),
        ],
        name="more.jsonl",
    )
    ingest_observations(ingested, campaign_id=CID, path=more, by="crawler")
    assert view_series(ingested, CID, "1") == [(seen, 3500), (seen + 600, 4000)]
    assert view_series(ingested, CID, "404") == []


def test_decision_history_newest_first_and_exclusion_notes(ingested: Session) -> None:
    moderate(ingested, campaign_id=CID, video_id="1", action="exclude", reason="spam", by="m",
             at=100)  # fmt: skip
    moderate(ingested, campaign_id=CID, video_id="1", action="include", reason="", by="n", at=200)
    moderate(ingested, campaign_id=CID, video_id="2", action="exclude", reason="<b>re-upload</b>",
             by="m", at=150)  # fmt: skip
    assert decision_history(ingested, CID, "1") == [
        StoredDecision("include", "", "n", 200),
        StoredDecision("exclude", "spam", "m", 100),
    ]
    assert decision_history(ingested, CID, "3") == []
    assert exclusion_notes(ingested, CID, ["1", "2", "3"]) == {"1": "", "2": "<b>re-upload</b>"}


def test_exclusion_notes_reads_long_id_lists_in_chunks(ingested: Session) -> None:
    moderate(ingested, campaign_id=CID, video_id="3", action="exclude", reason="late", by="m")
    many = [str(n) for n in range(10_000, 10_000 + 2 * CHUNK)] + ["3"]
    assert exclusion_notes(ingested, CID, many) == {"3": "late"}
    assert exclusion_notes(ingested, CID, []) == {}


def test_campaign_ids_in_order_up_to_a_limit(ingested: Session, campaign) -> None:
    from dataclasses import replace

    from oyren.store import register_campaign

    register_campaign(ingested, campaign=replace(campaign, id="a-first"), by="o")
    assert campaign_ids(ingested, limit=5) == sorted(["a-first", CID])
    assert campaign_ids(ingested, limit=1) == ["a-first"]
