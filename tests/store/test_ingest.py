"""Importing observation files: counts, duplicates, all-or-nothing, hostile input."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, MetaData, Table, event, func, select, text

from oyren.batch.evaluate import evaluate_observations
from oyren.errors import InputError, StoreError
from oyren.inputs.observations import SkipReport, read_observations
from oyren.rules.campaign import Campaign
from oyren.rules.results import results_json
from oyren.store import ingest_observations, standings
from oyren.store.audit import record_event
from oyren.store.db import analyze_after_commit, transaction
from oyren.store.models import AuditRow


def ingest(engine: Engine, path: Path, **kw: Any) -> Any:
    with transaction(engine) as session:
        return ingest_observations(
            session, campaign_id="tiktokdan-oyren-2024", path=path, by="tester", **kw
        )


def stored_json(engine: Engine) -> bytes:
    with transaction(engine) as session:
        return results_json(standings(session, campaign_id="tiktokdan-oyren-2024").results)


def run_json(campaign: Campaign, path: Path) -> bytes:
    return results_json(evaluate_observations(campaign, read_observations(path)))


def test_ingest_counts_new_videos_observations_and_duplicates(
    stored_db: Engine, make_record: Callable[..., dict[str, Any]], write_jsonl: Callable[..., Path]
) -> None:
    first = make_record(id=1, view_count=10)
    path = write_jsonl(
        [
            first,
            first,  # an exact duplicate counts once
            make_record(id=1, view_count=12),  # same instant, another count: both kept
            make_record(id=2, collected_at=first["collected_at"] + 60),
        ]
    )
    summary = ingest(stored_db, path)
    assert (
        summary.read,
        summary.new_videos,
        summary.new_observations,
        summary.duplicates,
        summary.skipped,
    ) == (4, 2, 3, 1, 0)


def test_ingest_same_file_twice_adds_nothing(
    stored_db: Engine, make_record: Callable[..., dict[str, Any]], write_jsonl: Callable[..., Path]
) -> None:
    path = write_jsonl([make_record(id=1), make_record(id=2)])
    ingest(stored_db, path)
    again = ingest(stored_db, path)
    assert (again.new_videos, again.new_observations, again.duplicates) == (0, 0, 2)


def test_ingest_standings_equal_run_on_the_file(
    stored_db: Engine,
    campaign: Campaign,
    make_record: Callable[..., dict[str, Any]],
    write_jsonl: Callable[..., Path],
) -> None:
    cutoff = campaign.cutoff_ts
    path = write_jsonl(
        [
            make_record(id=1, view_count=100, collected_at=cutoff - 3600),
            make_record(id=1, view_count=300, collected_at=cutoff + 3600),
            make_record(id=2, username="Nigar", view_count=500, video_duration=12),
            make_record(id=3, username="nigar", view_count=50, region_code=None),
        ]
    )
    ingest(stored_db, path)
    assert stored_json(stored_db) == run_json(campaign, path)


def test_ingest_csv_file(
    stored_db: Engine, campaign: Campaign, tmp_path: Path, make_record: Callable[..., Any]
) -> None:
    r = make_record()
    path = tmp_path / "observations.csv"
    path.write_text(
        "id,username,create_time,region_code,video_description,video_duration,view_count,"
        "collected_at\n"
        f'{r["id"]},{r["username"]},{r["create_time"]},AZ,"Elm, #TikTokdanÖyrən",45,7,'
        f"{r['collected_at']}\n",
        encoding="utf-8",
    )
    summary = ingest(stored_db, path)
    assert (summary.new_videos, summary.new_observations) == (1, 1)
    assert stored_json(stored_db) == run_json(campaign, path)


def test_ingest_hostile_text_kept_exactly(
    stored_db: Engine,
    campaign: Campaign,
    make_record: Callable[..., dict[str, Any]],
    write_jsonl: Callable[..., Path],
) -> None:
    path = write_jsonl(
        [
            make_record(
                id=1,
                username="nul\x00'; DROP TABLE x; --",  # NUL dropped, as the API sends them
                video_description="🎓 ə İ " + "x" * 3_900 + " #TikTokdanOyren",  # within 4,000
                voice_to_text="",
                music_id=" 77 ",
            ),
            make_record(
                id="0002",
                username="=HYPERLINK(1)",
                hashtag_names=["# #TikTokdanÖyrən", " "],
                region_code="az",
            ),
        ]
    )
    ingest(stored_db, path)
    assert stored_json(stored_db) == run_json(campaign, path)


def test_ingest_bad_line_names_file_and_line_and_stores_nothing(
    stored_db: Engine,
    make_record: Callable[..., dict[str, Any]],
    write_jsonl: Callable[..., Path],
    snapshot: Callable[[Engine], Any],
) -> None:
    before = snapshot(stored_db)
    good = [make_record(id=i) for i in range(1, 30)]
    path = write_jsonl([*good, make_record(id=99, view_count=-5), make_record(id=100)])
    with pytest.raises(InputError) as info:
        ingest(stored_db, path, chunk_size=7)  # some chunks were already inserted
    assert (info.value.path, info.value.line, info.value.field) == (str(path), 30, "view_count")
    assert snapshot(stored_db) == before


def test_ingest_database_failure_part_way_stores_nothing(
    stored_db: Engine,
    make_record: Callable[..., dict[str, Any]],
    write_jsonl: Callable[..., Path],
    snapshot: Callable[[Engine], Any],
) -> None:
    ingest(stored_db, write_jsonl([make_record(id=1)], name="first.jsonl"))
    before = snapshot(stored_db)
    inserts = []

    def fail_on_third_insert(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.startswith("INSERT INTO observations"):
            inserts.append(statement)
            if len(inserts) == 3:
                raise RuntimeError("disk full")

    event.listen(stored_db, "before_cursor_execute", fail_on_third_insert)
    path = write_jsonl([make_record(id=i) for i in range(2, 40)], name="second.jsonl")
    with pytest.raises(RuntimeError, match="disk full"):
        ingest(stored_db, path, chunk_size=5)
    event.remove(stored_db, "before_cursor_execute", fail_on_third_insert)
    assert len(inserts) == 3
    assert snapshot(stored_db) == before


def test_ingest_skip_invalid_reports_lines_and_keeps_the_rest(
    stored_db: Engine, make_record: Callable[..., dict[str, Any]], write_jsonl: Callable[..., Path]
) -> None:
    path = write_jsonl([make_record(id=1), "{not json", "[1]", make_record(id=2, username="")])
    skip = SkipReport()
    summary = ingest(stored_db, path, skip=skip)
    assert (summary.new_observations, summary.skipped) == (1, 3)
    assert [(e.line, e.field) for e in summary.skip_errors] == [
        (2, None),
        (3, None),
        (4, "username"),
    ]


def test_ingest_reports_progress_to_the_end(
    stored_db: Engine, make_record: Callable[..., dict[str, Any]], write_jsonl: Callable[..., Path]
) -> None:
    seen: list[tuple[int, int]] = []
    path = write_jsonl([make_record(id=i) for i in range(1, 12)])
    ingest(stored_db, path, chunk_size=4, progress=lambda done, total: seen.append((done, total)))
    assert seen == [(4, 11), (8, 11), (11, 11)]


def test_ingest_unknown_campaign_is_store_error(
    db: Engine, write_jsonl: Callable[..., Path]
) -> None:
    with pytest.raises(StoreError, match="no campaign 'nope'"), transaction(db) as session:
        ingest_observations(session, campaign_id="nope", path=write_jsonl([]), by="tester")


def test_ingest_missing_file_is_input_error(stored_db: Engine, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot open"):
        ingest(stored_db, tmp_path / "absent.jsonl")


def test_ingest_two_files_in_one_transaction(
    stored_db: Engine, make_record: Callable[..., dict[str, Any]], write_jsonl: Callable[..., Path]
) -> None:
    first = write_jsonl([make_record(id=1)], name="first.jsonl")
    second = write_jsonl([make_record(id=1), make_record(id=2)], name="second.jsonl")
    with transaction(stored_db) as session:
        for path in (first, second):
            last = ingest_observations(
                session, campaign_id="tiktokdan-oyren-2024", path=path, by="tester"
            )
    assert (last.new_videos, last.new_observations, last.duplicates) == (1, 1, 1)


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"region_code": None, "duration_s": None, "like_count": None, "comment_count": None,
         "share_count": None, "hashtags": ()},
        {"region_code": "", "description": "", "music_id": "7", "voice_to_text": "salam"},
        {"description": 'a "quoted" \\ ə line\n', "hashtags": ("elm", "öyrən"), "like_count": 0},
    ],
)  # fmt: skip
def test_content_hash_is_the_digest_of_the_record(fields: dict[str, Any]) -> None:
    # Stored hashes name duplicates across versions: the fast build must give the same digest.
    import hashlib
    from dataclasses import replace

    import orjson

    from oyren.rules.observations import Observation, observation_to_record
    from oyren.store.ingest import content_hash

    base = Observation("7330000000000000001", "aysel", 1714000000, 1714003600, 55, "AZ",
                       "Fotosintez #elm", ("elm",), 60, 3, 2, 1)  # fmt: skip
    obs = replace(base, **fields)
    record = orjson.dumps(observation_to_record(obs))
    assert content_hash(obs) == hashlib.blake2b(record, digest_size=16).hexdigest()


def test_an_import_sets_its_bulk_load_settings_back(
    stored_db: Engine, make_record: Callable[..., dict[str, Any]], write_jsonl: Callable[..., Path]
) -> None:
    # The collector runs less often and SQLite's cache is bigger during an import, not after it,
    # whether the import succeeded or failed.
    import gc

    def cache_size() -> Any:
        with stored_db.connect() as connection:
            if connection.dialect.name != "sqlite":
                return None
            return connection.exec_driver_sql("PRAGMA cache_size").scalar()

    threshold, cache = gc.get_threshold(), cache_size()
    seen: list[tuple[int, ...]] = []
    good = write_jsonl([make_record(id=1), make_record(id=2)])
    ingest(stored_db, good, chunk_size=1, progress=lambda d, t: seen.append(gc.get_threshold()))
    assert seen and seen[0][0] > threshold[0]
    assert (gc.get_threshold(), cache_size()) == (threshold, cache)
    with pytest.raises(InputError):
        ingest(stored_db, write_jsonl([make_record(id=3), "{not json"]))
    assert (gc.get_threshold(), cache_size()) == (threshold, cache)


def test_ingest_finds_stored_videos_among_new_ones_past_one_look_up(
    stored_db: Engine,
    campaign: Campaign,
    make_record: Callable[..., dict[str, Any]],
    write_jsonl: Callable[..., Path],
) -> None:
    # More ids than one look-up takes, half stored by an earlier import: each is found (its
    # observations join its row) or created once, on either database.
    first = write_jsonl([make_record(id=i) for i in range(1, 1201)], name="first.jsonl")
    second = write_jsonl(
        [make_record(id=i, view_count=99) for i in range(601, 1801)], name="second.jsonl"
    )
    ingest(stored_db, first)
    summary = ingest(stored_db, second)
    assert (summary.new_videos, summary.new_observations) == (600, 1200)
    both = write_jsonl(
        [make_record(id=i) for i in range(1, 1201)]
        + [make_record(id=i, view_count=99) for i in range(601, 1801)],
        name="both.jsonl",
    )
    assert stored_json(stored_db) == run_json(campaign, both)


def _analyzed(engine: Engine) -> dict[str, int]:
    """How many times each table of the test's schema was analyzed."""
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT relname, analyze_count FROM pg_stat_user_tables "
                "WHERE schemaname = current_schema()"
            )
        )
        return {name: count for name, count in rows}


