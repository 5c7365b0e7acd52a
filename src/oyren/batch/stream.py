"""A campaign decided by the plan and written out as it is read back: memory that stays that of
a batch of rows, whatever the number of videos.

``oyren run`` on DuckDB comes here, with screening or without. The plan's per-video rows go into
a table of the DuckDB connection (which spills to disk past its memory cap), are ranked there in
the pure engine's order, and are read back a batch of rows at a time, each written before the next
is read. With screening, the screener's topics join the ranked table and its flags (of the few
videos it flags) are joined in as the entries are read back. The prizes are settled by the pure
engine's own settlement (:func:`oyren.batch.evaluate.settle_ranked`) over the only rows it
needs, the top of both rankings and the entries the jury names; the creators' totals are summed
in SQL. What is written is byte for byte :func:`oyren.rules.results.results_json` of the results
the engine holds in memory for the same inputs, which the tests check.
"""

from __future__ import annotations

import tempfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from itertools import groupby
from operator import itemgetter
from pathlib import Path
from typing import Any, BinaryIO, Protocol

import duckdb
import orjson

from oyren.batch.entry import polled, sql_literal
from oyren.batch.evaluate import judged_entries, jury_from_contenders, settle_ranked
from oyren.batch.plan import (
    REASON_BITS,
    TIED_COLUMNS,
    DuckPlan,
    _observation,
    duckdb_plan,
    mask_of_reasons,
    plan_sql,
    reasons_of_mask,
)
from oyren.inputs.judgments import Judgment
from oyren.inputs.removals import Removal, removed_ids
from oyren.rules import engine
from oyren.rules.awards import CreatorTotal, JuryPick
from oyren.rules.campaign import Campaign
from oyren.rules.decisions import Decision, latest_decisions
from oyren.rules.observations import Observation
from oyren.rules.results import (
    Entry,
    Flag,
    Results,
    Winners,
    flag_to_dict,
    results_json,
    results_to_dict,
)
from oyren.rules.videos import collect_videos
from oyren.rules.views import BASES

__all__ = [
    "PRIZES",
    "Decided",
    "InMemory",
    "Phase",
    "Streamed",
    "Summary",
    "decide_streamed",
    "summarize",
]

# The prizes there are: settling them looks at most this far down either ranking.
PRIZES = 3
# Rows per batch read back: a batch's entries are all that is held at a time.
BATCH_ROWS = 5_000

# Progress of a phase: its description, how much is done and of how much (None: unknown).
Phase = Callable[[str, int, int | None], None]
# The step screening reports its progress as.
_SCREENING = "screening videos"

# The pure engine's rank order (eligible first, most views, the earlier post, the smaller id as
# a number) and then first appearance, as its stable sort leaves entries whose keys are equal.
_RANK = "reasons <> 0, views DESC, create_time, CAST(video_id AS HUGEINT), first_row"

_ENTRY = "video_id, username, create_time, reasons, views, basis, n_obs, gap_s"
# An entry as shown and written: with the screener's topic (NULL when screening is off).
_SHOWN = f"{_ENTRY}, topic, confidence"

# A creator's total over their eligible entries, as oyren.rules.awards.creator_totals sums it:
# the name of their first post (earliest, then the smaller id, then the first in rank order),
# their videos in rank order; creators then rank by views, first post, its id, first appearance.
_CREATORS = """
CREATE OR REPLACE TEMP TABLE creators AS
SELECT
  first(username ORDER BY create_time, CAST(video_id AS HUGEINT), pos) AS username,
  sum(views) AS views,
  list(video_id ORDER BY pos) AS video_ids,
  min(create_time) AS first_post,
  first(video_id ORDER BY create_time, CAST(video_id AS HUGEINT), pos) AS first_post_id,
  min(pos) AS first_pos
FROM ranked
WHERE reasons = 0
GROUP BY username_folded
"""
_CREATOR_ORDER = "views DESC, first_post, CAST(first_post_id AS HUGEINT), first_pos"


