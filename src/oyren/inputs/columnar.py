"""Observations in Parquet: the columnar form the query plan and engines at scale read.

A Parquet file of observations has the API's field names as columns (``hashtag_names`` a list of
strings) plus two columns folded when the observation entered, so that no engine needs Unicode
folding: ``hashtags_folded`` (each tag through :func:`oyren.rules.hashtags.fold`) and
``username_folded`` (the username casefolded, as creators and partners are compared).

:func:`to_parquet` is the entry for files: every line of JSONL or CSV (or row of a Parquet file
from elsewhere) is validated as :func:`~oyren.inputs.observations.read_observations` does, with
errors naming the file, line (row) and field, and written in chunks with its folded columns.
:func:`read_parquet_observations` reads a Parquet file back as validated observations.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import fields as dataclass_fields
from operator import attrgetter
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from oyren.errors import InputError
from oyren.inputs.fastlane import (
    ObservationFields,
    fields_from_scanned,
    jsonl_lines,
    scan_record,
)
from oyren.inputs.folded import FOLDED_MARK, folded_tags, is_parquet
from oyren.inputs.observations import (
    ObservationFile,
    SkipReport,
    observation_from_line,
    observation_from_record,
    read_observations,
    write_observations_csv,
    write_observations_jsonl,
)
from oyren.rules.observations import Observation

__all__ = [
    "FOLDED_MARK",
    "OBSERVATION_FORMATS",
    "SCHEMA",
    "ParquetSink",
    "folded_tags",
    "is_parquet",
    "parquet_rows",
    "read_observation_file",
    "read_parquet_observations",
    "stream_observations",
    "to_parquet",
    "write_observation_file",
    "write_observations_parquet",
]

SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("username", pa.string()),
        ("create_time", pa.int64()),
        ("collected_at", pa.int64()),
        ("view_count", pa.int64()),
        ("region_code", pa.string()),
        ("video_description", pa.string()),
        ("hashtag_names", pa.list_(pa.string())),
        ("video_duration", pa.int64()),
        ("like_count", pa.int64()),
        ("comment_count", pa.int64()),
        ("share_count", pa.int64()),
        ("music_id", pa.string()),
        ("voice_to_text", pa.string()),
        ("hashtags_folded", pa.list_(pa.string())),
        ("username_folded", pa.string()),
    ],
    # Marks files whose rows were validated and folded when written by Öyrən.
    metadata={FOLDED_MARK: b"1"},
)
_TAGS = pa.list_(pa.string())
# The columns of an observation's fields, in their order (ObservationFields): the hashtags'
# list is the eighth; its folded form and the folded username are derived.
_FIELD_COLUMNS = ("id", "username", "create_time", "collected_at", "view_count", "region_code",
                  "video_description", "hashtag_names", "video_duration", "like_count",
                  "comment_count", "share_count", "music_id", "voice_to_text")  # fmt: skip
_HASHTAGS = _FIELD_COLUMNS.index("hashtag_names")
# How many rows a sink holds as tuples before it adds them to its columns.
_ROWS_AT_ONCE = 4096
# Rows per row group: big enough for fast scans, small enough to keep a writer's memory low.
_CHUNK_ROWS = 200_000
_PARQUET_MAGIC = b"PAR1"


class ParquetSink:
    """Observations written to a Parquet file in chunks, with their folded columns.

    Observations come as tuples of their fields, a few thousand of which are turned into
    columns at once (so that no object is made for each, and memory stays that of the columns).
    Hashtag lists repeat from one observation of a video to the next, so each distinct list is
    converted (and folded) once per chunk and the rows point at it.
    """

    def __init__(self, path: Path, *, chunk_rows: int = _CHUNK_ROWS) -> None:
        self.path = path
        self.chunk_rows = chunk_rows
        self.count = 0
        self._writer = pq.ParquetWriter(str(path), SCHEMA, compression="zstd")
        self._columns: list[list[Any]] = [[] for _ in _FIELD_COLUMNS]
        self._held = 0  # rows in the columns
        self._rows: list[ObservationFields] = []  # rows not yet in the columns

    def add(self, obs: Observation) -> None:
        """Add one observation."""
        self.add_fields(_fields(obs))

    def add_fields(self, fields: ObservationFields) -> None:
        """Add one observation given as its fields, in their order (no object made for it)."""
        rows = self._rows
        rows.append(fields)
        if len(rows) >= _ROWS_AT_ONCE or self._held + len(rows) >= self.chunk_rows:
            self._to_columns()
            if self._held >= self.chunk_rows:
                self.flush()

    def _to_columns(self) -> None:
        if not self._rows:
            return
        for column, values in zip(self._columns, zip(*self._rows, strict=True), strict=True):
            column.extend(values)
        self._held += len(self._rows)
        self._rows = []

    def write_table(self, table: pa.Table) -> None:
        """Write a table already in :data:`SCHEMA` (the simulator builds its chunks so)."""
        self.flush()
        self._writer.write_table(table, row_group_size=self.chunk_rows)
        self.count += table.num_rows

    def flush(self) -> None:
        """Write the observations held so far as a row group."""
        self._to_columns()
        if not self._held:
            return
        columns = self._columns
        arrays = {name: pa.array(column, type=SCHEMA.field(name).type)
                  for name, column in zip(_FIELD_COLUMNS, columns, strict=True)
                  if name != "hashtag_names"}  # fmt: skip
        sets: dict[tuple[str, ...], int] = {}
        rows = pa.array([sets.setdefault(tags, len(sets)) for tags in columns[_HASHTAGS]],
                        type=pa.int32())  # fmt: skip
        distinct = list(sets)
        arrays["hashtag_names"] = pa.array(distinct, type=_TAGS).take(rows)
        arrays["hashtags_folded"] = pa.array([folded_tags(t) for t in distinct], _TAGS).take(rows)
        casefolded: dict[str, str] = {}
        folded_names = [casefolded.get(u) or casefolded.setdefault(u, u.casefold())
                        for u in columns[1]]  # fmt: skip
        arrays["username_folded"] = pa.array(folded_names, type=pa.string())
        table = pa.Table.from_arrays([arrays[name] for name in SCHEMA.names], schema=SCHEMA)
        self._writer.write_table(table)
        self.count += self._held
        self._columns = [[] for _ in _FIELD_COLUMNS]
        self._held = 0

    def close(self) -> None:
        """Write what is held and close the file."""
        self.flush()
        self._writer.close()


def write_observations_parquet(observations: Iterable[Observation], path: Path) -> int:
    """Write observations to a Parquet file at ``path``; return how many were written."""
    sink = ParquetSink(path)
    try:
        for obs in observations:
            sink.add(obs)
    finally:
        sink.close()
    return sink.count


def to_parquet(
    source: Path,
    dest: Path,
    *,
    skip: SkipReport | None = None,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Validate the observations of ``source`` (JSONL, CSV or Parquet) into Parquet at ``dest``.

    The first bad line raises :class:`InputError` naming file, line and field (or is counted in
    ``skip``). ``progress`` is called with the bytes (rows, for Parquet) read so far.
    """
    sink = ParquetSink(dest)
    try:
        if is_parquet(source):
            for obs in read_parquet_observations(source, skip=skip, progress=progress):
                sink.add(obs)
        elif source.suffix.lower() == ".csv":
            for obs in read_observations(source, skip=skip):
                sink.add(obs)
        else:
            add = sink.add_fields  # JSONL: each line's fields, no Observation made
            for fields in _jsonl_fields(ObservationFile(source, skip), progress):
                add(fields)
    finally:
        sink.close()
    return sink.count


