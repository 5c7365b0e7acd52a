"""Importing observation files into the store: streamed, in bulk, all or nothing.

:func:`ingest_observations` reads a JSONL or CSV file with
:func:`~oyren.inputs.observations.read_observations` and inserts it in chunks, in the caller's
transaction: a bad line (unless skipped) or a database failure part-way leaves the store as it
was once the transaction rolls back. Every field is kept, so the engine sees from the store
exactly what it would see from the file. An observation already stored — same video, same
instant, same content — is counted as a duplicate and stored once; two different counts at the
same instant are both kept (the engine takes the larger), as :mod:`oyren.rules.videos` does.
"""

from __future__ import annotations

import gc
import hashlib
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from hashlib import blake2b
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Connection, Table, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from oyren.errors import InputError
from oyren.inputs.columnar import is_parquet, parquet_rows, stream_observations
from oyren.inputs.observations import SkipReport
from oyren.rules.observations import Observation
from oyren.store import decided
from oyren.store.audit import now, record_event
from oyren.store.db import (
    BulkInsert,
    analyze_after_commit,
    insert_ignoring_duplicates,
    probe_each,
)
from oyren.store.models import ObservationRow, VideoRow
from oyren.store.rows import require_campaign

__all__ = [
    "CHUNK_SIZE",
    "IngestSummary",
    "ObservationWriter",
    "Progress",
    "content_hash",
    "ingest_observations",
]

CHUNK_SIZE = 5000  # rows per INSERT: large enough to be fast, small enough for SQLite's limits
LOOKUP_SIZE = 900  # ids per IN (...) list when looking stored videos up
BULK_ROWS = 10_000  # observations from which an import counts as a bulk load (see below)

Progress = Callable[[int, int], None]
"""Called as ``progress(lines_done, lines_total)`` while a file is read."""

OBSERVATIONS: Table = ObservationRow.__table__  # type: ignore[assignment]
VIDEOS: Table = VideoRow.__table__  # type: ignore[assignment]


@dataclass(frozen=True, slots=True)
class IngestSummary:
    """What an import did."""

    path: str
    sha256: str
    read: int
    new_videos: int
    new_observations: int
    duplicates: int
    skipped: int
    skip_errors: tuple[InputError, ...] = ()


def content_hash(obs: Observation) -> str:
    """Name an observation's whole content, so an exact duplicate is recognised: the digest of
    :func:`~oyren.inputs.observations.observation_to_record` as JSON, built here directly (the
    fields in the same order, those without a value left out) as it runs for every row."""
    record: dict[str, Any] = {"id": obs.video_id, "username": obs.username,
                              "create_time": obs.create_time}  # fmt: skip
    if obs.region_code is not None:
        record["region_code"] = obs.region_code
    record["video_description"] = obs.description
    record["hashtag_names"] = obs.hashtags  # a tuple is written as the list it stands for
    if obs.duration_s is not None:
        record["video_duration"] = obs.duration_s
    record["view_count"] = obs.view_count
    if obs.like_count is not None:
        record["like_count"] = obs.like_count
    if obs.comment_count is not None:
        record["comment_count"] = obs.comment_count
    if obs.share_count is not None:
        record["share_count"] = obs.share_count
    record["collected_at"] = obs.collected_at
    if obs.music_id is not None:
        record["music_id"] = obs.music_id
    if obs.voice_to_text is not None:
        record["voice_to_text"] = obs.voice_to_text
    return blake2b(orjson.dumps(record), digest_size=16).hexdigest()


