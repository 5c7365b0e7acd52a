"""Observations entering the plan: any file of them as a validated, folded Parquet file.

:func:`entered` gives the query plan the Parquet file it reads (the columns of
:data:`~oyren.inputs.columnar.SCHEMA`, and some bookkeeping). Three ways in:

- a Parquet file Öyrən wrote is read as it stands, after one SQL pass checks every row against
  what the writer guarantees;
- a JSONL file is read by DuckDB itself (:func:`jsonl_in_sql`), with SQL checks that accept a line
  only when the validating reader (:mod:`oyren.inputs.observations`) accepts it and would read
  the same values from it;
- anything else, and any JSONL file with a line the SQL checks do not vouch for, goes through the
  validating reader, which names the file, line and field of the first bad line (or skips bad
  lines). Bad input is rare: its speed matters less than its message. The lines in the file's
  first 64 KiB are checked first, so that a file written in a style the checks do not know
  (tabs, other keys, whole numbers as floats) goes there without DuckDB reading all of it in vain.

How the SQL checks stay exact. DuckDB parses JSON more leniently than orjson (trailing commas,
NaN, a byte-order mark) and ignores keys it is not asked for, which may repeat or hold anything.
Every field the reader looks at is read as DuckDB's JSON text of the value (its own compact
writing, never longer than the file's) and checked for its JSON type, so no string is taken for
a number or the other way round. Then the lengths are added up: a line written compactly, with
only those fields, is exactly ``{``, each ``"key":value`` and ``}`` with commas between, and the
file is those lines and their newlines. Any other byte (whitespace, a trailing comma, a key the
reader ignores, an escape DuckDB writes shorter, a blank line) makes the file longer than that
sum, and the file goes through the reader.

A file whose first lines are written otherwise, as Python's ``json.dumps`` writes them by
default (``{"id": "1", "tags": ["\\u0259", "b"]}``: spaces between the tokens, every letter past
ASCII as an escape), is checked line by line, each line's own text beside its values. A line's
bytes beyond its compact writing must be exactly its spaces beyond the spaces inside its values,
plus, when the line is all ASCII, what writing its values' letters as escapes adds (4 bytes for
a letter of two bytes in UTF-8, 3 for one of three, 8 for one of four, written as two escapes).
That leaves room for those and nothing else. Any other difference adds bytes without adding a
space (another key, a key twice, a trailing comma, a tab, an escape longer than needed), or
takes a space away for at least five more bytes (a space written ``\\u0020``), so the counts
part; a line not all in ASCII that escapes a letter has bytes the count has no room for.

Carriage returns (a file written with CRLF line ends, on Windows) are counted over the whole
file, once, when its start holds any: a raw carriage return can only stand between tokens
(DuckDB, like the reader, refuses control characters inside strings), where both read it as
whitespace. So the lengths a line is held to leave them out, and the file is those lengths,
its newlines and exactly that many carriage returns: a carriage return missing in one line
cannot pay for another byte elsewhere.

Keys given as null (``"music_id":null``, as a writer of fixed columns writes what is missing)
are read by DuckDB as SQL NULL, the same as a key left out, and the reader takes them so too
(all but ``id``, whose null it refuses even beside a ``video_id``: never counted). Their bytes
are counted apart: in a compact file, when the sum falls short of the file, each key's
``"key":null`` is counted over the file (those its start holds first); line by line, a key
DuckDB read as NULL whose
``"key":null`` (or ``"key": null``) the line holds. Such a pattern can only be that key given
as null: its closing quote has no backslash before it, so it ends a string, and a string
followed by ``:`` is a key; a key whose name merely ends in ``\"key`` has bytes before the
pattern that nothing counts.

What remains is per field: the same ranges, lengths
and characters as :class:`~oyren.inputs.observations._Fields`, conservatively (a value the reader
would accept after changing it, such as an id with spaces around it, also goes through it).
Hashtag lists, few and repeated, are validated, stripped and folded by the reader's own Python
code, once per distinct list.
"""

from __future__ import annotations

import os
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import orjson