@dataclass(frozen=True, slots=True)
class Summary:
    """What a table of results shows: the winners, the top of both rankings, the counts."""

    campaign: str
    cutoff: datetime
    winners: Winners
    top: tuple[Entry, ...]  # the first eligible entries, in rank order
    top_creators: tuple[tuple[str, int, tuple[str, ...]], ...]
    reasons: tuple[tuple[str, int], ...]  # entries per reason, the most common first
    videos: int
    eligible: int
    creators: int
    limit: int = 20  # how many of each ranking the summary was asked for


def summarize(results: Results, top: int = 20) -> Summary:
    """The summary of results held in memory."""
    reasons = Counter(r for e in results.entries for r in e.reasons)
    eligible = results.eligible
    return Summary(results.campaign, results.cutoff, results.winners, eligible[:top],
                   results.creators[:top], tuple(reasons.most_common()), len(results.entries),
                   len(eligible), len(results.creators), top)  # fmt: skip


class Decided(Protocol):
    """A decided campaign, ready to be shown or written."""

    def summary(self, top: int = 20) -> Summary:
        """The winners, the first ``top`` entries and creators, and the counts."""
        ...

    def write_json(self, out: BinaryIO) -> None:
        """Write the results as :func:`oyren.rules.results.results_json` gives them."""
        ...


class InMemory:
    """Results held in memory (the pure engine, Spark)."""

    def __init__(self, results: Results) -> None:
        self.results = results

    def summary(self, top: int = 20) -> Summary:
        """The summary of the results."""
        return summarize(self.results, top)

    def write_json(self, out: BinaryIO) -> None:
        """Write the results' JSON."""
        out.write(results_json(self.results))


def decide_streamed(
    campaign: Campaign,
    runner: DuckPlan,
    *,
    decisions: Iterable[Decision] = (),
    removals: Iterable[Removal] = (),
    judgments: Iterable[Judgment] = (),
    screen: bool = False,
    phase: Phase | None = None,
) -> Streamed:
    """Decide every video with the plan into tables of ``runner``'s connection and settle the
    prizes, with the same inputs in force as :func:`oyren.batch.evaluate.decide_with` assembles
    (the latest decision per video, the removals, the jury's order over the judged contenders).

    ``screen`` adds the screener's flags and topics (:func:`oyren.batch.screen_plan.screen_videos`):
    the topics go into the ranked table beside the plan's columns, the flags (of the few videos
    flagged) are kept by video id and joined in as the entries are read back."""
    latest, removed = latest_decisions(decisions), removed_ids(removals)
    con = runner.connection
    flags: Mapping[str, tuple[Flag, ...]] = {}
    runner.load(latest, removed)
    if screen:
        flags = _decide_screened(campaign, runner, latest, removed, phase)
    else:
        with _watched(con, "deciding videos", phase):
            con.execute(f"CREATE OR REPLACE TEMP TABLE decided AS {plan_sql(campaign)}")
        con.execute(
            "CREATE OR REPLACE TEMP TABLE screened"
            " (first_row BIGINT, topic VARCHAR, confidence DOUBLE)"
        )
    with _watched(con, "deciding tied videos", phase):
        _settle_tied(campaign, runner, decisions=latest, removed=removed)
    with _watched(con, "ranking videos", phase):
        con.execute(
            "CREATE OR REPLACE TEMP TABLE ranked AS"
            " SELECT decided.*, screened.topic, screened.confidence,"
            f" row_number() OVER (ORDER BY {_RANK}) AS pos"
            " FROM decided LEFT JOIN screened USING (first_row)"
        )
        con.execute("DROP TABLE decided")
        con.execute("DROP TABLE screened")
    with _watched(con, "summing creators", phase):
        con.execute(_CREATORS)
    given = list(judgments)
    jury: list[JuryPick] = []
    judged = sorted(judged_entries(given))
    if judged:
        contenders = con.execute(
            "SELECT video_id FROM ranked WHERE reasons = 0 AND list_contains(?, video_id)"
            " ORDER BY pos",
            [judged],
        ).fetchall()
        jury = jury_from_contenders(given, [row[0] for row in contenders])
    return Streamed(campaign, con, _winners(campaign, con, jury), flags=flags, phase=phase)