def ingest_observations(
    session: Session,
    *,
    campaign_id: str,
    path: str | Path,
    by: str,
    skip: SkipReport | None = None,
    progress: Progress | None = None,
    chunk_size: int = CHUNK_SIZE,
) -> IngestSummary:
    """Import a file of observations into a campaign, in the caller's transaction."""
    require_campaign(session, campaign_id)
    p = Path(path)
    lines, sha256 = _scan(p)
    writer = ObservationWriter(session, campaign_id)
    read = 0
    skipped_before = skip.count if skip else 0
    chunk: list[Observation] = []
    with _bulk_load(session):
        for obs in stream_observations(p, skip=skip):
            chunk.append(obs)
            if len(chunk) >= chunk_size:
                writer.insert(chunk)
                read += len(chunk)
                chunk = []
                if progress is not None:
                    done = read + (skip.count - skipped_before if skip else 0)
                    progress(min(done, lines), lines)
        if chunk:
            writer.insert(chunk)
            read += len(chunk)
        decided.settle(session)  # the touched videos' decided rows, in this transaction
        if writer.inserted >= BULK_ROWS:
            analyze_after_commit(session, OBSERVATIONS, VIDEOS, decided.VIDEOS, decided.CREATORS)
    if progress is not None:
        progress(lines, lines)
    new_observations = writer.inserted
    summary = IngestSummary(
        path=str(p),
        sha256=sha256,
        read=read,
        new_videos=writer.new_videos,
        new_observations=new_observations,
        duplicates=read - new_observations,
        skipped=skip.count - skipped_before if skip else 0,
        skip_errors=tuple(skip.errors) if skip else (),
    )
    details = {
        "file": p.name,
        "sha256": sha256,
        "read": read,
        "new_videos": summary.new_videos,
        "new_observations": new_observations,
        "duplicates": summary.duplicates,
        "skipped": summary.skipped,
    }
    record_event(
        session, campaign_id=campaign_id, action="observations.ingest", by=by, details=details
    )
    return summary


BULK_CACHE_KIB = 64 * 1024  # SQLite's page cache while a file is imported (default: 2 MiB)


GC_YOUNG = 50_000  # allocations between two runs of the young collection while importing
_gc_lock = threading.Lock()
_gc_users = 0
_gc_before: tuple[int, ...] = ()


@contextmanager
def _bulk_load(session: Session) -> Iterator[None]:
    """Settings for a bulk load while a file is imported, set back after.

    Python's cycle collector runs every 700 allocations by default and walks the young objects
    each time, and the older ones every so often: an import allocates millions of objects (none
    in cycles: reference counting frees them) while holding many, so it runs it far less often.
    On SQLite the page cache is bigger: the indexes of a big campaign (the decided rows' rank
    above all) outgrow the default, and each miss is a read from the file.
    """
    global _gc_users, _gc_before
    with _gc_lock:
        if _gc_users == 0:
            _gc_before = gc.get_threshold()
            if _gc_before[0]:  # 0: collection is off, and stays so
                gc.set_threshold(max(GC_YOUNG, _gc_before[0]), *_gc_before[1:])
        _gc_users += 1
    connection = session.connection()
    sqlite = connection.dialect.name == "sqlite"
    before = connection.exec_driver_sql("PRAGMA cache_size").scalar() if sqlite else None
    if sqlite:
        connection.exec_driver_sql(f"PRAGMA cache_size = -{BULK_CACHE_KIB}")
    try:
        yield
    finally:
        with _gc_lock:
            _gc_users -= 1
            if _gc_users == 0:
                gc.set_threshold(*_gc_before)
        if sqlite:
            with suppress(DBAPIError):  # never in the way of the error that ended the import
                connection.exec_driver_sql(f"PRAGMA cache_size = {int(before or -2000)}")