from oyren.errors import InputError
from oyren.inputs.folded import FOLDED_MARK, folded_tags, is_parquet
from oyren.inputs.observations import (
    MAX_COUNT,
    MAX_DESCRIPTION,
    MAX_MUSIC_ID,
    MAX_TRANSCRIPT,
    MAX_USERNAME,
    SkipReport,
    _Fields,
)
from oyren.inputs.records import MAX_ID_DIGITS, MAX_TIMESTAMP, MAX_VIDEO_ID, MIN_TIMESTAMP
from oyren.rules.hashtags import extract_hashtags

__all__ = [
    "DEFAULT_MEMORY",
    "PARQUET_COLUMNS",
    "entered",
    "folded_parquet",
    "hashtags_beside",
    "jsonl_in_sql",
    "observations_sql",
    "polled",
    "sql_literal",
]

# DuckDB's memory for the plan unless OYREN_DUCKDB_MEMORY says otherwise (e.g. "8GB").
DEFAULT_MEMORY = "2GB"
# DuckDB's memory while it reads a JSONL file: the Parquet writer holds batches read ahead until
# their turn comes (rows stay in the file's order); under this cap it reads ahead less.
ENTRY_MEMORY = "200MB"
# DuckDB's threads while it reads a JSONL file. The writer keeping the file's order writes on one
# thread, and a second one mostly waits for it: one thread takes less CPU time in all (about a
# sixth less on a million lines, measured in benchmarks/engine.py) and no more wall time.
ENTRY_THREADS = 1
# How much of a JSONL file's start is checked before DuckDB reads it all: a line there that the
# checks cannot vouch for sends the whole file to the reader, so reading the rest first is waste.
PREFIX_BYTES = 1 << 16
# How much of a file is read at a time when its carriage returns or nulls are counted (no line
# of a valid file is longer: any longer sends the file to the reader).
COUNT_BLOCK = 1 << 24
# How often DuckDB's progress through a query is asked for, in seconds.
POLL_S = 0.5


def sql_literal(value: str) -> str:
    """``value`` as an SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def memory_limit(given: str | None = None) -> str:
    """DuckDB's memory cap: ``given``, else OYREN_DUCKDB_MEMORY, else :data:`DEFAULT_MEMORY`."""
    return given or os.environ.get("OYREN_DUCKDB_MEMORY") or DEFAULT_MEMORY


def connect(
    *, ordered: bool = False, memory: str | None = None, threads: int | None = None
) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection as the plan uses them: no progress bar on standard output (where the
    results may be going), a memory cap past which it spills to the temporary folder, and
    ``threads`` threads (by default, one per core)."""
    config: dict[str, str | bool | int | float | list[str]] = {"preserve_insertion_order": ordered}
    if threads is not None:
        config["threads"] = threads
    con = duckdb.connect(config=config)
    con.execute("SET enable_progress_bar = false")
    con.execute(f"SET temp_directory = {sql_literal(tempfile.gettempdir())}")
    con.execute(f"SET memory_limit = {sql_literal(memory_limit(memory))}")
    return con


@contextmanager
def polled(
    con: duckdb.DuckDBPyConnection, report: Callable[[float], None] | None
) -> Iterator[None]:
    """Call ``report`` with DuckDB's progress (0 to 100) through the queries the block runs on
    ``con``, polled from a thread every :data:`POLL_S` seconds, only when it has gone forward."""
    if report is None:
        yield
        return
    # Progress is tracked but not printed: DuckDB would draw its bar on standard output.
    con.execute("SET enable_progress_bar = true")
    con.execute("SET enable_progress_bar_print = false")
    stop = threading.Event()

    def poll() -> None:
        shown = 0.0
        while not stop.wait(POLL_S):
            done = con.query_progress()
            if done > shown:
                shown = done
                report(done)

    thread = threading.Thread(target=poll, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


# Öyrən's schema (oyren.inputs.columnar.SCHEMA) as DuckDB reads it: read without pyarrow, which
# a run on DuckDB does not otherwise load (a test compares the two).
PARQUET_COLUMNS = (
    ("id", "VARCHAR"), ("username", "VARCHAR"), ("create_time", "BIGINT"),
    ("collected_at", "BIGINT"), ("view_count", "BIGINT"), ("region_code", "VARCHAR"),
    ("video_description", "VARCHAR"), ("hashtag_names", "VARCHAR[]"), ("video_duration", "BIGINT"),
    ("like_count", "BIGINT"), ("comment_count", "BIGINT"), ("share_count", "BIGINT"),
    ("music_id", "VARCHAR"), ("voice_to_text", "VARCHAR"), ("hashtags_folded", "VARCHAR[]"),
    ("username_folded", "VARCHAR"),
)  # fmt: skip


def folded_parquet(path: Path) -> bool:
    """True when ``path`` is a Parquet file in Öyrən's schema, marked as validated and folded."""
    con = duckdb.connect()
    try:
        file = sql_literal(str(path))
        (marks,) = con.execute(
            f"SELECT count(*) FROM parquet_kv_metadata({file}) WHERE key = ?", [FOLDED_MARK]
        ).fetchall()
        columns = con.execute(f"DESCRIBE SELECT * FROM read_parquet({file})").fetchall()
    except duckdb.Error:
        return False
    finally:
        con.close()
    return marks[0] > 0 and tuple((row[0], row[1]) for row in columns) == PARQUET_COLUMNS