# An observation's fields in their order, read from the dataclass so the two never part.
_FIELDS_OF = attrgetter(*(field.name for field in dataclass_fields(Observation)))


def _fields(obs: Observation) -> ObservationFields:
    fields: ObservationFields = _FIELDS_OF(obs)
    return fields


def _jsonl_fields(
    source: ObservationFile, progress: Callable[[int], None] | None
) -> Iterator[ObservationFields]:
    """The fields of each observation of a JSONL file, through the fast lane (as
    :mod:`oyren.inputs.grouping` reads it): cheap exact checks, and the general path, which
    names the error, for anything unusual."""
    loads, scan, decode_error = orjson.loads, scan_record, orjson.JSONDecodeError
    number = 0
    done = 0
    with source.open() as handle:
        for lines, ended in jsonl_lines(handle):
            for raw in lines:
                number += 1
                try:
                    record = loads(raw)
                    key = scan(record)
                except decode_error:
                    key = None
                # A key written twice takes the general path, which names it.
                if key is not None and not (
                    raw.count(b'":') != len(record) or b" :" in raw or b"\t:" in raw
                    or b"\r:" in raw
                ):  # fmt: skip
                    yield fields_from_scanned(record, key[0], key[1])
                    continue
                try:
                    obs = observation_from_line(
                        raw + b"\n" if ended else raw, path=source.name, line=number
                    )
                except InputError as error:
                    if source.skip is None:
                        raise
                    source.skip.add(error)
                    continue
                if obs is not None:
                    yield _fields(obs)
            if progress is not None:
                done += sum(map(len, lines)) + len(lines)
                progress(done)