class ObservationWriter:
    """Inserts observations of one campaign in bulk, in the session's transaction: each video's
    row first (once), then the observations, an exact duplicate of a stored one passed over."""

    def __init__(
        self,
        session: Session,
        campaign_id: str,
        *,
        at: int | None = None,
        source: str = "import",
    ) -> None:
        self.campaign_id = campaign_id
        self.session = session
        self.source = source  # recorded on every observation: research_api, display_api, import
        self.started = now() if at is None else at
        self.connection = connection = session.connection()
        self.insert_observations = (
            _CopyInsert(connection)
            if connection.dialect.name == "postgresql"
            else BulkInsert(connection, insert_ignoring_duplicates(session, OBSERVATIONS), COLUMNS)
        )
        self.insert_videos = insert_ignoring_duplicates(session, VIDEOS)
        # The stored videos seen so far, by id: their primary keys (looked up chunk by chunk, so
        # a small import costs as much in a big campaign as in a small one).
        self.known: dict[str, int] = {}
        self.new_videos = 0  # videos this writer stored
        self.inserted = 0  # observations this writer stored (exact duplicates passed over)

    def _look_up(self, video_ids: Sequence[str]) -> None:
        # PostgreSQL probes the index id by id (see probe_each); SQLite's planner uses it.
        postgres = self.connection.dialect.name == "postgresql"
        mine = VideoRow.campaign_id == self.campaign_id
        for start in range(0, len(video_ids), LOOKUP_SIZE):
            some = video_ids[start : start + LOOKUP_SIZE]
            found = (
                probe_each(VideoRow.video_id, some, VideoRow.id, mine)
                if postgres
                else select(VideoRow.video_id, VideoRow.id).where(mine, VideoRow.video_id.in_(some))
            )
            self.known.update({v: pk for v, pk in self.connection.execute(found) if pk is not None})

    def insert(self, chunk: Sequence[Observation]) -> None:
        """Insert a chunk of observations (at most :data:`CHUNK_SIZE`)."""
        unseen = sorted({o.video_id for o in chunk} - self.known.keys())
        if unseen:
            self._look_up(unseen)
            new = [v for v in unseen if v not in self.known]
            if new:
                self._create(new)
        if chunk:
            rows = [_row(o, self.known[o.video_id], self.source) for o in chunk]
            self.inserted += self.insert_observations(rows)
            # Their decided rows are rewritten before the transaction commits; the videos this
            # transaction created are decided from these observations, not read back.
            decided.observed(self.session, self.campaign_id, chunk)

    def _create(self, new: list[str]) -> None:
        """Store the rows of videos not found, and say which this transaction created."""
        videos = [
            {"campaign_id": self.campaign_id, "video_id": v, "first_ingested_at": self.started}
            for v in new
        ]
        if self.connection.dialect.name == "postgresql":
            # Another transaction may have stored one since the look-up: only the rows this
            # insert returns are this transaction's.
            returning = self.insert_videos.returning(VIDEOS.c.video_id, VIDEOS.c.id)
            mine = {v: pk for v, pk in self.connection.execute(returning, videos)}
            self.known.update(mine)
            self._look_up([v for v in new if v not in mine])
            created = list(mine)
        else:
            # SQLite: a write transaction holds the database's write lock from its start.
            self.connection.execute(self.insert_videos, videos)
            self._look_up(new)
            created = new
        self.new_videos += len(created)
        decided.created(self.session, self.campaign_id, created)


def _scan(path: Path) -> tuple[int, str]:
    """Count the lines (Parquet: rows) of a file and take its SHA-256, in one pass."""
    digest = hashlib.sha256()
    lines = 0
    last = b""
    try:
        with path.open("rb") as handle:
            while block := handle.read(1 << 20):
                digest.update(block)
                lines += block.count(b"\n")
                last = block
    except OSError as exc:
        raise InputError(f"cannot open: {exc.strerror}", path=str(path)) from None
    if last and not last.endswith(b"\n"):
        lines += 1  # a last line without a newline
    if is_parquet(path):
        lines = parquet_rows(path)
    return lines, digest.hexdigest()


# The columns an observation fills, in the order of :func:`_row`.
COLUMNS = (
    "video_pk",
    "collected_at",
    "view_count",
    "username",
    "create_time",
    "region_code",
    "description",
    "hashtags",
    "duration_s",
    "like_count",
    "comment_count",
    "share_count",
    "music_id",
    "voice_to_text",
    "content_hash",
    "source",
)


def _row(obs: Observation, video_pk: int, source: str) -> tuple[Any, ...]:
    return (
        video_pk,
        obs.collected_at,
        obs.view_count,
        obs.username,
        obs.create_time,
        obs.region_code,
        obs.description,
        orjson.dumps(obs.hashtags).decode(),
        obs.duration_s,
        obs.like_count,
        obs.comment_count,
        obs.share_count,
        obs.music_id,
        obs.voice_to_text,
        content_hash(obs),
        source,
    )


class _CopyInsert:
    """PostgreSQL's fast path: COPY each chunk into a temporary table, then one INSERT … SELECT
    that skips the duplicates. A statement per row would leave the server the slowest part."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.columns = ", ".join(COLUMNS)
        connection.exec_driver_sql(
            "CREATE TEMPORARY TABLE IF NOT EXISTS incoming_observations ON COMMIT DROP AS "
            f"SELECT {self.columns} FROM observations WITH NO DATA"
        )

    def __call__(self, rows: list[tuple[Any, ...]]) -> int:
        cursor = self.connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
        with cursor, cursor.copy(f"COPY incoming_observations ({self.columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        stored = self.connection.exec_driver_sql(
            f"INSERT INTO observations ({self.columns}) SELECT {self.columns} "
            "FROM incoming_observations ON CONFLICT DO NOTHING"
        ).rowcount
        # TRUNCATE, not DELETE: deleted rows stay in a temporary table (no vacuum reaches it), and
        # every later chunk's INSERT … SELECT would scan them all again.
        self.connection.exec_driver_sql("TRUNCATE incoming_observations")
        return int(stored)
