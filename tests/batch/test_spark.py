"""The plan on Spark through :mod:`oyren.batch.spark` (skipped with the reason without PySpark)."""

from __future__ import annotations

from pathlib import Path

import pytest

from oyren.batch.runs import RunInputs, run_files
from oyren.batch.spark import available, decide_on_spark, local_session
from oyren.errors import OyrenError
from oyren.inputs.columnar import to_parquet
from oyren.rules.campaign import load_campaign
from oyren.rules.results import results_to_dict

ROOT = Path(__file__).resolve().parents[2]
SANDBOX = load_campaign(ROOT / "src" / "oyren" / "data" / "sandbox-2024.toml")

spark_only = pytest.mark.skipif(
    not available(), reason="pyspark is not installed: pip install 'oyren[spark]' (needs Java 17)"
)


@spark_only
def test_a_simulated_campaign_decides_on_spark_as_in_python(tmp_path):
    from oyren.sandbox.simulate import write_simulation

    jsonl = tmp_path / "sim.jsonl"
    write_simulation(SANDBOX, jsonl, videos=200, seed=5, observations_per_video=5)
    parquet = tmp_path / "sim.parquet"
    to_parquet(jsonl, parquet)
    python = run_files(SANDBOX, RunInputs(jsonl), engine="python", screen=False)
    session = local_session("local[1]")
    try:
        spark = decide_on_spark(SANDBOX, session, parquet)
    finally:
        session.stop()
    assert results_to_dict(spark) == results_to_dict(python)


@pytest.mark.skipif(available(), reason="pyspark is installed")
def test_without_pyspark_the_session_says_how_to_install_it():
    with pytest.raises(OyrenError, match=r"oyren\[spark\]"):
        local_session()