# What Öyrən's writer guarantees of every row, checked again when a marked file is read as is:
# a file edited or forged elsewhere goes through the validating reader, which names the row.
_ROW_CHECKS = f"""
SELECT count(*) FROM read_parquet({{path}}) WHERE NOT COALESCE(
  regexp_full_match(id, '[0-9]{{{{1,{MAX_ID_DIGITS}}}}}')
  AND length(username) BETWEEN 1 AND {MAX_USERNAME} AND username_folded IS NOT NULL
  AND create_time >= {MIN_TIMESTAMP} AND create_time < {MAX_TIMESTAMP}
  AND collected_at >= create_time AND collected_at < {MAX_TIMESTAMP}
  AND view_count BETWEEN 0 AND {MAX_COUNT}
  AND COALESCE(video_duration BETWEEN 0 AND {MAX_COUNT}, true)
  AND COALESCE(regexp_full_match(region_code, '[A-Z][A-Z]'), true)
  AND hashtags_folded IS NOT NULL AND hashtag_names IS NOT NULL
  AND COALESCE(length(video_description) <= {MAX_DESCRIPTION}, true),
  false)
"""


def _rows_valid(path: Path, progress: Callable[[int], None] | None = None) -> bool:
    """Whether every row of ``path`` holds what Öyrən's writer guarantees; ``progress`` hears how
    many rows the check has got through."""
    con = connect()
    try:
        report = None
        if progress is not None:
            (rows,) = con.execute(
                f"SELECT count(*) FROM read_parquet({sql_literal(str(path))})"
            ).fetchall()[0]

            def report(done: float) -> None:
                progress(int(rows * done / 100))

        with polled(con, report):
            row = con.execute(_ROW_CHECKS.format(path=sql_literal(str(path)))).fetchone()
        return row is not None and row[0] == 0
    finally:
        con.close()


@contextmanager
def entered(
    path: Path,
    *,
    skip: SkipReport | None = None,
    progress: Callable[[int], None] | None = None,
    whole: bool = False,
) -> Iterator[Path]:
    """The observations of ``path`` as a validated, folded Parquet file: the file itself when
    Öyrən wrote it (its rows checked again in SQL), else a temporary one, written by DuckDB from
    a JSONL file its checks vouch for (read it with :func:`observations_sql`), or by the
    validating reader, which names the first bad line (or skips bad lines into ``skip``).
    ``whole`` asks for a file in :data:`~oyren.inputs.columnar.SCHEMA` that other engines read
    as it stands (from the reader)."""
    if is_parquet(path) and folded_parquet(path) and _rows_valid(path, progress):
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="oyren-") as folder:
        dest = Path(folder) / "observations.parquet"
        if whole or not (is_jsonl(path) and jsonl_in_sql(path, dest, progress=progress)):
            from oyren.inputs.columnar import to_parquet

            to_parquet(path, dest, skip=skip, progress=progress)
        elif progress is not None:
            progress(path.stat().st_size)
        yield dest


def is_jsonl(path: Path) -> bool:
    """True when ``path`` is read as JSONL (neither CSV nor Parquet, by its suffix)."""
    return not is_parquet(path) and path.suffix.lower() != ".csv"


# The keys the validating reader looks at, all read as DuckDB's JSON text of the value.
_KEYS = ("id", "video_id", "username", "create_time", "collected_at", "view_count",
         "region_code", "video_description", "hashtag_names", "video_duration", "like_count",
         "comment_count", "share_count", "music_id", "voice_to_text")  # fmt: skip
