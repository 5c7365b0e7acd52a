"""The bulk simulator: deterministic Parquet chunks that both engines decide alike."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq

from oyren.batch.entry import folded_parquet
from oyren.batch.runs import RunInputs, run_files
from oyren.inputs.columnar import read_parquet_observations
from oyren.rules.campaign import load_campaign
from oyren.rules.results import results_to_dict
from oyren.sandbox import bulk

ROOT = Path(__file__).resolve().parents[2]
SANDBOX = load_campaign(ROOT / "src" / "oyren" / "data" / "sandbox-2024.toml")


def test_bulk_writes_valid_folded_parquet_in_chunks(tmp_path, monkeypatch):
    monkeypatch.setattr(bulk, "CHUNK_VIDEOS", 700)  # several row groups from a small campaign
    path = tmp_path / "bulk.parquet"
    seen = []
    written = bulk.write_bulk(SANDBOX, path, videos=2000, seed=4, progress=seen.append)
    assert seen == [700, 700, 600]
    parquet = pq.ParquetFile(path)
    assert parquet.metadata.num_row_groups == 3 and parquet.metadata.num_rows == written
    assert folded_parquet(path)  # Öyrən's schema and mark: `oyren run` reads it as it stands
    observations = list(read_parquet_observations(path))  # every row passes the validation
    assert len(observations) == written and 2000 < written < 2000 * 15
    assert len({o.video_id for o in observations}) == 2000


def test_bulk_campaigns_hold_every_kind_of_video_and_both_engines_agree(tmp_path):
    path = tmp_path / "bulk.parquet"
    bulk.write_bulk(SANDBOX, path, videos=3000, seed=2, observations_per_video=6)
    plan = run_files(SANDBOX, RunInputs(path), engine="duckdb", screen=False)
    assert results_to_dict(plan) == results_to_dict(
        run_files(SANDBOX, RunInputs(path), engine="python", screen=False)
    )
    reasons = Counter(r for e in plan.entries for r in e.reasons)
    for reason in ("no_campaign_hashtag", "outside_window", "too_short", "outside_region",
                   "region_unknown", "partner_account"):  # fmt: skip
        assert reasons[reason] > 0, reason
    bases = Counter(e.views_basis for e in plan.entries)
    assert set(bases) == {"observed", "interpolated", "last_before_cutoff", "from_creation"}


def test_the_same_seed_writes_the_same_observations(tmp_path):
    a, b = tmp_path / "a.parquet", tmp_path / "b.parquet"
    bulk.write_bulk(SANDBOX, a, videos=500, seed=9)
    bulk.write_bulk(SANDBOX, b, videos=500, seed=9)
    assert pq.read_table(a).equals(pq.read_table(b))