def _decide_screened(
    campaign: Campaign,
    runner: DuckPlan,
    decisions: Mapping[str, Decision],
    removed: frozenset[str],
    phase: Phase | None,
) -> Mapping[str, tuple[Flag, ...]]:
    """Decide every video with the plan into the table ``decided`` of ``runner``'s connection,
    and screen them into the table ``screened``; return the flags, by video id.

    The plan and the screener's queries run on a connection of their own, closed (DuckDB's
    buffers given back) before the screener's inputs become Python objects and it works on
    them; the plan's rows wait in a file meanwhile. Screening reads each video's metadata
    observation where the plan chose it. It loads numpy and pyarrow, which a run without it
    never imports."""
    from oyren.batch.screen_plan import (
        SCREEN_POINTS,
        fetch_metas,
        screen_series,
        series_of_points,
        series_sql,
        streamed_series_flags,
    )

    # The bar: DuckDB's progress through the screener's queries up to 40 %, then its steps.
    def step(done: int) -> None:
        if phase is not None:
            phase(_SCREENING, done, 100)

    con = runner.connection
    with tempfile.TemporaryDirectory(prefix="oyren-") as folder:
        kept = sql_literal(str(Path(folder) / "decided.parquet"))
        with duckdb_plan(runner.path) as reader:
            reader.load(decisions, removed)
            with _watched(reader.connection, "deciding videos", phase):
                reader.connection.execute(f"COPY ({plan_sql(campaign)}) TO {kept} (FORMAT parquet)")
            with _watched(reader.connection, _SCREENING, phase, upto=40):
                picks = f"(SELECT first_row, meta_row, meta_tied AS tied FROM read_parquet({kept}))"
                fetched = fetch_metas(campaign, reader, "duckdb", picks=picks)
                ((points,),) = reader("SELECT count(*) FROM observations")
                series = None
                if points > SCREEN_POINTS:
                    # A part at a time: memory stays that of a part, whatever the size.
                    series = streamed_series_flags(campaign, reader.connection, fetched)
                else:
                    fetched.points = reader.columns(series_sql())
        if series is None:
            series = series_of_points(campaign, fetched)
        step(50)
        screening = screen_series(campaign, fetched, series, flagged=lambda: step(75))
        del fetched, series
        step(95)
        con.execute(f"CREATE OR REPLACE TEMP TABLE decided AS SELECT * FROM read_parquet({kept})")
    con.register("screening", screening.table())
    con.execute("CREATE OR REPLACE TEMP TABLE screened AS SELECT * FROM screening")
    con.unregister("screening")
    step(100)
    return screening.flags


# Every column of the observations of the videos the plan left tied, a video's rows together in
# file order and the videos in order of first appearance.
_TIED_ROWS = f"""
SELECT{TIED_COLUMNS}FROM observations AS o
JOIN (SELECT video_id, first_row FROM decided WHERE tied = 1) AS t ON o.video_id = t.video_id
ORDER BY t.first_row, o.row_ordinal
"""
# Videos the pure rules decide at a time: their observations are all that is held.
TIED_VIDEOS = 2_000


