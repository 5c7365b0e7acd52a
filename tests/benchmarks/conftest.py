"""The benchmarks' own modules (comparison methods that are not part of the product) import as
top-level modules, as they do when a benchmark runs as a script."""

from __future__ import annotations

import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
if str(BENCHMARKS) not in sys.path:
    sys.path.insert(0, str(BENCHMARKS))