_COUNTS = ("video_duration", "like_count", "comment_count", "share_count")
# The keys a line may give as null, read as left out by both DuckDB and the reader: every one but
# "id" (the reader refuses "id":null even beside a "video_id", which DuckDB would take instead).
_NULLABLE = tuple(key for key in _KEYS if key != "id")
# The code points str.strip() removes (str.isspace): a username starting with none of them is not
# blank. Listed rather than computed, which takes a third of a second (a test compares them).
PY_SPACES = (0x9, 0xA, 0xB, 0xC, 0xD, 0x1C, 0x1D, 0x1E, 0x1F, 0x20, 0x85, 0xA0, 0x1680,
             0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006, 0x2007, 0x2008, 0x2009,
             0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000)  # fmt: skip
_PY_SPACES = ", ".join(map(str, PY_SPACES))
_BIGGEST_ID = str(MAX_VIDEO_ID)


def _is_text(key: str) -> str:
    return f"starts_with({key}, '\"')"


def _text(key: str) -> str:
    """The string a JSON string value holds (NULL for any other JSON value)."""
    return f"CASE WHEN {_is_text(key)} THEN {key} ->> '$' END"


def _integer(key: str) -> str:
    return f"TRY_CAST({key}::VARCHAR AS BIGINT)"


def _is_integer(name: str) -> str:
    """Whether ``name``_j (JSON text) holds a whole number that fits ``name``_n (BIGINT)."""
    # DuckDB writes every JSON number that is not a whole number with '.' or 'e' (or as nan,
    # inf), and the cast refuses strings, lists, booleans and whole numbers past 64 bits.
    return (f"({name}_n IS NOT NULL AND NOT contains({name}_j, '.')"
            f" AND NOT contains({name}_j, 'e'))")  # fmt: skip


def _no_nul(key: str) -> str:
    # A NUL character can only come from a \u0000 escape, which DuckDB writes as such.
    return f"NOT contains({key}, '\\u0000')"


def _jsonl_sql(path: Path, dest: Path, *, casefold: bool, by_line: bool) -> str:
    """The COPY that writes the lines of ``path`` to Parquet at ``dest``, checked."""
    return (
        f"COPY ({_jsonl_select(path, casefold=casefold, by_line=by_line)})"
        f" TO {sql_literal(str(dest))} (FORMAT parquet, COMPRESSION lz4_raw)"
    )


def _spaces(text: str) -> str:
    """How many spaces (U+0020) ``text`` holds."""
    return f"(strlen({text}) - strlen(replace({text}, ' ', '')))"


def _returns(text: str) -> str:
    """How many carriage returns (U+000D) ``text`` holds."""
    return f"(strlen({text}) - strlen(replace({text}, chr(13), '')))"


def _escaped_extra(text: str) -> str:
    """How many bytes longer ``text`` is with every character past ASCII written as a JSON
    escape (``\\uXXXX``, 6 bytes; a pair of them past U+FFFF) than written as UTF-8: 4 more
    for a character of two bytes, 3 for one of three, 8 for one of four."""
    # With d the bytes beyond the characters (n2 + 2*n3 + 3*n4), n2 the two-byte characters and
    # r the others past ASCII (n3 + n4), 4*n2 + 3*n3 + 8*n4 is 5*d - n2 - 7*r; with none past
    # two bytes (most scripts but CJK and emoji), 4*d.
    beyond = f"(strlen({text}) - length({text}))"
    long_ones = "'[^\\x00-\\x{7FF}]'"
    short = f"regexp_replace({text}, {long_ones}, '', 'g')"
    return (
        f"CASE WHEN strlen({text}) = length({text}) THEN 0"
        f" WHEN NOT regexp_matches({text}, {long_ones}) THEN 4 * {beyond}"
        f" ELSE 5 * {beyond} - (strlen({short}) - length({short}))"
        f" - 7 * (length({text}) - length({short})) END"
    )


