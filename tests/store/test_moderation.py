"""Moderation in the store: decisions one by one or from a file, and the queue awaiting a check."""

from __future__ import annotations

import itertools
import random
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import Engine, delete, update
from sqlalchemy.orm import Session

from oyren.errors import InputError, StoreError
from oyren.screening.themes import LOW_CONFIDENCE
from oyren.screening.triage import doubtful_topic
from oyren.store import (
    close_round,
    create_round,
    decided,
    entries_for_username,
    import_decisions,
    ingest_observations,
    invite_juror,
    moderate,
    moderation_queue,
    next_question,
    record_judgment,
    remove_video,
    waiting,
    waiting_in,
)
from oyren.store.accounts import create_user
from oyren.store.db import transaction
from oyren.store.models import DecidedFlagsRow, DecidedStateRow, DecidedVideoRow
from oyren.store.moderation import (
    QueueChoice,
    QueueItem,
    current_queue,
    page_of_queue,
    queue_page,
)
from oyren.store.rows import parse_stored, require_campaign
from tests.store.conftest import CID, actions, winner


def test_moderate_exclude_takes_the_video_out(ingested: Session) -> None:
    moderate(
        ingested,
        campaign_id=CID,
        video_id="1",
        action="exclude",
        reason="re-upload",
        by="moderator",
    )
    assert winner(ingested) == "2"
    assert actions(ingested)[-1] == "moderation.exclude"


def test_moderate_include_clears_soft_reason(ingested: Session) -> None:
    [entry] = entries_for_username(ingested, campaign_id=CID, username="@AYSEL_teaches")[1:]
    assert entry.reasons == ("region_unknown",)
    moderate(ingested, campaign_id=CID, video_id="3", action="include", reason="", by="m")
    assert [
        e.eligible
        for e in entries_for_username(ingested, campaign_id=CID, username="aysel_teaches")
    ] == [True, True]


@pytest.mark.parametrize(
    ("video_id", "action", "reason", "message"),
    [
        ("1", "exclude", "  ", "needs a reason"),
        ("1", "ban", "spam", "one of exclude, include"),
        ("404", "exclude", "spam", "no video '404'"),
    ],
)
def test_moderate_bad_decision_is_store_error(
    ingested: Session, video_id: str, action: str, reason: str, message: str
) -> None:
    with pytest.raises(StoreError, match=message):
        moderate(ingested, campaign_id=CID, video_id=video_id, action=action, reason=reason, by="m")


def test_import_decisions_unknown_video_stores_none(
    stored_db: Engine,
    write_jsonl: Callable[..., Path],
    snapshot: Callable[[Engine], Any],
    make_record: Callable[..., dict[str, Any]],
) -> None:
    with transaction(stored_db) as s:
        path = write_jsonl([make_record(id=1)])
        ingest_observations(s, campaign_id=CID, path=path, by="o")
    before = snapshot(stored_db)
    decisions = write_jsonl(
        [
            {"video_id": "1", "action": "exclude", "reason": "spam", "at": 1713000000},
            {"video_id": "9", "action": "exclude", "reason": "spam", "at": 1713000000},
        ],
        name="decisions.jsonl",
    )
    with pytest.raises(InputError, match="no video '9'"), transaction(stored_db) as s:
        import_decisions(s, campaign_id=CID, path=decisions, by="m")
    assert snapshot(stored_db) == before


def test_moderation_queue_lists_soft_reasons_until_decided(ingested: Session) -> None:
    assert [(i.entry.video_id, i.why) for i in moderation_queue(ingested, campaign_id=CID)] == [
        ("3", "soft_reasons")
    ]
    moderate(ingested, campaign_id=CID, video_id="3", action="exclude", reason="not AZ", by="m")
    assert moderation_queue(ingested, campaign_id=CID) == []


