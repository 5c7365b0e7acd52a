"""JSONL files of small records (decisions, removals, judgments): one JSON object per line.

:func:`json_objects` reads such a file and yields each object with its line number, raising
:class:`~oyren.errors.InputError` naming the file and line for a line that is not a JSON object.
Each reader then checks its own fields. (Observation files, which can hold millions of lines, have
their own streaming readers in :mod:`oyren.inputs.observations` and :mod:`oyren.inputs.fastlane`.)
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from oyren.errors import InputError

__all__ = ["json_objects"]

_BOM = b"\xef\xbb\xbf"


def json_objects(path: str | Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield (line number, object) for each non-blank line of a JSONL file."""
    p = Path(path)
    name = str(p)
    try:
        lines = p.read_bytes().splitlines()
    except OSError as exc:
        raise InputError(f"cannot open: {exc.strerror}", path=name) from None
    for number, raw in enumerate(lines, start=1):
        if number == 1 and raw.startswith(_BOM):
            raw = raw[len(_BOM) :]  # a byte-order mark some editors add; not part of the JSON
        if not raw.strip():
            continue
        try:
            record = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise InputError(f"not valid JSON ({exc})", path=name, line=number) from None
        if not isinstance(record, dict):
            raise InputError("expected a JSON object", path=name, line=number)
        yield number, record