def _jsonl_select(path: Path, *, casefold: bool, by_line: bool) -> str:
    """Every line of ``path`` as the plan's columns, with its length (``line_bytes``: the
    canonical writing's when not ``by_line``, the line's own less its carriage returns when it
    is) and whether the checks vouch for it (``row_ok``), in the file's order."""
    file = sql_literal(str(path))
    # The compact writing of a line holding only these keys: "{", then each "key":value and a
    # comma or the closing "}".
    canonical = "1 + " + " + ".join(f"COALESCE(strlen({k}) + {len(k) + 4}, 0)" for k in _KEYS)
    counts_ok = " AND ".join(
        f"({k}_j IS NULL OR ({_is_integer(k)} AND {k}_n BETWEEN 0 AND {MAX_COUNT}))"
        for k in _COUNTS
    )
    if by_line:
        # Each line's own text beside its values (read from that text, so never out of step;
        # DuckDB gives the text without the whitespace around it). The line is its compact
        # writing with spaces added (and, all in ASCII, its letters escaped) and nothing else
        # when the bytes it has beyond that writing, less its carriage returns, are exactly the
        # spaces it has beyond those inside the values (and what the escapes add). Any other
        # difference (another key, a key twice, an escape longer than needed, a tab) adds bytes
        # but never a space, or takes away a space for at least five more bytes (U+0020 written
        # as an escape), so it upsets the count (see the module's doc).
        struct = sql_literal(orjson.dumps(dict.fromkeys(_KEYS, "JSON")).decode())
        fields = ", ".join(f"t.{k} AS {k}" for k in _KEYS)
        value_spaces = " + ".join(f"COALESCE({_spaces(f'{k}::VARCHAR')}, 0)" for k in _KEYS)
        # A key DuckDB read as NULL and the line gives as null: its bytes, but for the spaces.
        given_null = " + ".join(
            f"CASE WHEN {k} IS NULL AND (contains(line, '\"{k}\":null')"
            f" OR contains(line, '\"{k}\": null')) THEN {_given_null_bytes(k)} ELSE 0 END"
            for k in _NULLABLE
        )
        nulls = f"CASE WHEN contains(line, 'null') THEN {given_null} ELSE 0 END"
        raw = (
            f"SELECT *, strlen(line) - {_returns('line')} - ({canonical}) - ({nulls})"
            " AS beyond_bytes,"
            f" {_spaces('line')} - ({value_spaces}) AS beyond_spaces"
            f" FROM (SELECT line, {fields} FROM (SELECT json AS line,"
            f" json_transform(json, {struct}) AS t FROM read_ndjson_objects({file})))"
        )
        # A line all in ASCII may have every letter past it written as an escape: that many
        # bytes more than its values' own writing (worked out only for such lines).
        escaped = " + ".join(f"COALESCE({_escaped_extra(f'{k}::VARCHAR')}, 0)" for k in _KEYS)
        line_bytes = f"strlen(line) - {_returns('line')}"
        shape_ok = (
            "CASE WHEN beyond_bytes = beyond_spaces THEN true"
            f" WHEN strlen(line) = length(line) THEN beyond_bytes - ({escaped}) = beyond_spaces"
            " ELSE false END"
        )
    else:
        # Lengths are summed over the file instead (see the module's doc).
        columns = ", ".join(f"{k}: 'JSON'" for k in _KEYS)
        raw = (
            f"SELECT * FROM read_json({file}, format = 'newline_delimited',"
            f" columns = {{{columns}}})"
        )
        line_bytes = canonical
        shape_ok = "true"
    return f"""
WITH raw AS (
  {raw}
),
decoded AS (
  SELECT
    COALESCE(id, video_id) AS id_j,
    {_text("COALESCE(id, video_id)")} AS id_s,
    video_id,
    username AS username_j, {_text("username")} AS username_s,
    create_time AS create_time_j, {_integer("create_time")} AS create_time_n,
    collected_at AS collected_at_j, {_integer("collected_at")} AS collected_at_n,
    view_count AS view_count_j, {_integer("view_count")} AS view_count_n,
    region_code AS region_j, {_text("region_code")} AS region_s,
    video_description AS description_j, {_text("video_description")} AS description_s,
    COALESCE('L' || hashtag_names::VARCHAR, 'D' || COALESCE(video_description::VARCHAR, '""'))
      AS tags_key,
    {", ".join(f"{k} AS {k}_j, {_integer(k)} AS {k}_n" for k in _COUNTS)},
    music_id AS music_j, {_text("music_id")} AS music_s,
    voice_to_text AS voice_j, {_text("voice_to_text")} AS voice_s,
    ({line_bytes})::BIGINT AS line_bytes,
    {shape_ok} AS shape_ok
  FROM raw
),
checked AS (
  SELECT
    *,
    COALESCE(
      (CASE WHEN id_s IS NULL
            THEN regexp_full_match(id_j, '[0-9]{{1,{MAX_ID_DIGITS}}}')
                 AND (strlen(id_j) < {MAX_ID_DIGITS} OR id_j::VARCHAR <= '{_BIGGEST_ID}')
            ELSE regexp_full_match(id_s, '[0-9]{{1,{MAX_ID_DIGITS}}}') END)
      AND (video_id IS NULL OR {_is_text("video_id")} OR regexp_full_match(video_id, '-?[0-9]+'))
      AND username_s IS NOT NULL AND {_no_nul("username_j")}
      AND length(username_s) BETWEEN 1 AND {MAX_USERNAME}
      AND ascii(username_s) NOT IN ({_PY_SPACES})
      AND {_is_integer("create_time")}
      AND create_time_n >= {MIN_TIMESTAMP} AND create_time_n < {MAX_TIMESTAMP}
      AND {_is_integer("collected_at")}
      AND collected_at_n >= create_time_n AND collected_at_n < {MAX_TIMESTAMP}
      AND {_is_integer("view_count")} AND view_count_n BETWEEN 0 AND {MAX_COUNT}
      AND {counts_ok}
      AND (region_j IS NULL OR region_s = '' OR regexp_full_match(region_s, '[A-Za-z]{{2}}'))
      AND (description_j IS NULL OR (description_s IS NOT NULL AND {_no_nul("description_j")}
                                     AND length(description_s) <= {MAX_DESCRIPTION}))
      AND (music_j IS NULL OR regexp_full_match(music_s, '[!-~]{{0,{MAX_MUSIC_ID}}}')
           OR (music_s IS NULL AND regexp_full_match(music_j, '[0-9]{{1,19}}')))
      AND (voice_j IS NULL OR (voice_s IS NOT NULL AND {_no_nul("voice_j")}
                               AND length(voice_s) <= {MAX_TRANSCRIPT}))
      AND shape_ok,
      false) AS row_ok
  FROM decoded
)
SELECT
  COALESCE(id_s, id_j::VARCHAR) AS id,
  username_s AS username,
  create_time_n AS create_time,
  collected_at_n AS collected_at,
  view_count_n AS view_count,
  CASE WHEN region_s <> '' THEN upper(region_s) END AS region_code,
  COALESCE(description_s, '') AS video_description,
  video_duration_n AS video_duration,
  like_count_n AS like_count,
  comment_count_n AS comment_count,
  share_count_n AS share_count,
  CASE WHEN music_s IS NULL THEN music_j::VARCHAR ELSE NULLIF(music_s, '') END AS music_id,
  voice_s AS voice_to_text,
  CASE WHEN strlen(username_s) = length(username_s) THEN lower(username_s)
       ELSE {"oyren_casefold(username_s)" if casefold else "NULL"} END AS username_folded,
  tags_key,
  line_bytes,
  row_ok
FROM checked
"""