def read_parquet_observations(
    path: Path,
    *,
    skip: SkipReport | None = None,
    progress: Callable[[int], None] | None = None,
) -> Iterator[Observation]:
    """Stream validated observations from a Parquet file; errors name the row as its line."""
    name = str(path)
    parquet = _open_parquet(path)
    number = 0
    try:
        batches = parquet.iter_batches(batch_size=65_536)
        for batch in batches:
            for record in batch.to_pylist():
                number += 1
                try:
                    values = {k: v for k, v in record.items() if v is not None}
                    yield observation_from_record(values, path=name, line=number)
                except InputError as error:
                    if skip is None:
                        raise
                    skip.add(error)
            if progress is not None:
                progress(number)
    except (OSError, pa.ArrowException) as exc:
        raise InputError(
            f"not a readable Parquet file ({exc})", path=name, line=number + 1
        ) from None


def _open_parquet(path: Path) -> pq.ParquetFile:
    name = str(path)
    try:
        with path.open("rb") as handle:
            head = handle.read(4)
    except OSError as exc:
        raise InputError(f"cannot open: {exc.strerror}", path=name) from None
    if head != _PARQUET_MAGIC:
        raise InputError("not a Parquet file (it does not start with PAR1)", path=name)
    try:
        parquet = pq.ParquetFile(name)
    except (OSError, pa.ArrowException) as exc:
        raise InputError(f"not a readable Parquet file ({exc})", path=name) from None
    for required in ("id", "username", "create_time", "view_count", "collected_at"):
        if required not in parquet.schema_arrow.names:
            raise InputError("missing column", path=name, field=required)
    return parquet


def parquet_rows(path: Path) -> int:
    """How many rows a Parquet file holds (from its footer)."""
    return int(_open_parquet(path).metadata.num_rows)


# The formats observations are written in, by name.
OBSERVATION_FORMATS = ("jsonl", "csv", "parquet")


def read_observation_file(
    path: str | Path, *, skip: SkipReport | None = None
) -> Iterator[Observation]:
    """Stream validated observations from a JSONL, CSV or Parquet file (by its suffix)."""
    p = Path(path)
    if is_parquet(p):
        return read_parquet_observations(p, skip=skip)
    return read_observations(p, skip=skip)


def stream_observations(
    path: str | Path, *, skip: SkipReport | None = None
) -> Iterator[Observation]:
    """Every observation of a JSONL, CSV or Parquet file, as :func:`read_observation_file` reads
    them, a JSONL file through the fast lane: for an import, which stores each one (the engine
    groups an unread JSONL file's lines without building most of them)."""
    p = Path(path)
    if is_parquet(p) or p.suffix.lower() == ".csv":
        return read_observation_file(p, skip=skip)
    return (Observation(*fields) for fields in _jsonl_fields(ObservationFile(p, skip), None))


def write_observation_file(observations: Iterable[Observation], path: Path, fmt: str) -> int:
    """Write observations to ``path`` as ``fmt`` (jsonl, csv or parquet); return how many."""
    if fmt not in OBSERVATION_FORMATS:
        raise ValueError(f"format must be one of {OBSERVATION_FORMATS}")
    if fmt == "parquet":
        return write_observations_parquet(observations, path)
    if fmt == "csv":
        with path.open("w", newline="", encoding="utf-8") as text:
            return write_observations_csv(observations, text)
    with path.open("wb") as handle:
        return write_observations_jsonl(observations, handle)
