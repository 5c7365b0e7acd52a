"""What a file of observations is and how its hashtags fold, without the columnar libraries.

:mod:`oyren.inputs.columnar` writes and reads Parquet with pyarrow; deciding whether a path is
Parquet, recognizing Öyrən's mark and folding a hashtag list need none of it, so a run that
never touches pyarrow (the query plan reading a JSONL file) does not load it.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from oyren.rules.hashtags import fold

__all__ = ["FOLDED_MARK", "folded_tags", "is_parquet"]

# The key in a Parquet file's metadata marking rows validated and folded when Öyrən wrote them.
FOLDED_MARK = b"oyren.observations"


def is_parquet(path: Path) -> bool:
    """True when ``path`` names a Parquet file (by its suffix)."""
    return path.suffix.lower() == ".parquet"


def folded_tags(tags: Iterable[str]) -> list[str]:
    """The distinct folded forms of ``tags``, in order of first appearance."""
    return list(dict.fromkeys(fold(tag) for tag in tags))