def _tag_lists(text: str) -> tuple[list[str], list[str]] | None:
    """A hashtag list (DuckDB's JSON text of it) as the reader keeps it, and folded; None when
    the reader refuses it."""
    try:
        value = orjson.loads(text)
        tags = _Fields({"hashtag_names": value}, "", None, False).hashtags("")
    except (orjson.JSONDecodeError, InputError):
        return None
    return list(tags), folded_tags(tags)


def _described(description: str | None) -> tuple[list[str], list[str]]:
    """The hashtags written in a description (JSON text), for a line that has no list."""
    try:
        text = orjson.loads(description) if description is not None else ""
    except orjson.JSONDecodeError:
        text = ""
    tags = extract_hashtags(text if isinstance(text, str) else "")
    return list(tags), folded_tags(tags)


def hashtags_beside(path: Path) -> Path:
    """Where the hashtag lists of a Parquet file written by :func:`jsonl_in_sql` are kept."""
    return path.with_name(path.stem + ".hashtags.parquet")


def _write_tag_lists(con: duckdb.DuckDBPyConnection, written: Path) -> bool:
    """Validate, strip and fold every distinct hashtag list of ``written`` with the reader's own
    code, into the file beside it; False if the reader refuses one."""
    rows = con.execute(
        f"SELECT DISTINCT tags_key FROM read_parquet({sql_literal(str(written))})"
    ).fetchall()
    keys, names, folded = [], [], []
    for (key,) in rows:
        found = _tag_lists(key[1:]) if key[0] == "L" else _described(key[1:])
        if found is None:
            return False
        keys.append(key)
        names.append(found[0])
        folded.append(found[1])
    con.execute(
        "COPY (SELECT unnest($1::VARCHAR[]) AS tags_key,"
        " unnest($2::VARCHAR[][]) AS hashtag_names, unnest($3::VARCHAR[][]) AS hashtags_folded)"
        f" TO {sql_literal(str(hashtags_beside(written)))} (FORMAT parquet)",
        [keys, names, folded],
    )
    return True


