"""The query plan on Spark: a campaign past one machine, from observations exported as Parquet.

Optional: ``pip install 'oyren[spark]'`` (PySpark, with Java 17). The plan is the one of
:mod:`oyren.batch.plan`, transpiled to Spark SQL; the observations are a Parquet file (or folder)
Öyrən wrote, read by Spark itself, so nothing but the per-video rows comes back to this process.
The session is Spark's own: ``spark-submit --master …`` or ``PYSPARK_SUBMIT_ARGS`` pick the
cluster, and without either it runs in local mode on this machine's cores.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from oyren.batch.evaluate import decide_with
from oyren.batch.plan import PlanEngine
from oyren.errors import OyrenError
from oyren.inputs.judgments import Judgment
from oyren.inputs.removals import Removal
from oyren.rules.campaign import Campaign
from oyren.rules.decisions import Decision
from oyren.rules.results import Results

__all__ = ["SparkPlan", "available", "decide_on_spark", "local_session"]


def available() -> bool:
    """True when PySpark can be imported."""
    import importlib.util

    return importlib.util.find_spec("pyspark") is not None


def local_session(master: str | None = None) -> Any:
    """A Spark session: the configured master, else local mode on every core."""
    if not available():
        raise OyrenError("Spark is not installed: pip install 'oyren[spark]' (needs Java 17)")
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.appName("oyren")
    if master:
        builder = builder.master(master)
    builder = builder.config("spark.ui.enabled", "false")
    session = builder.config("spark.ui.showConsoleProgress", "false").getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session


class SparkPlan:
    """The plan's relations as temporary views of a Spark session, over a Parquet path."""

    def __init__(self, session: Any, path: Path | str) -> None:
        from pyspark.sql import functions as f

        self.session = session
        frame = session.read.parquet(str(path))
        # Ids increase with the position in the file, which orders videos by first appearance.
        frame = frame.withColumn("video_id", f.col("id")).withColumn(
            "row_ordinal", f.monotonically_increasing_id()
        )
        frame.createOrReplaceTempView("observations")
        self.load({}, frozenset())

    def __call__(self, sql: str) -> Sequence[Sequence[Any]]:
        """Run ``sql`` on the session and return its rows."""
        return [tuple(row) for row in self.session.sql(sql).collect()]

    def load(self, decisions: Mapping[str, Decision], removed: frozenset[str]) -> None:
        """The decisions in force and the removals as views."""
        rows = [(k, d.action) for k, d in sorted(decisions.items())]
        frame = self.session.createDataFrame(rows, "video_id string, action string")
        frame.createOrReplaceTempView("decisions")
        gone = self.session.createDataFrame([(k,) for k in sorted(removed)], "video_id string")
        gone.createOrReplaceTempView("removed")


def decide_on_spark(
    campaign: Campaign,
    session: Any,
    path: Path | str,
    *,
    decisions: Sequence[Decision] = (),
    removals: Sequence[Removal] = (),
    judgments: Sequence[Judgment] = (),
) -> Results:
    """Decide ``campaign`` from the Parquet observations at ``path`` with the plan on Spark."""
    runner = SparkPlan(session, path)
    plan = PlanEngine(campaign, runner, "spark")
    plan.loaded = runner.load
    return decide_with(
        plan, decisions=decisions, removals=removals, judgments=judgments, screen=False
    )