def _settle_tied(
    campaign: Campaign,
    runner: DuckPlan,
    *,
    decisions: Mapping[str, Decision],
    removed: frozenset[str],
) -> None:
    """Decide the videos the plan left tied with the pure rules, from their own observations
    (read a few thousand videos at a time), and put their verdicts in place of the plan's."""
    settled: list[Entry] = []
    chunk: list[Observation] = []
    videos = 0

    def decide_chunk() -> None:
        grouped = collect_videos(chunk, cutoff=campaign.cutoff_ts)
        results = engine.evaluate(campaign, grouped.values(), decisions=decisions, removed=removed)
        settled.extend(results.entries)
        chunk.clear()

    for _, rows in groupby(runner.stream(_TIED_ROWS), key=itemgetter(0)):
        if videos == TIED_VIDEOS:
            decide_chunk()
            videos = 0
        chunk.extend(map(_observation, rows))
        videos += 1
    if chunk:
        decide_chunk()
    if not settled:
        return
    import pyarrow as pa  # only here: a run with no tied videos never loads it

    verdicts = pa.table(
        {
            "video_id": [e.video_id for e in settled],
            "username": [e.username for e in settled],
            "username_folded": [e.username.casefold() for e in settled],
            "create_time": pa.array([e.create_time for e in settled], pa.int64()),
            "reasons": pa.array([mask_of_reasons(e.reasons) for e in settled], pa.int32()),
            "views": pa.array([e.views_at_cutoff for e in settled], pa.int64()),
            "basis": pa.array([BASES.index(e.views_basis) for e in settled], pa.int32()),
            "n_obs": pa.array([e.observations for e in settled], pa.int64()),
            "gap_s": pa.array([e.gap_s for e in settled], pa.int64()),
        }
    )
    con = runner.connection
    con.register("settled_verdicts", verdicts)
    try:
        con.execute(
            "UPDATE decided SET username = s.username, username_folded = s.username_folded,"
            " create_time = s.create_time, reasons = s.reasons, views = s.views,"
            " basis = s.basis, n_obs = s.n_obs, gap_s = s.gap_s, tied = 0"
            " FROM settled_verdicts AS s WHERE decided.video_id = s.video_id"
        )
    finally:
        con.unregister("settled_verdicts")


def _winners(
    campaign: Campaign, con: duckdb.DuckDBPyConnection, jury: Sequence[JuryPick]
) -> Winners:
    """The prizes from the first eligible entries, those the jury names and the first creators:
    enough of both rankings for the settlement to award what the whole of them would."""
    picks = [pick.video_id for pick in jury]
    ranked = [
        _entry(row)
        for row in con.execute(
            f"SELECT {_ENTRY} FROM ranked WHERE reasons = 0"
            " AND (pos <= ? OR list_contains(?, video_id)) ORDER BY pos",
            [PRIZES, picks],
        ).fetchall()
    ]
    creators = [
        CreatorTotal(username, int(views), tuple(ids), first_post, first_post_id)
        for username, views, ids, first_post, first_post_id in con.execute(
            "SELECT username, views, video_ids, first_post, first_post_id FROM creators"
            f" ORDER BY {_CREATOR_ORDER} LIMIT ?",
            [PRIZES],
        ).fetchall()
    ]
    return settle_ranked(campaign, ranked, creators, jury)


def _entry(row: Sequence[Any], flags: Mapping[str, tuple[Flag, ...]] | None = None) -> Entry:
    """An entry from a row of :data:`_ENTRY`, with its topic and flags when the row has them."""
    video_id, username, create_time, mask, views, basis, n_obs, gap_s, *screened = row
    reasons = reasons_of_mask(mask)
    topic, confidence = screened or (None, None)
    return Entry(video_id, username, create_time, not reasons, reasons, views, BASES[basis],
                 n_obs, gap_s, flags.get(video_id, ()) if flags else (), topic,
                 confidence)  # fmt: skip