def _varied_campaign(session: Session, make_record: Callable[..., dict[str, Any]],
                     write_jsonl: Callable[..., Path]) -> None:  # fmt: skip
    """Thirty videos of every kind the queue and the dashboard tell apart: eligible, kept out by
    what a person can clear (region, duration, hashtag), by what no one can (too short),
    decided on, removed, flagged, with topics sure, doubtful and missing."""
    kinds: list[dict[str, Any]] = [
        {},
        {"region_code": None},
        {"video_duration": None},
        {"video_description": "Fotosintez nədir? #elm"},
        {"video_duration": 12},
        {"region_code": None, "video_duration": 12},
    ]
    records = [
        make_record(id=1000 + n, username=f"user{n % 7}", view_count=100 * n, **kinds[n % 6])
        for n in range(30)
    ]
    ingest_observations(session, campaign_id=CID, path=write_jsonl(records), by="organizer")
    for n, action in ((1, "include"), (2, "exclude"), (6, "exclude"), (7, "include")):
        moderate(session, campaign_id=CID, video_id=str(1000 + n), action=action,
                 reason="checked", by="m")  # fmt: skip
    remove_video(session, campaign_id=CID, video_id="1012", reason="deleted", by="m")
    status = decided.status(session, CID)
    topics = [(None, None), ("science", 0.9), ("science", LOW_CONFIDENCE / 2), (None, 0.8),
              ("history", LOW_CONFIDENCE)]  # fmt: skip
    for n in range(30):
        topic, confidence = topics[n % 5]
        session.execute(
            update(DecidedVideoRow)
            .where(DecidedVideoRow.campaign_id == CID,
                   DecidedVideoRow.generation == status.generation,
                   DecidedVideoRow.video_id == str(1000 + n))
            .values(topic=topic, topic_confidence=confidence)
        )  # fmt: skip
    flag = '[{"code": "view_spike", "score": 0.9, "explanation": "a jump", "ev": []}]'
    session.add_all(
        DecidedFlagsRow(campaign_id=CID, video_id=str(1000 + n), flags=flag)
        for n in (0, 3, 4, 6, 9, 17, 29)
    )
    session.flush()


def test_waiting_counts_the_queue_without_reading_it(
    session: Session, make_record: Callable[..., dict[str, Any]], write_jsonl: Callable[..., Path]
) -> None:
    _varied_campaign(session, make_record, write_jsonl)
    status = decided.status(session, CID)
    queue = moderation_queue(session, campaign_id=CID)
    assert {i.why for i in queue} == {"flagged", "soft_reasons", "topic"}
    assert waiting(session, campaign_id=CID) == len(queue)
    assert waiting_in(decided.tallies(session, status, CID)) == len(queue)
    # Rows of one kind are one tally: the count is a grouped query, not the rows.
    kinds = decided.tallies(session, status, CID)
    assert sum(t.videos for t in kinds) == 30
    assert len(kinds) < 30
    # Each kind the queue tells apart is one the tallies tell apart.
    entries = decided.results(session, status, parse_stored(
        require_campaign(session, CID).source_text, CID)).entries  # fmt: skip
    decided_ids = {"1001", "1002", "1006", "1007"}
    expected = Counter(
        (e.eligible, e.reasons, bool(e.flags), doubtful_topic(e.topic, e.topic_confidence),
         e.video_id in decided_ids)
        for e in entries
    )  # fmt: skip
    assert {(t.eligible, t.reasons, t.flagged, t.doubtful_topic, t.decided): t.videos
            for t in kinds} == dict(expected)  # fmt: skip


def test_waiting_before_the_rows_are_built_is_the_queue_of_the_live_results(
    session: Session, make_record: Callable[..., dict[str, Any]], write_jsonl: Callable[..., Path]
) -> None:
    path = write_jsonl([make_record(id=1), make_record(id=3, region_code=None)])
    ingest_observations(session, campaign_id=CID, path=path, by="organizer")
    session.execute(delete(DecidedStateRow).where(DecidedStateRow.campaign_id == CID))
    assert not decided.status(session, CID).ready
    assert waiting(session, campaign_id=CID) == len(moderation_queue(session, campaign_id=CID)) == 1


def test_the_queue_before_the_rows_are_built_is_paged_as_after(
    session: Session, make_record: Callable[..., dict[str, Any]], write_jsonl: Callable[..., Path]
) -> None:
    records = [
        make_record(id=n, username=f"creator{n % 4}", view_count=1000 * (n % 7),
                    create_time=1_709_300_000 + 3600 * (n % 5),
                    region_code=None if n % 3 else "AZ", video_duration=None if n % 4 else 45)
        for n in range(1, 30)
    ]  # fmt: skip
    ingest_observations(session, campaign_id=CID, path=write_jsonl(records), by="organizer")
    choices = [
        {"choice": QueueChoice(why=why, sort=sort), "offset": offset, "limit": limit}
        for why in ("", "soft_reasons", "topic", "flagged")
        for sort in ("priority", "views", "posted")
        for offset, limit in ((0, 50), (3, 4))
    ]
    built = [current_queue(session, campaign_id=CID, **chosen) for chosen in choices]
    assert built[0].total > 10 and dict(built[0].whys)["soft_reasons"] > 5
    session.execute(delete(DecidedStateRow).where(DecidedStateRow.campaign_id == CID))
    assert not decided.status(session, CID).ready
    before = [current_queue(session, campaign_id=CID, **chosen) for chosen in choices]
    assert before == built


# --- One page of the queue, as queries, against the queue built from the whole results --------

CODES = ("view_spike", "reupload", "lockstep")
NAMES = (
    "aysel",
    "Aysel",
    "nigar",
    "NIGAR",
    "kamal",
    "leyla",
    "orxan",
    "səbinə",
    "tural",
    "zaur",
    "elvin",
    "aynur",
    "rauf",
    "günel",
    "fuad",
    "lalə",
)