def test_a_bulk_import_leaves_postgresql_statistics_of_what_it_filled(
    stored_db: Engine,
    make_record: Callable[..., dict[str, Any]],
    write_jsonl: Callable[..., Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if stored_db.dialect.name != "postgresql":
        pytest.skip("SQLite plans without statistics")
    monkeypatch.setattr("oyren.store.ingest.BULK_ROWS", 3)
    before = _analyzed(stored_db)
    ingest(stored_db, write_jsonl([make_record(id=1), make_record(id=2)], name="small.jsonl"))
    assert _analyzed(stored_db) == before  # fewer rows than a bulk load
    with pytest.raises(InputError), transaction(stored_db) as session:
        path = write_jsonl([make_record(id=i) for i in range(3, 9)], name="undone.jsonl")
        ingest_observations(session, campaign_id="tiktokdan-oyren-2024", path=path, by="t")
        raise InputError("changed my mind")
    assert _analyzed(stored_db) == before  # rolled back: nothing to analyze
    ingest(stored_db, write_jsonl([make_record(id=i) for i in range(3, 9)], name="big.jsonl"))
    after = _analyzed(stored_db)
    filled = {"observations", "videos", "decided_videos", "decided_creators"}
    assert {t for t in after if after[t] != before.get(t, 0)} == filled
    assert all(after[t] == before.get(t, 0) + 1 for t in filled)


def test_statistics_that_cannot_be_gathered_do_not_undo_the_commit(
    stored_db: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    if stored_db.dialect.name != "postgresql":
        pytest.skip("SQLite plans without statistics")
    with transaction(stored_db) as session:
        record_event(session, campaign_id="tiktokdan-oyren-2024", action="note", by="t", details={})
        analyze_after_commit(session, Table("no_such_table", MetaData()))
    assert "could not analyze no_such_table" in caplog.text
    with transaction(stored_db) as session:
        noted = select(func.count()).select_from(AuditRow).where(AuditRow.actor == "t")
        assert session.scalar(noted) == 1