def observations_sql(path: Path) -> str:
    """The plan's ``observations`` relation over the Parquet file :func:`entered` gave: the
    file's columns, ``video_id`` and ``row_ordinal`` (with the hashtag lists kept beside a file
    written from JSONL joined back by their key: a join per scan costs less than writing them)."""
    rows = f"read_parquet({sql_literal(str(path))}, file_row_number = true)"
    lists = hashtags_beside(path)
    if not lists.exists():
        return f"SELECT *, id AS video_id, file_row_number AS row_ordinal FROM {rows}"
    return (
        "SELECT o.*, t.hashtag_names, t.hashtags_folded, o.id AS video_id, "
        f"o.file_row_number AS row_ordinal FROM {rows} AS o "
        f"JOIN read_parquet({sql_literal(str(lists))}) AS t ON o.tags_key = t.tags_key"
    )


def jsonl_in_sql(path: Path, dest: Path, *, progress: Callable[[int], None] | None = None) -> bool:
    """Write the observations of the JSONL file ``path`` to Parquet at ``dest`` with DuckDB (the
    hashtag lists by key, the lists themselves beside it: :func:`observations_sql` reads both),
    and return True, when its checks vouch for every line; False sends the file to the reader.
    ``progress`` hears how many bytes of the file DuckDB has got through."""
    try:
        size = path.stat().st_size
        with path.open("rb") as handle:
            head = handle.read(PREFIX_BYTES)
            if size:
                handle.seek(size - 1)
                ends_in_newline = handle.read(1) == b"\n"
            else:
                ends_in_newline = True
    except OSError:
        return False  # the reader says why it cannot open the file
    # Rows in the file's order: their position orders the videos.
    con = connect(ordered=True, memory=ENTRY_MEMORY, threads=ENTRY_THREADS)
    report = None if progress is None else (lambda done: progress(int(size * done / 100)))
    try:
        # Lines written compactly (as Öyrən, the API and most tools write them), else each
        # checked against its own text (spaces between the tokens, letters as escapes: as
        # Python's json.dumps writes them by default).
        by_line = not _prefix_vouched(con, path, head, by_line=False)
        if by_line and not _prefix_vouched(con, path, head, by_line=True):
            return False
        returns = _carriage_returns(path) if b"\r" in head else 0
        if returns is None:
            return False
        with polled(con, report):
            con.execute(_jsonl_sql(path, dest, casefold=False, by_line=by_line))
        # fetchall, not fetchone: a result left unfinished would hold the connection.
        ((lines, line_bytes, rows_ok, unfolded),) = con.execute(
            "SELECT count(*), COALESCE(sum(line_bytes), 0), COALESCE(bool_and(row_ok), true),"
            " count(*) FILTER (WHERE username_folded IS NULL)"
            f" FROM read_parquet({sql_literal(str(dest))})"
        ).fetchall()
        newlines = lines - (0 if ends_in_newline else 1)
        if not rows_ok:
            return False
        if line_bytes + newlines + returns != size:
            # Keys given as null are counted only when the sum falls short of the file.
            short = size - (line_bytes + newlines + returns)
            nulls = None if by_line or short < 0 else _null_bytes_in(path, head, short)
            if nulls is None or line_bytes + newlines + returns + nulls != size:
                return False
        if unfolded:
            # Usernames beyond ASCII (rare) are casefolded by Python's own
            # str.casefold, as the reader folds them, through a DuckDB function: written again
            # with it. The first pass goes without, since such a function loads numpy.
            con.create_function("oyren_casefold", str.casefold, ["VARCHAR"], "VARCHAR")
            con.execute(_jsonl_sql(path, dest, casefold=True, by_line=by_line))
        return _write_tag_lists(con, dest)
    except duckdb.Error:
        return False
    finally:
        con.close()


