"""Whether a file is Parquet, Öyrən's mark and folded hashtag lists, without pyarrow."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from oyren.inputs import columnar
from oyren.inputs.folded import FOLDED_MARK, folded_tags, is_parquet
from oyren.rules.hashtags import fold


def test_is_parquet_by_suffix_in_any_case():
    assert is_parquet(Path("a/observations.parquet"))
    assert is_parquet(Path("OBS.PARQUET"))
    assert not is_parquet(Path("observations.jsonl"))
    assert not is_parquet(Path("parquet"))  # a name with no suffix
    assert not is_parquet(Path("observations.parquet.csv"))


def test_folded_tags_keep_each_folded_form_once_in_order_of_first_appearance():
    tags = ["Öyrən", "ÖYRƏN", "ＴｉｋＴｏｋ", "tiktok", "Elm"]
    assert folded_tags(tags) == [fold("Öyrən"), "tiktok", "elm"]
    assert folded_tags([]) == []


def test_the_mark_is_the_one_the_columnar_schema_carries():
    assert columnar.SCHEMA.metadata == {FOLDED_MARK: b"1"}
    assert columnar.folded_tags is folded_tags and columnar.is_parquet is is_parquet


def test_importing_it_does_not_load_pyarrow():
    code = "import sys, oyren.inputs.folded; print('pyarrow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
