"""One-shot runs over files: the inputs of a campaign's decision, read and handed to the engine.

``oyren run`` and ``oyren verify`` both come here, so a result computed from files and one
recomputed from an audit bundle go through the same reading and the same engine. Judgments are
read after the observations because every id they name must be a video of the campaign.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb

from oyren.batch.entry import entered
from oyren.batch.evaluate import decide
from oyren.batch.plan import duckdb_plan, run_files_plan
from oyren.batch.stream import Decided, InMemory, Phase, decide_streamed
from oyren.errors import InputError
from oyren.inputs.decisions import read_decisions
from oyren.inputs.grouping import read_videos
from oyren.inputs.judgments import read_judgments
from oyren.inputs.observations import SkipReport
from oyren.inputs.removals import read_removals
from oyren.rules.campaign import Campaign
from oyren.rules.results import Results

__all__ = ["ENGINES", "RunInputs", "decided_files", "run_files"]

# The engines a run can decide with: the query plan on DuckDB or on Spark (the optional extra),
# or the pure rules in Python.
ENGINES = ("duckdb", "python", "spark")


@dataclass(frozen=True, slots=True)
class RunInputs:
    """The files a run decides from; only the observations are required."""

    observations: Path
    decisions: Path | None = None
    removed: Path | None = None
    judgments: Path | None = None


def run_files(
    campaign: Campaign,
    inputs: RunInputs,
    *,
    skip: SkipReport | None = None,
    screen: bool = True,
    engine: str = "python",
    progress: Callable[[int], None] | None = None,
) -> Results:
    """Read the inputs (raising InputError naming file, line and field) and decide the campaign.

    ``engine`` "duckdb" decides with the query plan (:mod:`oyren.batch.plan`), reading JSONL, CSV
    or Parquet and calling ``progress`` with the bytes (Parquet: rows) read; "python" with the
    pure rules in memory; "spark" with the plan on Spark (screening, which is not part of the
    plan, is not done there). All give the same results.
    """
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {ENGINES}")
    if engine == "duckdb":
        return run_files_plan(
            campaign, inputs.observations, decisions=inputs.decisions, removed=inputs.removed,
            judgments=inputs.judgments, skip=skip, screen=screen, progress=progress,
        )  # fmt: skip
    if engine == "spark":
        return _run_on_spark(campaign, inputs, skip=skip, progress=progress)
    from oyren.inputs.columnar import read_observation_file

    decisions = read_decisions(inputs.decisions) if inputs.decisions else []
    removals = read_removals(inputs.removed) if inputs.removed else []
    observations = read_observation_file(inputs.observations, skip=skip)
    videos = read_videos(observations, cutoff=campaign.cutoff_ts)
    judgments = read_judgments(inputs.judgments, videos.keys()) if inputs.judgments else []
    return decide(
        campaign, videos, decisions=decisions, removals=removals, judgments=judgments, screen=screen
    )


@contextmanager
def decided_files(
    campaign: Campaign,
    inputs: RunInputs,
    *,
    skip: SkipReport | None = None,
    screen: bool = True,
    engine: str = "python",
    progress: Callable[[int], None] | None = None,
    phase: Phase | None = None,
) -> Iterator[Decided]:
    """:func:`run_files` for showing or writing the results: on DuckDB they are streamed
    (:mod:`oyren.batch.stream`: memory bounded whatever the number of videos, and ``phase`` told
    how far each step of the plan has got), with the screener's flags and topics unless
    ``screen`` is off; on the other engines they are held in memory."""
    if engine != "duckdb":
        yield InMemory(run_files(campaign, inputs, skip=skip, screen=screen, engine=engine,
                                 progress=progress))  # fmt: skip
        return
    decisions = read_decisions(inputs.decisions) if inputs.decisions else []
    removals = read_removals(inputs.removed) if inputs.removed else []
    with (
        entered(inputs.observations, skip=skip, progress=progress) as parquet,
        duckdb_plan(parquet) as runner,
    ):
        judgments = []
        if inputs.judgments:
            ids = {row[0] for row in runner(_VIDEO_IDS)}
            judgments = read_judgments(inputs.judgments, ids)
        try:
            yield decide_streamed(campaign, runner, decisions=decisions, removals=removals,
                                  judgments=judgments, screen=screen, phase=phase)  # fmt: skip
        except duckdb.Error as exc:
            raise InputError(
                f"the query plan failed ({exc})", path=str(inputs.observations)
            ) from None


def _run_on_spark(
    campaign: Campaign,
    inputs: RunInputs,
    *,
    skip: SkipReport | None,
    progress: Callable[[int], None] | None,
) -> Results:
    """The plan on the configured Spark session, from the observations as Öyrən's Parquet."""
    from oyren.batch.spark import SparkPlan, decide_on_spark, local_session

    decisions = read_decisions(inputs.decisions) if inputs.decisions else []
    removals = read_removals(inputs.removed) if inputs.removed else []
    session = local_session()
    try:
        with entered(inputs.observations, skip=skip, progress=progress, whole=True) as parquet:
            judgments = []
            if inputs.judgments:
                ids = {row[0] for row in SparkPlan(session, parquet)(_VIDEO_IDS)}
                judgments = read_judgments(inputs.judgments, ids)
            return decide_on_spark(campaign, session, parquet, decisions=decisions,
                                   removals=removals, judgments=judgments)  # fmt: skip
    finally:
        session.stop()


_VIDEO_IDS = "SELECT DISTINCT video_id FROM observations"