class Streamed:
    """A campaign decided into the tables of a DuckDB connection, read back a batch at a time."""

    def __init__(
        self,
        campaign: Campaign,
        connection: duckdb.DuckDBPyConnection,
        winners: Winners,
        *,
        flags: Mapping[str, tuple[Flag, ...]] | None = None,
        phase: Phase | None = None,
    ) -> None:
        self.campaign = campaign
        self.connection = connection
        self.winners = winners
        self.flags = flags or {}
        self.phase = phase

    def _results(
        self,
        entries: tuple[Entry, ...] = (),
        creators: tuple[tuple[str, int, tuple[str, ...]], ...] = (),
    ) -> Results:
        return Results(self.campaign.id, self.campaign.cutoff, entries, self.winners, creators)

    def _batches(self, sql: str) -> Iterator[list[tuple[Any, ...]]]:
        """The rows of ``sql``, a batch of Python rows at a time."""
        cursor = self.connection.execute(sql)
        while rows := cursor.fetchmany(BATCH_ROWS):
            yield rows

    def creators(self) -> Iterator[list[tuple[str, int, tuple[str, ...]]]]:
        """Every creator with eligible entries, in rank order, a batch at a time."""
        sql = f"SELECT username, views, video_ids FROM creators ORDER BY {_CREATOR_ORDER}"
        for rows in self._batches(sql):
            yield [(username, int(views), tuple(ids)) for username, views, ids in rows]

    def counts(self) -> tuple[int, int, int]:
        """How many videos, eligible entries and eligible creators there are."""
        # fetchall, not fetchone: a result left unfinished would hold the connection.
        (row,) = self.connection.execute(
            "SELECT (SELECT count(*) FROM ranked), (SELECT count(*) FROM ranked WHERE reasons = 0),"
            " (SELECT count(*) FROM creators)"
        ).fetchall()
        return int(row[0]), int(row[1]), int(row[2])

    def summary(self, top: int = 20) -> Summary:
        """The winners, the first ``top`` entries and creators, and the counts."""
        con = self.connection
        first = tuple(
            _entry(row, flags=self.flags)
            for row in con.execute(
                f"SELECT {_SHOWN} FROM ranked WHERE reasons = 0 ORDER BY pos LIMIT ?", [top]
            ).fetchall()
        )
        creators = tuple(
            (username, int(views), tuple(ids))
            for username, views, ids in con.execute(
                f"SELECT username, views, video_ids FROM creators ORDER BY {_CREATOR_ORDER}"
                " LIMIT ?",
                [top],
            ).fetchall()
        )
        # Counter.most_common keeps reasons of equal counts in the order they were first met:
        # the first entry in rank order giving them, and the rules' order within an entry.
        columns = ", ".join(
            f"count(*) FILTER (WHERE reasons & {1 << i} <> 0),"
            f" min(pos) FILTER (WHERE reasons & {1 << i} <> 0)"
            for i in range(len(REASON_BITS))
        )
        (row,) = con.execute(f"SELECT {columns} FROM ranked").fetchall()
        found = [
            (int(row[2 * i]), int(row[2 * i + 1] or 0), i, name)
            for i, name in enumerate(REASON_BITS)
            if row[2 * i]
        ]
        found.sort(key=lambda r: (-r[0], r[1], r[2]))
        videos, eligible, n_creators = self.counts()
        return Summary(self.campaign.id, self.campaign.cutoff, self.winners, first, creators,
                       tuple((name, count) for count, _, _, name in found), videos, eligible,
                       n_creators, top)  # fmt: skip

    def write_json(self, out: BinaryIO) -> None:
        """Write the results as :func:`oyren.rules.results.results_json` would, a batch of
        entries at a time."""
        videos, _, n_creators = self.counts()
        outline = orjson.dumps(results_to_dict(self._results()), option=orjson.OPT_INDENT_2)
        head, rest = outline.split(b'"entries": []', 1)
        middle, tail = rest.split(b'"creators": []', 1)
        out.write(head + b'"entries": ')
        self._write_list(out, "writing entries", videos, self._entry_texts())
        out.write(middle + b'"creators": ')
        self._write_list(out, "writing creators", n_creators, self._creator_dicts())
        out.write(tail + b"\n")

    def _entry_texts(self) -> Iterator[list[bytes]]:
        texts = _EntryTexts(self.campaign.cutoff.tzinfo, self.flags)
        con = self.connection
        sql = texts.query(con, "ranked")
        # The rows come sorted out of a subquery: in that order only with the insertion order kept.
        ((kept,),) = con.execute("SELECT current_setting('preserve_insertion_order')").fetchall()
        con.execute("SET preserve_insertion_order = true")
        try:
            for rows in self._batches(sql):
                yield [text.encode() for (text,) in rows]
        finally:
            con.execute(f"SET preserve_insertion_order = {'true' if kept else 'false'}")

    def _creator_dicts(self) -> Iterator[list[Any]]:
        for batch in self.creators():
            yield results_to_dict(self._results(creators=tuple(batch)))["creators"]

    def _write_list(
        self,
        out: BinaryIO,
        description: str,
        total: int,
        batches: Iterator[list[Any]] | Iterator[list[bytes]],
    ) -> None:
        """A list one level into the document, as orjson indents it, from batches of items (or
        of their texts, already indented)."""
        done = 0
        if self.phase is not None:
            self.phase(description, 0, total)
        for items in batches:
            if not items:
                continue
            if isinstance(items[0], bytes):
                text = b",\n".join(items)
            else:
                # The batch as a list on its own is indented one level less than in the document.
                text = orjson.dumps(items, option=orjson.OPT_INDENT_2)[:-2].replace(b"\n", b"\n  ")
                text = text[2:]
            out.write((b"[\n" if done == 0 else b",\n") + text)
            done += len(items)
            if self.phase is not None:
                self.phase(description, done, total)
        out.write(b"\n  ]" if done else b"[]")


