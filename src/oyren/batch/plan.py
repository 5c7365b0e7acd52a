"""The batch engine as one query plan: DuckDB by default, the same plan on PostgreSQL and Spark.

The plan is SQL written once (in DuckDB's dialect) and transpiled with sqlglot to PostgreSQL and
Spark SQL. It groups a campaign's observations into videos, reconstructs views at the deadline
(observed / interpolated / last before the cutoff / from creation, integers rounded half up),
picks each video's metadata as at the deadline and applies the rules, giving one row per video:
the same facts :func:`oyren.rules.engine.evaluate` computes, and which observation its metadata
came from (``meta_row``, its ``row_ordinal``; ``meta_tied`` when another observation ranks equal
with it there), where screening reads the rest of it (:mod:`oyren.batch.screen_plan`).
Ranking, tie-breaks and prizes then go through the pure engine's own
:func:`~oyren.rules.engine.settle_entries`, and the inputs (people's decisions in force,
removals, the jury's order) come from the one assembly,
:func:`oyren.batch.evaluate.decide_with`: the plan is a second engine, not a second set of rules.

What the plan reads, as relations (see :func:`plan_sql`):

- ``observations``: the columns of :data:`oyren.inputs.columnar.SCHEMA` (hashtags and usernames
  folded when the observation entered, so no engine needs Unicode folding) and ``row_ordinal``,
  the observation's position in its file, which orders videos by first appearance as the pure
  engine does;
- ``decisions`` (``video_id``, ``action``): the decision in force per video;
- ``removed`` (``video_id``): videos confirmed removed.

Exactness: every division is integer division of wide integers (HUGEINT, NUMERIC, DECIMAL(38,0)),
never floating point; string orders are by code point (DuckDB and Spark compare bytes, the
PostgreSQL tables are declared ``COLLATE "C"``). Two different observations of a video at its
metadata instant, equal in views, description and username, are settled by the pure rules
(:class:`~oyren.rules.videos.VideoGroups` compares whole records): the plan flags such videos and
they are decided in Python from their own observations, a handful at most.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import duckdb

from oyren.batch.entry import DEFAULT_MEMORY, entered, observations_sql
from oyren.batch.evaluate import decide_with
from oyren.errors import InputError
from oyren.inputs.decisions import read_decisions
from oyren.inputs.judgments import Judgment, read_judgments
from oyren.inputs.observations import SkipReport
from oyren.inputs.removals import read_removals
from oyren.rules import engine
from oyren.rules.awards import JuryPick
from oyren.rules.campaign import Campaign
from oyren.rules.decisions import Decision
from oyren.rules.eligibility import RuleSet
from oyren.rules.observations import Observation
from oyren.rules.results import Entry, Results
from oyren.rules.videos import collect_videos
from oyren.rules.views import BASES

if TYPE_CHECKING:
    import pyarrow as pa
    from sqlglot import exp

__all__ = [
    "DIALECTS",
    "REASON_BITS",
    "DuckPlan",
    "PlanEngine",
    "Runner",
    "entries_from_rows",
    "mask_of_reasons",
    "plan_sql",
    "reasons_of_mask",
    "run_plan",
    "settle_tied",
    "tied_rows_sql",
]

DIALECTS = ("duckdb", "postgres", "spark")

# How the metadata observation is picked among those at a video's metadata instant (the order of
# ``oyren.rules.videos.collect_videos``): the plan and screening's metadata query both use it.
META_ORDER = "o.view_count DESC, COALESCE(o.video_description, '') DESC, o.username DESC"

# Reasons as bits of one integer, in the order the pure rules report them.
REASON_BITS = (
    "no_campaign_hashtag",
    "outside_window",
    "duration_unknown",
    "too_short",
    "region_unknown",
    "outside_region",
    "partner_account",
    "removed",
    "excluded_by_moderator",
)

# Views at the deadline on the line through (t0, v0) and (t1, v1), rounded half up, as
# oyren.rules.views.interpolate: (2 * (v0 * (t1 - at) + v1 * (at - t0)) + span) // (2 * span).
# Both terms are non-negative, so truncating and flooring division agree on every engine.
_INTERPOLATE = (
    "CAST((2 * (CAST({v0} AS HUGEINT) * ({t1} - {at}) + CAST({v1} AS HUGEINT) * ({at} - {t0}))"
    " + ({t1} - {t0})) // (2 * CAST({t1} - {t0} AS HUGEINT)) AS BIGINT)"
)

# Each video's points around the deadline come from one aggregate over its observations, with no
# table of its points (one row per video and instant: the largest thing the plan would hold).
# An observation is packed into one exact wide integer, its instant above its views (0 to
# 2^63 - 1), so packed observations order as their instants, then their views: the largest
# packed observation before the deadline is the point at t0 with the larger of two counts at
# that instant, and its views are what is left after t0 * 2^63. After the deadline the views are
# packed upside down (2^63 - 1 - views), so that the smallest packed is the point at t1 with
# its larger count. A video's number of points is its number of distinct instants.
_SHIFT = str(2**63)
_TOP = str(2**63 - 1)
_PACKED = f"CAST(collected_at AS HUGEINT) * {_SHIFT} + view_count"
_PACKED_DOWN = f"CAST(collected_at AS HUGEINT) * {_SHIFT} + ({_TOP} - view_count)"

_PLAN = """
WITH bounds AS (
  SELECT
    video_id,
    list_unique(list(collected_at)) AS n_obs,
    MIN(row_ordinal) AS first_row,
    COALESCE(MAX(CASE WHEN collected_at <= {cutoff} THEN collected_at END), MIN(collected_at))
      AS meta_at,
    MAX(CASE WHEN collected_at < {cutoff} THEN collected_at END) AS t0,
    MIN(CASE WHEN collected_at > {cutoff} THEN collected_at END) AS t1,
    MAX(CASE WHEN collected_at < {cutoff} THEN {packed} END) AS last_before,
    MIN(CASE WHEN collected_at > {cutoff} THEN {packed_down} END) AS first_after,
    MAX(CASE WHEN collected_at = {cutoff} THEN view_count END) AS v_at
  FROM observations
  GROUP BY video_id
),
spans AS (
  SELECT
    video_id, n_obs, first_row, meta_at, v_at, t0, t1,
    CAST(last_before - CAST(t0 AS HUGEINT) * {shift} AS BIGINT) AS v0,
    CAST({top} - (first_after - CAST(t1 AS HUGEINT) * {shift}) AS BIGINT) AS v1
  FROM bounds
),
metas AS (
  SELECT
    o.video_id, o.username, o.username_folded, o.create_time, o.region_code, o.video_duration,
    o.hashtags_folded, o.row_ordinal AS meta_row,
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
ties AS (
  SELECT
    a.video_id,
    MAX(CASE WHEN b.pick > 1 AND (
      a.create_time IS DISTINCT FROM b.create_time
      OR a.region_code IS DISTINCT FROM b.region_code
      OR a.video_duration IS DISTINCT FROM b.video_duration
      OR a.hashtags_folded IS DISTINCT FROM b.hashtags_folded
    ) THEN 1 ELSE 0 END) AS tied,
    MAX(CASE WHEN b.pick > 1 THEN 1 ELSE 0 END) AS meta_tied
  FROM metas AS a
  JOIN metas AS b ON b.video_id = a.video_id AND b.place = 1
  WHERE a.pick = 1
  GROUP BY a.video_id
)
SELECT
  s.video_id AS video_id,
  m.username AS username,
  m.create_time AS create_time,
  (CASE WHEN m.create_time < {window_start} OR m.create_time > {cutoff} THEN 2 ELSE 0 END)
  + (CASE WHEN m.video_duration < {min_duration} THEN 8 ELSE 0 END)
  + (CASE WHEN m.region_code NOT IN ({regions}) THEN 32 ELSE 0 END)
  + (CASE WHEN m.username_folded IN ({partners}) THEN 64 ELSE 0 END)
  + (CASE WHEN r.video_id IS NOT NULL THEN 128 ELSE 0 END)
  + (CASE WHEN d.action = 'exclude' THEN 256 ELSE 0 END)
  + (CASE WHEN d.action = 'include' THEN 0 ELSE
      (CASE WHEN m.hashtags_folded && {hashtags} THEN 0 ELSE 1 END)
      + (CASE WHEN m.video_duration IS NULL THEN 4 ELSE 0 END)
      + (CASE WHEN m.region_code IS NULL THEN 16 ELSE 0 END)
    END) AS reasons,
  CASE
    WHEN s.v_at IS NOT NULL THEN s.v_at
    WHEN s.t0 IS NOT NULL AND s.t1 IS NOT NULL THEN {interpolated}
    WHEN s.t0 IS NOT NULL THEN s.v0
    WHEN m.create_time >= {cutoff} THEN 0
    WHEN s.t1 <= m.create_time THEN s.v1
    ELSE {from_creation}
  END AS views,
  CASE
    WHEN s.v_at IS NOT NULL THEN 0
    WHEN s.t0 IS NOT NULL AND s.t1 IS NOT NULL THEN 1
    WHEN s.t0 IS NOT NULL THEN 2
    ELSE 3
  END AS basis,
  s.n_obs AS n_obs,
  CASE
    WHEN s.v_at IS NOT NULL THEN 0
    WHEN s.t0 IS NOT NULL AND s.t1 IS NOT NULL THEN s.t1 - s.t0
  END AS gap_s,
  t.tied AS tied,
  s.first_row AS first_row,
  m.username_folded AS username_folded,
  m.meta_row AS meta_row,
  t.meta_tied AS meta_tied
FROM spans AS s
JOIN metas AS m ON m.video_id = s.video_id AND m.pick = 1
JOIN ties AS t ON t.video_id = s.video_id
LEFT JOIN decisions AS d ON d.video_id = s.video_id
LEFT JOIN removed AS r ON r.video_id = s.video_id
"""

# Every column of an observation the pure rules read, in the order ``_observation`` reads them:
# how the videos the plan leaves tied are fetched for the rules to settle.
TIED_COLUMNS = """
  o.id, o.username, o.create_time, o.collected_at, o.view_count, o.region_code,
  o.video_description, o.hashtag_names, o.video_duration, o.like_count, o.comment_count,
  o.share_count, o.music_id, o.voice_to_text
"""
# The observations of the videos the plan flagged as tied, in file order.
_TIED_ROWS = f"""
SELECT{TIED_COLUMNS}FROM observations AS o
WHERE o.video_id IN ({{ids}})
ORDER BY o.row_ordinal
"""


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _in_list(values: Sequence[str]) -> str:
    return ", ".join(_literal(v) for v in sorted(values)) if values else "NULL"


def _transform(dialect: str) -> Callable[[exp.Expression], exp.Expression]:
    """Rewrite the few constructs whose spelling differs between the engines."""
    from sqlglot import exp

    def rewrite(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.DataType) and node.this == exp.DataType.Type.INT128:
            # Exact wide integers: NUMERIC on PostgreSQL, DECIMAL(38, 0) on Spark.
            return exp.DataType.build("DECIMAL(38, 0)")
        if (
            isinstance(node, exp.Anonymous)
            and str(node.this).lower() == "list_unique"
            and isinstance(node.expressions[0], exp.ArrayAgg)
        ):
            # The number of distinct values, as the other engines count them.
            return exp.Count(this=exp.Distinct(expressions=[node.expressions[0].this]))
        if dialect == "spark" and isinstance(node, exp.ArrayOverlaps):
            return exp.Anonymous(this="ARRAYS_OVERLAP", expressions=[node.this, node.expression])
        return node

    return rewrite


def plan_sql(campaign: Campaign, dialect: str = "duckdb") -> str:
    """The plan deciding ``campaign``, in ``dialect`` (one of :data:`DIALECTS`)."""
    if dialect not in DIALECTS:
        raise ValueError(f"dialect must be one of {DIALECTS}")
    rules = RuleSet.of(campaign)
    cutoff = str(rules.cutoff)
    text = _PLAN.format(
        cutoff=cutoff,
        meta_order=META_ORDER,
        window_start=str(rules.window_start),
        min_duration=str(rules.min_duration_s),
        regions=_in_list(sorted(rules.regions)),
        partners=_in_list(sorted(rules.partners)),
        hashtags="[" + _in_list(sorted(rules.hashtags)) + "]",
        packed=_PACKED,
        packed_down=_PACKED_DOWN,
        shift=_SHIFT,
        top=_TOP,
        interpolated=_INTERPOLATE.format(v0="s.v0", t0="s.t0", v1="s.v1", t1="s.t1", at=cutoff),
        from_creation=_INTERPOLATE.format(
            v0="0", t0="m.create_time", v1="s.v1", t1="s.t1", at=cutoff
        ),
    )
    return _translate(text, dialect)


def tied_rows_sql(video_ids: Sequence[str], dialect: str = "duckdb") -> str:
    """The query fetching every observation of ``video_ids``, in file order."""
    return _translate(_TIED_ROWS.format(ids=_in_list(video_ids)), dialect)


def _translate(text: str, dialect: str) -> str:
    """The plan's SQL, written in DuckDB's dialect, in ``dialect``: as written for DuckDB (sqlglot,
    which a run on DuckDB then never loads, transpiles it for the others)."""
    if dialect == "duckdb":
        return text
    import sqlglot

    tree = sqlglot.parse_one(text, read="duckdb")
    return tree.transform(_transform(dialect)).sql(dialect=dialect)


class Runner(Protocol):
    """Runs a query on some engine holding the plan's relations and returns its rows."""

    def __call__(self, sql: str) -> Sequence[Sequence[Any]]:
        """Rows of ``sql``, each a sequence of Python values."""
        ...


def entries_from_rows(
    rows: Iterable[Sequence[Any]],
) -> tuple[list[tuple[int, Entry]], dict[str, int]]:
    """Entries from the plan's rows with the position of each video's first observation, and the
    videos it left tied (id to that position)."""
    reasons_of: dict[int, tuple[str, ...]] = {}
    entries: list[tuple[int, Entry]] = []
    tied: dict[str, int] = {}
    for video_id, username, create_time, mask, views, basis, n_obs, gap_s, tie, first, *_ in rows:
        if tie:
            tied[video_id] = int(first)
            continue
        reasons = reasons_of_mask(mask, reasons_of)
        entry = Entry(video_id, username, int(create_time), not reasons, reasons, int(views),
                      BASES[basis], int(n_obs), None if gap_s is None else int(gap_s))  # fmt: skip
        entries.append((int(first), entry))
    return entries, tied


def reasons_of_mask(mask: int, seen: dict[int, tuple[str, ...]] | None = None) -> tuple[str, ...]:
    """The reasons a mask of :data:`REASON_BITS` names, in the order the pure rules give them
    (``seen`` keeps those already built, since few masks occur)."""
    reasons = seen.get(mask) if seen is not None else None
    if reasons is None:
        reasons = tuple(name for i, name in enumerate(REASON_BITS) if mask >> i & 1)
        if seen is not None:
            seen[mask] = reasons
    return reasons


def mask_of_reasons(reasons: Iterable[str]) -> int:
    """The mask of :data:`REASON_BITS` naming ``reasons``."""
    return sum(1 << REASON_BITS.index(name) for name in set(reasons))


def _observation(row: Sequence[Any]) -> Observation:
    (video_id, username, create_time, collected_at, views, region, description, tags, duration,
     likes, comments, shares, music_id, voice) = row  # fmt: skip
    return Observation(video_id, username, int(create_time), int(collected_at), int(views), region,
                       description or "", tuple(tags or ()), duration, likes, comments, shares,
                       music_id, voice)  # fmt: skip


def run_plan(
    campaign: Campaign,
    runner: Runner,
    dialect: str,
    *,
    decisions: Mapping[str, Decision],
    removed: frozenset[str],
) -> list[Entry]:
    """Decide every video with the plan on ``runner``: entries in order of first appearance.

    Videos the plan flags as tied at their metadata instant are decided by the pure rules from
    their own observations (fetched with :func:`tied_rows_sql`), in their place.
    """
    entries, tied = entries_from_rows(runner(plan_sql(campaign, dialect)))
    settled = settle_tied(campaign, runner, dialect, tied, decisions=decisions, removed=removed)
    entries += [(tied[e.video_id], e) for e in settled]
    entries.sort(key=lambda pair: pair[0])
    return [entry for _, entry in entries]


def settle_tied(
    campaign: Campaign,
    runner: Runner,
    dialect: str,
    tied: Iterable[str],
    *,
    decisions: Mapping[str, Decision],
    removed: frozenset[str],
) -> list[Entry]:
    """The entries of the videos the plan left tied, decided by the pure rules from their own
    observations (a handful at most)."""
    ids = sorted(tied)
    if not ids:
        return []
    rows = runner(tied_rows_sql(ids, dialect))
    videos = collect_videos(map(_observation, rows), cutoff=campaign.cutoff_ts)
    settled = engine.evaluate(campaign, videos.values(), decisions=decisions, removed=removed)
    return list(settled.entries)


class PlanEngine:
    """The plan as an :class:`oyren.batch.evaluate.Engine`, on any engine that runs SQL."""

    def __init__(self, campaign: Campaign, runner: Runner, dialect: str = "duckdb") -> None:
        self.campaign = campaign
        self.runner = runner
        self.dialect = dialect
        self._decided: dict[tuple[Any, ...], list[Entry]] = {}
        self.loaded: Callable[[Mapping[str, Decision], frozenset[str]], None] | None = None

    def entries(self, decisions: Mapping[str, Decision], removed: frozenset[str]) -> list[Entry]:
        """Every video's entry, computed once per set of decisions and removals."""
        key = (tuple(sorted((k, d.action) for k, d in decisions.items())), tuple(sorted(removed)))
        found = self._decided.get(key)
        if found is None:
            if self.loaded is not None:
                self.loaded(decisions, removed)
            found = run_plan(self.campaign, self.runner, self.dialect, decisions=decisions,
                             removed=removed)  # fmt: skip
            self._decided = {key: found}
        return found

    def eligible_ids(
        self, decisions: Mapping[str, Decision], removed: frozenset[str]
    ) -> Sequence[str]:
        """The eligible videos' ids in rank order."""
        ranked = engine.settle_entries(self.campaign, list(self.entries(decisions, removed)))
        return [e.video_id for e in ranked.eligible]

    def results(
        self,
        decisions: Mapping[str, Decision],
        removed: frozenset[str],
        jury: Sequence[JuryPick],
        *,
        screen: bool,
    ) -> Results:
        """Decide every video and settle the prizes (screening, when on, adds its flags)."""
        entries = list(self.entries(decisions, removed))
        if screen:
            entries = self._screened(entries)
        return engine.settle_entries(self.campaign, entries, jury=jury)

    def _screened(self, entries: list[Entry]) -> list[Entry]:
        """Entries with the screener's flags and topics (screening informs people and is not
        part of the plan), from the observations as columns: see :mod:`oyren.batch.screen_plan`."""
        from oyren.batch.screen_plan import screen_entries

        return screen_entries(self.campaign, self.runner, self.dialect, entries)


@dataclass
class DuckPlan:
    """A DuckDB connection holding the plan's relations over one Parquet file of observations."""

    connection: duckdb.DuckDBPyConnection
    path: Path

    def __call__(self, sql: str) -> Sequence[Sequence[Any]]:
        """Run ``sql`` and return its rows."""
        return self.connection.execute(sql).fetchall()

    def columns(self, sql: str) -> pa.Table:
        """Run ``sql`` and return its result as columns."""
        return self.connection.sql(sql).to_arrow_table()

    def stream(self, sql: str) -> Iterator[tuple[Any, ...]]:
        """Run ``sql`` and yield its rows a batch at a time (memory stays that of one batch)."""
        cursor = self.connection.execute(sql)
        while batch := cursor.fetchmany(65_536):
            yield from batch

    def load(self, decisions: Mapping[str, Decision], removed: frozenset[str]) -> None:
        """Put the decisions in force and the removals in the connection's tables."""
        con = self.connection
        con.execute("CREATE OR REPLACE TABLE decisions (video_id VARCHAR, action VARCHAR)")
        con.execute("CREATE OR REPLACE TABLE removed (video_id VARCHAR)")
        if decisions:
            con.executemany(
                "INSERT INTO decisions VALUES (?, ?)",
                [(k, d.action) for k, d in sorted(decisions.items())],
            )
        if removed:
            con.executemany("INSERT INTO removed VALUES (?)", [(k,) for k in sorted(removed)])


@contextmanager
def duckdb_plan(path: Path, *, memory_limit: str | None = None) -> Iterator[DuckPlan]:
    """A DuckDB connection with ``observations`` over the Parquet file at ``path``."""
    # No progress bar: DuckDB draws it on standard output, where the results may be going.
    con = duckdb.connect(config={"preserve_insertion_order": False})
    try:
        con.execute("SET enable_progress_bar = false")
        con.execute(f"SET temp_directory = {_literal(tempfile.gettempdir())}")
        # DuckDB would take 80 % of the machine's memory; past this it spills to disk instead.
        limit = memory_limit or os.environ.get("OYREN_DUCKDB_MEMORY") or DEFAULT_MEMORY
        con.execute(f"SET memory_limit = {_literal(limit)}")
        con.execute(f"CREATE VIEW observations AS {observations_sql(path)}")
        runner = DuckPlan(con, path)
        runner.load({}, frozenset())
        yield runner
    finally:
        con.close()


def run_files_plan(
    campaign: Campaign,
    observations: Path,
    *,
    decisions: Path | None = None,
    removed: Path | None = None,
    judgments: Path | None = None,
    skip: SkipReport | None = None,
    screen: bool = True,
    progress: Callable[[int], None] | None = None,
) -> Results:
    """``oyren run`` with the plan on DuckDB: the inputs read as the pure path reads them."""
    decided = read_decisions(decisions) if decisions else []
    removals = read_removals(removed) if removed else []
    with (
        entered(observations, skip=skip, progress=progress) as parquet,
        duckdb_plan(parquet) as runner,
    ):
        given: list[Judgment] = []
        if judgments:
            ids = {row[0] for row in runner("SELECT DISTINCT video_id FROM observations")}
            given = read_judgments(judgments, ids)
        plan = PlanEngine(campaign, runner)
        plan.loaded = runner.load
        try:
            return decide_with(
                plan, decisions=decided, removals=removals, judgments=given, screen=screen
            )
        except duckdb.Error as exc:
            raise InputError(f"the query plan failed ({exc})", path=str(observations)) from None
