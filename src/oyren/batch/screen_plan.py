"""Screening beside the query plan: the screener's inputs read from the engine as columns.

The screener needs every video's view series and its metadata as at the deadline. Two queries
written once in DuckDB's dialect and transpiled with sqlglot like the plan (so they run on
PostgreSQL and Spark as well) give them: every point of every series (two counts at one instant
keep the larger) with its video's first row, sorted by video and time; and each video's metadata
observation, chosen as :func:`oyren.rules.videos.collect_videos` chooses it. Neither builds a
:class:`~oyren.rules.videos.Video`: the series go to the screener's arrays
(:meth:`~oyren.screening.growth.Intervals.of_points`) as columns, and topics are classified once
per distinct text (:meth:`~oyren.screening.themes.Classifier.topics`).

On DuckDB a large campaign's series are read a part at a time (:func:`streamed_series_flags`:
whole videos, about :data:`SCREEN_POINTS` points a part, twice over: to fit the growth
yardstick to the whole campaign, then to flag with it), so that the screener's memory does not
grow with the number of observations.

Videos are in order of first appearance, as the pure engine screens them. A video whose metadata
instant holds two different observations equal in views, description and username is settled
as the pure rules settle it (comparing whole records), from its own observations: a handful at
most, as in the plan.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from oyren.batch.plan import META_ORDER
from oyren.rules.campaign import Campaign
from oyren.rules.observations import Observation
from oyren.rules.results import Entry, Flag
from oyren.rules.videos import collect_videos
from oyren.screening.columns import FIELDS, Column, MetaColumns, as_columns
from oyren.screening.flags import SeriesFlags, flags_of, series_flags
from oyren.screening.growth import Intervals, Yardstick
from oyren.screening.screener import CampaignScreener

__all__ = [
    "META_COLUMNS",
    "SCREEN_POINTS",
    "Fetched",
    "Screening",
    "ScreeningInputs",
    "fetch_metas",
    "fetch_screening",
    "metas_sql",
    "picked_metas_sql",
    "read_screening_inputs",
    "screen_entries",
    "screen_inputs",
    "screen_series",
    "screen_videos",
    "series_of_points",
    "series_sql",
    "streamed_series_flags",
]


# The columns of an observation, in the order of Observation's fields.
META_COLUMNS = (
    "id", "username", "create_time", "collected_at", "view_count", "region_code",
    "video_description", "hashtag_names", "video_duration", "like_count", "comment_count",
    "share_count", "music_id", "voice_to_text",
)  # fmt: skip

# Every observation's point, named by its video's first row, sorted by video, time and views.
# Two counts at one instant keep the larger: the last of each instant, taken in Python
# (:func:`_one_per_instant`). Grouping the points in SQL would hold a table of every
# (video id, instant), a hundred MiB and more at a million observations; sorting three integers
# holds a third of that.
_SERIES = """
WITH firsts AS (
  SELECT video_id, MIN(row_ordinal) AS video_row
  FROM observations
  GROUP BY video_id
)
SELECT f.video_row, o.collected_at, o.view_count
FROM observations AS o
JOIN firsts AS f ON f.video_id = o.video_id
ORDER BY f.video_row, o.collected_at, o.view_count
"""

# The metadata as at the deadline: the last observation at or before the cutoff, else the first
# after; at that instant the most views, then description, then username (code point order).
# The pick is made over narrow rows (an observation's place in the file names it) and only the
# picked observations are read whole.
_METAS_PICKS = """(
WITH spans AS (
  SELECT
    video_id,
    MIN(row_ordinal) AS first_row,
    COALESCE(MAX(CASE WHEN collected_at <= {cutoff} THEN collected_at END), MIN(collected_at))
      AS meta_at
  FROM observations
  GROUP BY video_id
),
metas AS (
  SELECT
    s.first_row, o.row_ordinal,
    RANK() OVER (
      PARTITION BY o.video_id
      ORDER BY {meta_order}
    ) AS place,
    ROW_NUMBER() OVER (
      PARTITION BY o.video_id
      ORDER BY {meta_order}
    ) AS pick
  FROM observations AS o
  JOIN spans AS s ON o.video_id = s.video_id AND o.collected_at = s.meta_at
),
picked AS (
  SELECT
    first_row,
    MAX(CASE WHEN pick = 1 THEN row_ordinal END) AS row_ordinal,
    MAX(CASE WHEN pick = 2 AND place = 1 THEN 1 ELSE 0 END) AS tied
  FROM metas
  GROUP BY first_row
)
SELECT first_row, row_ordinal AS meta_row, tied FROM picked
)"""

# Each video's metadata observation from the picks (``picks``: each video's first row, the
# row_ordinal of its metadata observation and whether another ties with it): the plan's own, or
# _METAS_PICKS's, which does the plan's grouping and ranking again.
_PICKED_METAS = """
SELECT p.first_row, p.tied, {columns}
FROM {picks} AS p
JOIN observations AS o ON o.row_ordinal = p.meta_row
ORDER BY p.first_row
"""

# The observations that may be a tied video's metadata (``picks`` as in _PICKED_METAS): those at
# its metadata instant ranking first with the one picked (equal in META_ORDER's keys), each
# distinct record once, of the videos where more than one distinct record ranks first. Copies of
# one record (a line read twice) are no tie: the record picked is the one the rules pick.
_TIED_CANDIDATES = """
WITH picked AS (
  SELECT
    m.video_id, m.collected_at, m.view_count,
    COALESCE(m.video_description, '') AS description, m.username
  FROM {picks} AS p
  JOIN observations AS m ON m.row_ordinal = p.meta_row
  WHERE p.tied = 1
),
candidates AS (
  SELECT DISTINCT {columns}
  FROM picked AS t
  JOIN observations AS o
    ON o.video_id = t.video_id AND o.collected_at = t.collected_at
    AND o.view_count = t.view_count
    AND COALESCE(o.video_description, '') = t.description AND o.username = t.username
),
several AS (
  SELECT id FROM candidates GROUP BY id HAVING COUNT(*) > 1
)
SELECT c.* FROM candidates AS c JOIN several AS s ON s.id = c.id
ORDER BY c.id
"""

IntArray = npt.NDArray[np.int64]


def _translate(text: str, dialect: str) -> str:
    if dialect == "duckdb":
        return text  # written in DuckDB's dialect: parsing it again would only cost time
    import sqlglot  # only for the other engines: loading it takes 0.15 s and 16 MiB

    return sqlglot.transpile(text, read="duckdb", write=dialect)[0]


def series_sql(dialect: str = "duckdb") -> str:
    """Every observation's point: (first row of its video, instant, views), sorted by all three
    (:func:`_one_per_instant` keeps the larger count of an instant)."""
    return _translate(_SERIES, dialect)


def metas_sql(cutoff: int, dialect: str = "duckdb") -> str:
    """Each video's metadata observation: (first row, tied, the observation's columns)."""
    return picked_metas_sql(_metas_picks(cutoff), dialect)


def _metas_picks(cutoff: int) -> str:
    """The picks of the metadata observations as the plan makes them (in DuckDB's dialect)."""
    return _METAS_PICKS.format(cutoff=int(cutoff), meta_order=META_ORDER)


def picked_metas_sql(picks: str, dialect: str = "duckdb") -> str:
    """Each video's metadata observation as :func:`metas_sql` gives it, from the relation
    ``picks`` (``first_row``, ``meta_row``, ``tied``) of the plan's choices."""
    columns = ", ".join(f"o.{c}" for c in META_COLUMNS)
    return _translate(_PICKED_METAS.format(picks=picks, columns=columns), dialect)


def _observation(row: Sequence[Any]) -> Observation:
    (video_id, username, create_time, collected_at, views, region, description, tags, duration,
     likes, comments, shares, music_id, voice) = row  # fmt: skip
    return Observation(video_id, username, int(create_time), int(collected_at), int(views), region,
                       description or "", tuple(tags or ()), duration, likes, comments, shares,
                       music_id, voice)  # fmt: skip


def _fetch(runner: Any, sql: str) -> pa.Table | list[list[Any]]:
    """The result of ``sql`` as the runner gives it: a table when the runner gives columns, else
    one list per column."""
    columns = getattr(runner, "columns", None)
    if columns is not None:
        table: pa.Table = columns(sql)
        return table
    rows = runner(sql)
    return [list(column) for column in zip(*rows, strict=True)] if rows else []


def _pylist(column: pa.ChunkedArray) -> list[Any]:
    """A column as a Python list, each distinct text (or list of texts, as a tuple) one object.

    Captions, hashtags, sounds and names repeat across a campaign: shared, they take memory once
    and hash once in the screener's dictionaries.
    """
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        pool = pa.system_memory_pool()
        encoded = pc.dictionary_encode(column.combine_chunks(pool), memory_pool=pool)
        values = [*encoded.dictionary.to_pylist(), None]
        missing = pa.scalar(len(values) - 1, encoded.indices.type)
        indices = pc.coalesce(encoded.indices, missing, memory_pool=pool).to_numpy()
        return list(map(values.__getitem__, indices.tolist()))
    if pa.types.is_list(column.type) or pa.types.is_large_list(column.type):
        shared: dict[tuple[Any, ...], tuple[Any, ...]] = {}
        out = []
        for items in column.to_pylist():
            key = tuple(items) if items else ()
            out.append(shared.setdefault(key, key))
        return out
    plain: list[Any] = column.to_pylist()
    return plain


def _points(result: pa.Table | list[list[Any]]) -> tuple[IntArray, IntArray, IntArray]:
    """The fetched points as three arrays (first row of the video, instant, views)."""
    if isinstance(result, list):
        if not result:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty, empty
        return tuple(np.array(column, dtype=np.int64) for column in result)  # type: ignore[return-value]
    return tuple(  # type: ignore[return-value]
        np.asarray(result.column(i).to_numpy(), dtype=np.int64) for i in range(3)
    )


def _sorted(video_row: IntArray, times: IntArray, views: IntArray) -> bool:
    """Tell whether points are sorted by video, then time, then views."""
    step = np.diff(video_row)
    tick = np.diff(times)
    return bool(
        np.all((step > 0) | ((step == 0) & ((tick > 0) | ((tick == 0) & (np.diff(views) >= 0)))))
    )


def _one_per_instant(
    video_row: IntArray, times: IntArray, views: IntArray
) -> tuple[IntArray, IntArray, IntArray]:
    """Sorted points with one per instant of a video: the last, which has the most views."""
    if len(video_row) < 2:
        return video_row, times, views
    last = np.ones(len(video_row), dtype=bool)
    last[:-1] = (video_row[1:] != video_row[:-1]) | (times[1:] != times[:-1])
    if last.all():
        return video_row, times, views
    return video_row[last], times[last], views[last]


# Fields the screener reads of the few videos it flags only (to name them and their accounts):
# read from the engine's columns an item at a time, no Python object made for every video.
_READ_LAZILY = frozenset({"video_id", "username", "collected_at", "region_code", "music_id"})


class _ArrowColumn:
    """A column of a fetched table as a :class:`~oyren.screening.columns.Column`: items made
    when read, and those put in their place kept beside it."""

    __slots__ = ("_array", "_put")

    def __init__(self, column: pa.ChunkedArray) -> None:
        self._array = column.combine_chunks()
        self._put: dict[int, Any] = {}

    def __len__(self) -> int:
        return len(self._array)

    def __getitem__(self, index: int) -> Any:
        if not -len(self._array) <= index < len(self._array):
            raise IndexError(index)
        index %= len(self._array)
        if index in self._put:
            return self._put[index]
        return self._array[index].as_py()

    def __setitem__(self, index: int, value: Any) -> None:
        if not -len(self._array) <= index < len(self._array):
            raise IndexError(index)
        self._put[index % len(self._array)] = value

    def __iter__(self) -> Iterator[Any]:
        for index, value in enumerate(self._array.to_pylist()):
            yield self._put.get(index, value)


def _in_order(fetched: pa.Table | list[list[Any]]) -> pa.Table | list[list[Any]]:
    """The metadata query's result sorted by first row (engines return it so; a runner that does
    not is sorted here)."""
    if isinstance(fetched, list):
        if fetched and np.any(np.diff(np.asarray(fetched[0], dtype=np.int64)) <= 0):
            order = np.argsort(np.asarray(fetched[0], dtype=np.int64), kind="stable")
            return [[column[i] for i in order] for column in fetched]
        return fetched
    if np.any(np.diff(fetched.column(0).to_numpy()) <= 0):
        return fetched.take(pc.sort_indices(fetched.column(0)))
    return fetched


def _column(fetched: pa.Table | list[list[Any]], index: int) -> Any:
    return fetched[index] if isinstance(fetched, list) else fetched.column(index)


def _settled(
    fetched: pa.Table | list[list[Any]], tied_rows: Sequence[Sequence[Any]], campaign: Campaign
) -> dict[int, Observation]:
    """The metadata observation of each video flagged as tied (by its place in ``fetched``), as
    the pure rules settle it: they compare whole records, from the videos' own rows."""
    if not len(fetched) or not tied_rows:
        return {}
    tied = np.flatnonzero(np.asarray(_column(fetched, 1), dtype=np.int64)).tolist()
    if not tied:
        return {}
    videos = collect_videos(map(_observation, tied_rows), cutoff=campaign.cutoff_ts)
    ids = _column(fetched, 2)
    settled = {}
    for i in tied:
        # A video flagged whose rows are not here has one record ranking first: the one picked.
        video = videos.get(ids[i] if isinstance(ids, list) else ids[i].as_py())
        if video is not None:
            settled[i] = video.meta
    return settled


def _first_rows(fetched: pa.Table | list[list[Any]]) -> IntArray:
    if isinstance(fetched, list):
        return np.asarray(fetched[0] if fetched else [], dtype=np.int64)
    return np.asarray(fetched.column(0).to_numpy(), dtype=np.int64)


def _create_times(fetched: pa.Table | list[list[Any]], settled: dict[int, Observation]) -> IntArray:
    """Each video's posting time, from its metadata observation."""
    at = 2 + FIELDS.index("create_time")
    if isinstance(fetched, list):
        create = np.asarray(fetched[at] if fetched else [], dtype=np.int64)
    else:
        create = np.array(fetched.column(at).to_numpy(), dtype=np.int64)
    for i, meta in settled.items():
        create[i] = meta.create_time
    return create


def _metas(fetched: pa.Table | list[list[Any]], settled: dict[int, Observation]) -> MetaColumns:
    """Each video's metadata observation, in order of first appearance (``fetched`` in order)."""
    if isinstance(fetched, list):
        if not fetched:
            return as_columns([])
        fields: list[Any] = fetched[2:]
    else:
        fields = [
            _ArrowColumn(fetched.column(i + 2))
            if name in _READ_LAZILY
            else _pylist(fetched.column(i + 2))
            for i, name in enumerate(FIELDS)
        ]
    description = FIELDS.index("description")
    hashtags = FIELDS.index("hashtags")
    fields[description] = [text or "" for text in fields[description]]
    fields[hashtags] = [tuple(tags) if tags else () for tags in fields[hashtags]]
    metas = MetaColumns(*fields)
    for i, meta in settled.items():
        metas.put(i, meta)
    return metas


@dataclass(slots=True)
class Fetched:
    """The screener's inputs as the engine gave them, before any Python object is made of them:
    the metadata query's result, the points, and the rows of the few videos left tied. Fetched
    first, so that the engine's connection can be closed (its buffers given back) before the
    columns become Python lists (:meth:`inputs`)."""

    metas: pa.Table | list[list[Any]]
    points: pa.Table | list[list[Any]] | None
    tied_rows: list[Sequence[Any]]

    def points_in_order(self) -> tuple[IntArray, IntArray, IntArray]:
        """The points as arrays (first row of the video, instant, views), sorted by all three,
        one per instant of a video; what was fetched of them is let go."""
        assert self.points is not None, "the points were taken already"
        video_row, times, views = _points(self.points)
        self.points = None
        if len(video_row) > 1 and not _sorted(video_row, times, views):
            # Engines return ORDER BY results in order; a runner that does not is sorted here.
            order = np.lexsort((views, times, video_row))
            video_row, times, views = video_row[order], times[order], views[order]
        return _one_per_instant(video_row, times, views)

    def inputs(self, campaign: Campaign) -> ScreeningInputs:
        """The screener's inputs; what was fetched is let go as it is converted.

        The intervals and the growth yardstick come first, while the metadata are still the
        engine's columns: the yardstick's temporaries and the metadata as Python lists are the
        screener's largest, and are never held at once."""
        fetched = _in_order(self.metas)
        self.metas = []
        first_rows = _first_rows(fetched)
        settled = _settled(fetched, self.tied_rows, campaign)
        video_row, times, views = self.points_in_order()
        # Points name their video by its first row; metas are sorted by it.
        video = np.searchsorted(first_rows, video_row)
        del video_row
        intervals = Intervals.of_points(video, times, views, _create_times(fetched, settled))
        del video, times, views
        yardstick = Yardstick.of(intervals)
        return ScreeningInputs(first_rows, _metas(fetched, settled), intervals, yardstick)


def fetch_screening(
    campaign: Campaign, runner: Any, dialect: str, *, picks: str | None = None
) -> Fetched:
    """The screener's inputs from the observations ``runner`` holds, as the engine gives them
    (the metadata, the candidates of tied videos' metadata, the points); ``picks`` names a
    relation of the plan's metadata observations (:func:`picked_metas_sql`) when it has run."""
    fetched = fetch_metas(campaign, runner, dialect, picks=picks)
    fetched.points = _fetch(runner, series_sql(dialect))
    return fetched


# Points of the series read at a time when they are streamed (:func:`streamed_series_flags`):
# the screener then holds about this many points, and each usable interval's growth rate,
# whatever the size of the campaign. A campaign of at most this many observations has its points
# fetched at once instead (:func:`series_of_points`), and the engine closed while they are
# worked on (the engine's buffers and the screener's arrays are not held together).
SCREEN_POINTS = 2_000_000


def fetch_metas(
    campaign: Campaign, runner: Any, dialect: str, *, picks: str | None = None
) -> Fetched:
    """:func:`fetch_screening` without the points, which :func:`streamed_series_flags` reads a
    part at a time. For the videos whose metadata the rules settle, only the observations that
    may be their metadata are fetched (:data:`_TIED_CANDIDATES`), not all their rows."""
    picks = picks or _metas_picks(campaign.cutoff_ts)
    metas = _in_order(_fetch(runner, picked_metas_sql(picks, dialect)))
    columns = ", ".join(f"o.{c}" for c in META_COLUMNS)
    candidates = _TIED_CANDIDATES.format(picks=picks, columns=columns)
    return Fetched(metas, None, list(runner(_translate(candidates, dialect))))


def streamed_series_flags(
    campaign: Campaign, connection: Any, fetched: Fetched, *, points: int | None = None
) -> SeriesFlags:
    """What the series show (:func:`oyren.screening.flags.series_flags`), read from the DuckDB
    ``connection`` holding the observations a part at a time (``points`` or
    :data:`SCREEN_POINTS` points, whole videos), twice: once to fit the growth yardstick to the
    whole campaign, once to flag with it. ``fetched`` holds the metadata (:func:`fetch_metas`)."""
    first_rows = _first_rows(fetched.metas)
    create = _create_times(fetched.metas, _settled(fetched.metas, fetched.tied_rows, campaign))
    size = points or SCREEN_POINTS

    def parts() -> Iterator[Intervals]:
        return _interval_parts(connection, first_rows, create, size)

    return series_flags(parts)


def series_of_points(campaign: Campaign, fetched: Fetched) -> SeriesFlags:
    """What the series show, from the points fetched at once (:attr:`Fetched.points`, let go
    as they become intervals) and the metadata fetched with them."""
    first_rows = _first_rows(fetched.metas)
    create = _create_times(fetched.metas, _settled(fetched.metas, fetched.tied_rows, campaign))
    video_row, times, views = fetched.points_in_order()
    intervals = Intervals.of_points(np.searchsorted(first_rows, video_row), times, views, create)
    del video_row, times, views
    return series_flags(lambda: (intervals,))


def _interval_parts(
    connection: Any, first_rows: IntArray, create: IntArray, size: int
) -> Iterator[Intervals]:
    """The intervals of every video's series, a part of about ``size`` points at a time, each
    part whole videos in order (the series query's result streamed from the engine)."""
    batches = connection.sql(series_sql()).to_arrow_reader(size)
    empty = np.zeros(0, dtype=np.int64)
    held: list[list[IntArray]] = [[empty], [empty], [empty]]  # points read, not yet in a part
    count = 0
    before = -1  # the last video of the part before
    for batch in batches:
        for column, got in zip(held, (batch.column(i).to_numpy() for i in range(3)), strict=True):
            column.append(np.asarray(got, dtype=np.int64))
        count += batch.num_rows
        if count < size:
            continue  # engines return smaller batches than asked for: a part gathers them
        video_row, times, views = (np.concatenate(column) for column in held)
        # The last video may go on in the next batch: it waits for it.
        cut = int(np.searchsorted(video_row, video_row[-1], side="left"))
        held = [[video_row[cut:]], [times[cut:]], [views[cut:]]]
        count = len(video_row) - cut
        if cut:
            yield _part(video_row[:cut], times[:cut], views[:cut], first_rows, create, before)
            before = int(video_row[cut - 1])
    video_row, times, views = (np.concatenate(column) for column in held)
    if len(video_row):
        yield _part(video_row, times, views, first_rows, create, before)


def _part(
    video_row: IntArray,
    times: IntArray,
    views: IntArray,
    first_rows: IntArray,
    create: IntArray,
    before: int,
) -> Intervals:
    """The intervals of a part of the points (sorted, as the series query returns them)."""
    if video_row[0] <= before or not _sorted(video_row, times, views):
        raise RuntimeError("the engine returned the series out of the query's order")
    video_row, times, views = _one_per_instant(video_row, times, views)
    # Points name their video by its first row; metas are sorted by it.
    video = np.searchsorted(first_rows, video_row)
    return Intervals.of_points(video, times, views, create)


def screen_series(
    campaign: Campaign,
    fetched: Fetched,
    series: SeriesFlags,
    *,
    flagged: Callable[[], None] | None = None,
) -> Screening:
    """The screener's flags and topics from the metadata fetched and what the series showed
    (:func:`streamed_series_flags` or :func:`series_of_points`); the engine is no longer
    needed. ``flagged`` is called between the flags and the topics."""
    fetched_metas = fetched.metas
    fetched.metas = []
    first_rows = _first_rows(fetched_metas)
    metas = _metas(fetched_metas, _settled(fetched_metas, fetched.tied_rows, campaign))
    del fetched_metas
    flags = flags_of(metas, series)
    if flagged is not None:
        flagged()
    topics = CampaignScreener(campaign).topics(metas)
    return Screening(
        first_rows,
        metas.video_id,
        flags,
        [topic for topic, _ in topics],
        [confidence for _, confidence in topics],
    )


@dataclass(slots=True)
class ScreeningInputs:
    """What the screener reads from the engine: each video's metadata observation, by first
    appearance, the intervals of every video's series and the growth yardstick fitted to them
    (let go once the flags are raised)."""

    first_rows: IntArray
    metas: MetaColumns
    intervals: Intervals | None
    yardstick: Yardstick | None


def read_screening_inputs(campaign: Campaign, runner: Any, dialect: str) -> ScreeningInputs:
    """The screener's inputs from the observations ``runner`` holds (two queries)."""
    return fetch_screening(campaign, runner, dialect).inputs(campaign)


@dataclass(frozen=True, slots=True)
class Screening:
    """The screener's verdicts on every video: flags of the few it flags, topics of all.

    ``first_rows`` names the videos (each by its first row in the file, as the plan's rows do),
    in order of first appearance; ``topics`` and ``confidences`` follow that order.
    """

    first_rows: IntArray
    video_ids: Column[str]
    flags: Mapping[str, tuple[Flag, ...]]
    topics: list[str | None]
    confidences: list[float | None]

    def table(self) -> pa.Table:
        """Each video's first row, topic and confidence as columns (to join with the plan's)."""
        return pa.table(
            {
                "first_row": pa.array(self.first_rows, pa.int64()),
                "topic": pa.array(self.topics, pa.string()),
                "confidence": pa.array(self.confidences, pa.float64()),
            }
        )


def screen_videos(campaign: Campaign, runner: Any, dialect: str) -> Screening:
    """The screener's flags and topics of every video of the observations ``runner`` holds.

    The same flags and topics as the pure engine's screening of the same observations.
    """
    return screen_inputs(campaign, read_screening_inputs(campaign, runner, dialect))


def screen_inputs(
    campaign: Campaign, inputs: ScreeningInputs, *, flagged: Callable[[], None] | None = None
) -> Screening:
    """The screener's flags and topics from its inputs as read (no engine needed any more);
    ``flagged`` is called between the flags and the topics."""
    metas = inputs.metas
    screener = CampaignScreener(campaign)
    assert inputs.intervals is not None, "the inputs were screened already"
    flags = screener.flag_series(metas, inputs.intervals, inputs.yardstick)
    inputs.intervals = inputs.yardstick = None
    if flagged is not None:
        flagged()
    topics = screener.topics(metas)
    return Screening(
        inputs.first_rows,
        metas.video_id,
        flags,
        [topic for topic, _ in topics],
        [confidence for _, confidence in topics],
    )


def screen_entries(
    campaign: Campaign, runner: Any, dialect: str, entries: Sequence[Entry]
) -> list[Entry]:
    """``entries`` with the screener's flags and topics, from the observations ``runner`` holds.

    The same flags and topics as the pure engine's screening of the same observations.
    """
    screening = screen_videos(campaign, runner, dialect)
    where = {video_id: i for i, video_id in enumerate(screening.video_ids)}
    out = []
    for entry in entries:
        i = where[entry.video_id]
        out.append(
            Entry(
                entry.video_id,
                entry.username,
                entry.create_time,
                entry.eligible,
                entry.reasons,
                entry.views_at_cutoff,
                entry.views_basis,
                entry.observations,
                entry.gap_s,
                screening.flags.get(entry.video_id, ()),
                screening.topics[i],
                screening.confidences[i],
            )
        )
    return out