def _random_campaign(
    session: Session,
    make_record: Callable[..., dict[str, Any]],
    write_jsonl: Callable[..., Path],
    seed: int,
    *,
    jury: bool = False,
    first_id: int = 5000,
) -> None:
    """A campaign drawn from ``seed``: creators under several spellings, views that tie, videos
    of every kind the queue tells apart, decisions, removals, topics and flags, and with
    ``jury`` a closed jury round (the most-creative prize)."""
    rng = random.Random(seed)
    kinds: list[dict[str, Any]] = [
        {}, {}, {}, {"region_code": None}, {"video_duration": None}, {"video_duration": 12},
        {"video_description": "Fotosintez nədir? #elm"}, {"region_code": "TR"},
        {"region_code": None, "video_duration": None},
    ]  # fmt: skip
    start = make_record()["create_time"]
    records = [
        make_record(
            id=first_id + n,
            username=rng.choice(NAMES),
            view_count=rng.choice([rng.randint(0, 9000), 1000, 4000]),
            create_time=start - rng.choice([0, 0, 3600, 7200]),
            **rng.choice(kinds),
        )
        for n in range(rng.randint(25, 60))
    ]
    ingest_observations(session, campaign_id=CID, path=write_jsonl(records), by="organizer")
    ids = [str(r["id"]) for r in records]
    for video_id in rng.sample(ids, len(ids) // 8):
        action = rng.choice(["include", "exclude"])
        moderate(session, campaign_id=CID, video_id=video_id, action=action, reason="checked",
                 by="m")  # fmt: skip
    for video_id in rng.sample(ids, 2):
        remove_video(session, campaign_id=CID, video_id=video_id, reason="deleted", by="m")
    if jury:
        for name in ("ali", "bela"):
            create_user(session, username=name, password="juror-password-1", role="juror",
                        by="organizer")  # fmt: skip
        made = create_round(session, campaign_id=CID, name="Final", by="organizer", top=6)
        for name in ("ali", "bela"):
            invite_juror(session, round_id=made.id, juror=name, by="organizer")
        for _ in range(12):
            for name in ("ali", "bela"):
                question = next_question(session, round_id=made.id, juror=name)
                if question is not None:
                    record_judgment(session, round_id=made.id, juror=name, kind="ranking",
                                    entries=sorted(question.entries))  # fmt: skip
        close_round(session, round_id=made.id, by="organizer")
    status = decided.status(session, CID)
    topics = [(None, None), ("science", 0.9), ("science", LOW_CONFIDENCE / 2), (None, 0.8),
              ("history", LOW_CONFIDENCE), ("history", 0.3)]  # fmt: skip
    for video_id in ids:
        topic, confidence = rng.choice(topics)
        session.execute(
            update(DecidedVideoRow)
            .where(DecidedVideoRow.campaign_id == CID,
                   DecidedVideoRow.generation == status.generation,
                   DecidedVideoRow.video_id == video_id)
            .values(topic=topic, topic_confidence=confidence)
        )  # fmt: skip
    for video_id in rng.sample(ids, len(ids) * 2 // 5):
        found = [
            {"code": code, "score": round(rng.random(), 3), "explanation": code, "ev": []}
            for code in rng.sample(CODES, rng.randint(1, 2))
        ]
        session.add(DecidedFlagsRow(campaign_id=CID, video_id=video_id,
                                    flags=orjson.dumps(found).decode()))  # fmt: skip
    session.flush()


def _whole_queue(session: Session, **chosen: Any) -> tuple[list[QueueItem], list[QueueItem]]:
    """The queue built from the whole results, and the part ``chosen`` keeps, in its order."""
    campaign = parse_stored(require_campaign(session, CID).source_text, CID)
    results = decided.results(session, decided.status(session, CID), campaign)
    items = moderation_queue(session, campaign_id=CID, results=results)
    kept = [
        i
        for i in items
        if (not chosen["why"] or i.why == chosen["why"])
        and (not chosen["flag"] or any(f.code == chosen["flag"] for f in i.entry.flags))
        and (not chosen["theme"] or (i.entry.topic or "none") == chosen["theme"])
    ]
    if chosen["sort"] == "views":
        kept.sort(key=lambda i: -i.entry.views_at_cutoff)
    elif chosen["sort"] == "posted":
        kept.sort(key=lambda i: i.entry.create_time)
    return items, kept


def _check_pages(session: Session, rng: random.Random, combinations: int) -> set[str]:
    """Compare pages of the queue with the whole queue's; return the impacts the pages showed."""
    campaign = parse_stored(require_campaign(session, CID).source_text, CID)
    status = decided.status(session, CID)
    choices = list(itertools.product(
        ("", "soft_reasons", "flagged", "topic"), ("", *CODES), ("", "none", "science"),
        ("priority", "views", "posted"),
    ))  # fmt: skip
    seen = set()
    # The whole queue as it comes; a flag no video raised (and a why no video has) keep nothing.
    always = [("", "", "", "priority"), ("", "no_such_code", "", "views"), ("odd", "", "", "")]
    for why, flag, theme, sort in [*always, *rng.sample(choices, combinations)]:
        chosen = {"why": why, "flag": flag, "theme": theme, "sort": sort}
        items, kept = _whole_queue(session, **chosen)
        for offset, limit in ((0, 500), (rng.randint(0, 6), rng.randint(1, 7))):
            choice = QueueChoice(**chosen)
            page = queue_page(session, status, campaign, choice, offset=offset, limit=limit)
            assert list(page.items) == kept[offset : offset + limit], (chosen, offset, limit)
            # The whole queue paged in Python, and what `oyren queue` reads, are the same page.
            assert page_of_queue(items, choice, offset=offset, limit=limit) == page
            assert (
                current_queue(session, campaign_id=CID, choice=choice, offset=offset, limit=limit)
                == page
            )
            assert (page.total, page.matching) == (len(items), len(kept))
            assert page.whys == tuple(sorted(Counter(i.why for i in items).items()))
            assert page.flags == tuple(sorted(Counter(
                f.code for i in items for f in i.entry.flags).items()))  # fmt: skip
            assert page.themes == tuple(sorted(Counter(
                i.entry.topic or "none" for i in items).items()))  # fmt: skip
        seen |= {dict(i.facts).get("impact", i.why) for i in kept}
    return seen


@pytest.mark.parametrize("seed", range(6))
def test_queue_page_is_the_whole_queue_a_page_at_a_time(
    session: Session,
    make_record: Callable[..., dict[str, Any]],
    write_jsonl: Callable[..., Path],
    seed: int,
) -> None:
    _random_campaign(session, make_record, write_jsonl, seed)
    seen = _check_pages(session, random.Random(seed), combinations=12)
    assert "flagged" not in seen or seen & {"changes_winner", "changes_top", "eligible"}


def test_queue_page_weighs_every_kind_of_flagged_entry(
    session: Session, make_record: Callable[..., dict[str, Any]], write_jsonl: Callable[..., Path]
) -> None:
    """Over a few campaigns with a jury, every impact and every kind of review is met (so the
    comparisons above are not vacuous), and the pages agree with the whole queue on each."""
    seen: set[str] = set()
    for seed in range(3):
        session.execute(delete(DecidedFlagsRow))
        _random_campaign(session, make_record, write_jsonl, 100 + seed, jury=seed == 0,
                         first_id=6000 + 100 * seed)  # fmt: skip
        seen |= _check_pages(session, random.Random(seed), combinations=4)
    assert seen >= {"changes_winner", "changes_top", "eligible", "not_eligible",
                    "soft_reasons", "topic"}  # fmt: skip


@pytest.mark.parametrize(
    ("second_post", "x_name", "expected"),
    [
        # Without X, aysel's total ties kamal's; aysel's first post is now the later one: kamal.
        (0, "aysel", "@kamal"),
        # Aysel's other post is earlier than kamal's: aysel, named as on that post.
        (-5400, "Aysel", "@aysel"),
    ],
)
def test_queue_page_settles_without_a_creators_first_post(
    session: Session,
    make_record: Callable[..., dict[str, Any]],
    write_jsonl: Callable[..., Path],
    second_post: int,
    x_name: str,
    expected: str,
) -> None:
    """Excluding the best video, which is also its creator's first post: the creator's total
    and first post (and the name it was posted under) change, and so can the discover prize."""
    start = make_record()["create_time"]
    records = [
        make_record(id=1, username=x_name, view_count=5000, create_time=start - 7200),
        make_record(id=2, username="aysel", view_count=2000, create_time=start + second_post),
        make_record(id=3, username="nigar", view_count=4000, create_time=start - 3600),
        make_record(id=4, username="kamal", view_count=2000, create_time=start - 3600),
    ]
    ingest_observations(session, campaign_id=CID, path=write_jsonl(records), by="organizer")
    found = [{"code": "view_spike", "score": 0.9, "explanation": "a jump", "ev": []}]
    session.add(DecidedFlagsRow(campaign_id=CID, video_id="1", flags=orjson.dumps(found).decode()))
    session.flush()
    campaign = parse_stored(require_campaign(session, CID).source_text, CID)
    page = queue_page(session, decided.status(session, CID), campaign)
    _, whole = _whole_queue(session, why="", flag="", theme="", sort="priority")
    assert list(page.items) == whole
    [item] = [i for i in page.items if i.entry.video_id == "1"]
    assert dict(item.facts)["impact"] == "changes_winner"
    assert f"the discover prize would go to {expected}" in item.detail