# An entry of the results' list as orjson writes it there (OPT_INDENT_2, two levels in): the
# values in the order of oyren.rules.results.results_to_dict, each written as orjson writes it.
_ENTRY_TEXT = (
    '    {{\n      "video_id": {video_id},\n      "username": {username},\n'
    '      "eligible": {eligible},\n      "reasons": {reasons},\n'
    '      "views_at_cutoff": {views},\n      "views_basis": {basis},\n'
    '      "create_time": {create_time},\n      "posted_at": {posted_at},\n'
    '      "observations": {n_obs},\n      "gap_s": {gap_s},\n      "flags": {flags},\n'
    '      "topic": {topic},\n      "topic_confidence": {confidence}\n    }}'
)
# The day 1970-01-01 as a proleptic Gregorian ordinal (date.fromordinal).
_EPOCH_DAY = date(1970, 1, 1).toordinal()
# What is nested in an entry (a list) is indented three levels further than on its own.
_NESTED = b"\n      "
# The escapes of control characters DuckDB's JSON writes with capital letters, orjson with small.
_CAPITAL_ESCAPES = ("000B", "000E", "000F", "001A", "001B", "001C", "001D", "001E", "001F")


def _json_string(column: str) -> str:
    """SQL writing the text ``column`` holds as orjson writes it (``null`` for NULL): DuckDB's
    JSON of it with the few escapes it spells differently put right (a test compares the two on
    every code point)."""
    text = f"to_json({column})::VARCHAR"
    for code in _CAPITAL_ESCAPES:
        text = f"replace({text}, '\\u{code}', '\\u{code.lower()}')"
    return f"COALESCE({text}, 'null')"


def _case(column: str, texts: Mapping[int, str]) -> str:
    """SQL giving ``texts[column]`` for the few values ``column`` takes."""
    whens = " ".join(f"WHEN {value} THEN {sql_literal(text)}" for value, text in texts.items())
    return f"CASE {column} {whens} END" if texts else "NULL"


def _hour(column: str) -> str:
    """SQL of the hour since the epoch holding the instant ``column`` (floored, as Python's //)."""
    return f"(({column} - ((({column} % 3600) + 3600) % 3600)) // 3600)"


def _plain(column: str) -> str:
    """SQL telling whether DuckDB writes the DOUBLE ``column`` as orjson does: zero, and from
    1e-4 on below 1e15 (both write the shortest decimal that reads back; below, they write
    exponents differently; a test compares the two)."""
    return f"({column} = 0 OR (abs({column}) >= 1e-4 AND abs({column}) < 1e15))"