def _given_null(key: str) -> bytes:
    """``key`` given as null, written compactly."""
    return b'"' + key.encode() + b'":null'


def _given_null_bytes(key: str) -> int:
    """The bytes ``key`` given as null takes in a line: the pattern and the comma or brace."""
    return len(key) + 8


def _null_bytes(text: bytes) -> int:
    """The bytes of the keys ``text`` gives as null, written compactly (``"key":null``), each
    with the comma or brace after it."""
    return sum(text.count(_given_null(key)) * _given_null_bytes(key) for key in _NULLABLE)


def _counts(path: Path, patterns: list[bytes]) -> list[int] | None:
    """How many times each of ``patterns`` (none holding a newline) occurs in the file at
    ``path``, read in blocks cut after a newline so that none is cut in two; None when the file
    cannot be read or has a line longer than a block."""
    counts = [0] * len(patterns)
    block = bytearray(COUNT_BLOCK)
    view = memoryview(block)
    kept = 0  # the start of a line carried over from the block before
    try:
        with path.open("rb", buffering=0) as handle:
            while read := handle.readinto(view[kept:]):
                end = kept + read
                cut = block.rfind(b"\n", 0, end) + 1
                if not cut and end == len(block):
                    return None  # a line longer than a block
                for i, pattern in enumerate(patterns):
                    counts[i] += block.count(pattern, 0, cut)
                block[: end - cut] = block[cut:end]
                kept = end - cut
    except OSError:
        return None
    for i, pattern in enumerate(patterns):
        counts[i] += block.count(pattern, 0, kept)
    return counts


def _null_bytes_in(path: Path, head: bytes, short: int) -> int | None:
    """:func:`_null_bytes` over the file at ``path``, when the checks' sum falls ``short`` of
    its size (None when it cannot be read). The keys the file's start gives as null are counted
    first, and usually account for it all; the others only when there are nulls they leave
    unexplained (a ``:null`` more than they found, in a second pass)."""
    first = [key for key in _NULLABLE if _given_null(key) in head]
    others = [key for key in _NULLABLE if key not in first]
    found = 0
    explained = 0
    if first:
        counts = _counts(path, [_given_null(key) for key in first])
        if counts is None:
            return None
        found = sum(n * _given_null_bytes(key) for key, n in zip(first, counts, strict=True))
        explained = sum(counts)
    if found >= short:
        return found
    counts = _counts(path, [b":null"])
    if counts is None or counts[0] == explained:
        return found
    more = _counts(path, [_given_null(key) for key in others])
    if more is None:
        return None
    return found + sum(n * _given_null_bytes(key) for key, n in zip(others, more, strict=True))


def _carriage_returns(path: Path) -> int | None:
    """How many carriage returns the file at ``path`` holds (None when it cannot be read)."""
    counts = _counts(path, [b"\r"])
    return None if counts is None else counts[0]


def _prefix_vouched(
    con: duckdb.DuckDBPyConnection, path: Path, head: bytes, *, by_line: bool
) -> bool:
    """Whether the checks (``by_line`` or not) vouch for the whole lines in ``head``, the first
    :data:`PREFIX_BYTES` of ``path``. False means they cannot vouch for the file: each line's
    length as the checks count it is at most its length less its carriage returns, so a line
    longer than that makes the file longer than the sum too, and a blank line is bytes no row
    accounts for."""
    lines = head.split(b"\n")[:-1]  # what follows the last newline may be part of a line
    if not lines:
        return True
    if not all(line.strip() for line in lines):
        return False
    ((rows, ok, canonical),) = con.execute(
        "SELECT count(*), COALESCE(bool_and(row_ok), false), COALESCE(sum(line_bytes), 0)"
        " FROM (SELECT row_ok, line_bytes"
        f" FROM ({_jsonl_select(path, casefold=False, by_line=by_line)})"
        f" LIMIT {len(lines)})"
    ).fetchall()
    written = sum(len(line) - line.count(b"\r") for line in lines)
    if not by_line:
        written -= _null_bytes(b"\n".join(lines))
    return bool(ok) and rows == len(lines) and canonical == written