class _EntryTexts:
    """Rows of a ranked table written as entries of the results' JSON by the database, without
    building the entries in Python: byte for byte what :func:`oyren.rules.results.results_json`
    writes for them (a test compares the two on generated entries). Python writes only what
    takes few values (reasons, bases, the zone's offset of each hour) and the flags of the few
    videos flagged."""

    def __init__(self, tz: tzinfo | None, flags: Mapping[str, tuple[Flag, ...]]) -> None:
        self.tz = tz
        self.flags = flags
        # Per hour since the epoch: the zone's offset in seconds and as isoformat writes it, or
        # None for an hour in which the offset changes.
        self.hours: dict[int, tuple[int, bytes] | None] = {}
        self.days: dict[int, bytes] = {}

    def posted_at(self, ts: int) -> bytes:
        """``datetime.fromtimestamp(ts, tz).isoformat()`` as a JSON string, from the offset of
        the hour and the date of the day, each worked out once. An hour that ends with the
        offset it began with is taken to keep it throughout (no zone changes its offset twice
        within an hour); an hour in which it changes is written by datetime itself."""
        known = self.offset(ts // 3600)
        if known is None:
            return orjson.dumps(datetime.fromtimestamp(ts, tz=self.tz).isoformat())
        shift, suffix = known
        day, second = divmod(ts + shift, 86_400)
        text = self.days.get(day)
        if text is None:
            text = self.days[day] = date.fromordinal(_EPOCH_DAY + day).isoformat().encode()
        minutes, s = divmod(second, 60)
        return b'"%bT%02d:%02d:%02d%b"' % (text, minutes // 60, minutes % 60, s, suffix)

    def offset(self, hour: int) -> tuple[int, bytes] | None:
        """The zone's offset through the hour ``hour`` since the epoch, in seconds and as
        isoformat writes it; None when it changes within the hour."""
        if hour not in self.hours:
            start = datetime.fromtimestamp(hour * 3600, tz=self.tz)
            offset = start.utcoffset()
            if (
                offset is None
                or offset != datetime.fromtimestamp(hour * 3600 + 3599, tz=self.tz).utcoffset()
            ):
                self.hours[hour] = None
            else:
                self.hours[hour] = (int(offset.total_seconds()), start.isoformat()[19:].encode())
        return self.hours[hour]

    def query(self, con: duckdb.DuckDBPyConnection, relation: str) -> str:
        """The query writing each row of ``relation`` (the columns of :data:`_SHOWN` and
        ``pos``) as its entry, in order of ``pos``; the few tables it joins are made on ``con``
        first."""
        # What takes few values, read in one pass: the hours posted in, the masks of reasons, and
        # the confidences DuckDB does not write as orjson does.
        ((hours, masks, odd),) = con.execute(
            f"SELECT COALESCE(list(DISTINCT {_hour('create_time')}), []),"
            " COALESCE(list(DISTINCT reasons), []),"
            f" COALESCE(list(DISTINCT confidence) FILTER (WHERE NOT {_plain('confidence')}), [])"
            f" FROM {relation}"
        ).fetchall()
        regular = {hour: known for hour in hours if (known := self.offset(hour)) is not None}
        changing = [hour for hour in hours if hour not in regular]
        instants = [row[0] for row in con.execute(
            f"SELECT DISTINCT create_time FROM {relation}"
            f" WHERE list_contains(?, {_hour('create_time')})",
            [changing],
        ).fetchall()] if changing else []  # fmt: skip
        flagged = sorted(self.flags.items())
        con.execute(
            "CREATE OR REPLACE TEMP TABLE entry_hours AS SELECT unnest(?::BIGINT[]) AS hour,"
            " unnest(?::BIGINT[]) AS shift, unnest(?::VARCHAR[]) AS suffix",
            [list(regular), [known[0] for known in regular.values()],
             [known[1].decode() for known in regular.values()]],
        )  # fmt: skip
        con.execute(
            "CREATE OR REPLACE TEMP TABLE entry_instants AS SELECT unnest(?::BIGINT[]) AS ts,"
            " unnest(?::VARCHAR[]) AS text",
            [instants, [self.posted_at(ts).decode() for ts in instants]],
        )
        con.execute(
            "CREATE OR REPLACE TEMP TABLE entry_flags AS SELECT unnest(?::VARCHAR[]) AS video_id,"
            " unnest(?::VARCHAR[]) AS text",
            [[video_id for video_id, _ in flagged],
             [_flags_text(flags) for _, flags in flagged]],
        )  # fmt: skip
        con.execute(
            "CREATE OR REPLACE TEMP TABLE entry_confidences AS"
            " SELECT unnest(?::DOUBLE[]) AS confidence, unnest(?::VARCHAR[]) AS text",
            [odd, [orjson.dumps(value).decode() for value in odd]],
        )
        reasons = {
            mask: orjson.dumps(list(reasons_of_mask(mask)), option=orjson.OPT_INDENT_2)
            .replace(b"\n", _NESTED)
            .decode()
            for mask in sorted(masks)
        }
        text = _ENTRY_TEXT.format(
            video_id="', " + _json_string("r.video_id") + ", '",
            username="', " + _json_string("r.username") + ", '",
            eligible="', CASE WHEN r.reasons = 0 THEN 'true' ELSE 'false' END, '",
            reasons="', " + _case("r.reasons", reasons) + ", '",
            views="', r.views::VARCHAR, '",
            basis="', "
            + _case("r.basis", {i: orjson.dumps(b).decode() for i, b in enumerate(BASES)})
            + ", '",
            create_time="', r.create_time::VARCHAR, '",
            posted_at="', COALESCE(r.instant_text, concat('\"', strftime(make_timestamp("
            "(r.create_time + r.shift) * 1000000), '%Y-%m-%dT%H:%M:%S'), r.suffix, '\"')), '",
            n_obs="', r.n_obs::VARCHAR, '",
            gap_s="', COALESCE(r.gap_s::VARCHAR, 'null'), '",
            flags="', COALESCE(r.flags_text, '[]'), '",
            topic="', " + _json_string("r.topic") + ", '",
            confidence="', CASE WHEN r.confidence IS NULL THEN 'null'"
            f" WHEN {_plain('r.confidence')} THEN r.confidence::VARCHAR"
            " ELSE r.confidence_text END, '",
        )
        # Sorted before the texts are made, so that the sort holds the rows' few values and not
        # their texts (25-35 MiB more at the peak of 100,000 entries); the order is kept when the
        # query runs with preserve_insertion_order (see Streamed._entry_texts).
        return (
            f"SELECT concat('{text}') FROM ("
            "SELECT r.*, h.shift, h.suffix, i.text AS instant_text, f.text AS flags_text,"
            f" c.text AS confidence_text FROM {relation} AS r"
            f" LEFT JOIN entry_hours AS h ON h.hour = {_hour('r.create_time')}"
            " LEFT JOIN entry_instants AS i ON i.ts = r.create_time"
            " LEFT JOIN entry_flags AS f ON f.video_id = r.video_id"
            " LEFT JOIN entry_confidences AS c ON c.confidence = r.confidence"
            " ORDER BY r.pos) AS r"
        )


def _flags_text(flags: tuple[Flag, ...]) -> str:
    """A video's flags as they stand in its entry."""
    if not flags:
        return "[]"
    text = orjson.dumps([flag_to_dict(f) for f in flags], option=orjson.OPT_INDENT_2)
    return text.replace(b"\n", _NESTED).decode()


@contextmanager
def _watched(
    con: duckdb.DuckDBPyConnection, description: str, phase: Phase | None, *, upto: int = 100
) -> Iterator[None]:
    """Report DuckDB's progress through the queries the block runs (polled from a thread), as
    0 to ``upto`` of 100, never going back."""
    if phase is None:
        yield
        return
    phase(description, 0, 100)
    with polled(con, lambda done: phase(description, int(done * upto / 100), 100)):
        yield
    phase(description, upto, 100)
