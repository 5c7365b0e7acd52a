"""JSONL files of small records (decisions, removals, judgments): one JSON object per line.

:func:`json_objects` reads such a file and yields each object with its line number, raising
:class:`~oyren.errors.InputError` naming the file and line for a line that is not a JSON object.
Each reader then checks its own fields. (Observation files, which can hold millions of lines, have
their own streaming readers in :mod:`oyren.inputs.observations` and :mod:`oyren.inputs.fastlane`.)
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from oyren.errors import InputError

__all__ = [
    "MAX_DEPTH",
    "MAX_ID_DIGITS",
    "MAX_TIMESTAMP",
    "MAX_VIDEO_ID",
    "MIN_TIMESTAMP",
    "check_keys_once",
    "json_objects",
    "keys_may_repeat",
    "plausible_time",
    "tiktok_video_id",
]

MAX_DEPTH = 64
"""Objects and arrays nested deeper than this are refused where keys are checked: no record
nests more than a few levels, and the standard parser that checks them recurses per level."""
MAX_VIDEO_ID = 2**64 - 1
"""TikTok's video ids are unsigned 64-bit numbers (19 digits today)."""
MAX_ID_DIGITS = len(str(MAX_VIDEO_ID))  # 20
# Earliest and latest plausible Unix seconds: musical.ly (TikTok's predecessor) launched in 2014,
# and nothing we read is from beyond 2100. Outside that a timestamp is a unit or typing mistake
# (and one past year 9999 cannot even be shown as a date).
MIN_TIMESTAMP = 1_388_534_400  # 2014-01-01T00:00:00Z
MAX_TIMESTAMP = 4_102_444_800  # 2100-01-01T00:00:00Z

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
        check_keys_once(raw, record, path=name, line=number)
        yield number, record


def keys_may_repeat(raw: bytes, record: dict[str, Any]) -> bool:
    """Tell whether the JSON text ``raw`` of ``record`` might name a key twice.

    orjson keeps the last of repeated keys without a word. Each key is written ``"key":``
    unless whitespace stands before its colon; so when no whitespace stands before any colon,
    the text holds at least as many ``":`` as keys, and one more than ``record`` has keys only
    if some key repeats (or a value holds ``":``, or an object is nested). Equal counts prove
    that none repeats, at the cost of a few byte scans.
    """
    return raw.count(b'":') != len(record) or b" :" in raw or b"\t:" in raw or b"\r:" in raw


class _Repeated(Exception):
    def __init__(self, key: str) -> None:
        self.key = key


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise _Repeated(key)
        seen[key] = value
    return seen


def check_keys_once(raw: bytes, record: dict[str, Any], *, path: str, line: int) -> None:
    """Raise :class:`InputError` naming the key when an object in ``raw`` repeats one.

    No API sends an object with a key twice, and which of the two values counts is up to the
    parser: such a line is refused. The exact check runs only when :func:`keys_may_repeat`.
    """
    if not keys_may_repeat(raw, record):
        return
    if _nested_deeper_than(record, MAX_DEPTH):
        raise InputError(
            f"objects or arrays nested more than {MAX_DEPTH} levels deep", path=path, line=line
        )
    try:
        json.loads(raw, object_pairs_hook=_pairs)
    except _Repeated as repeated:
        raise InputError(
            "the key appears twice in one object: which value counts is ambiguous",
            path=path,
            line=line,
            field=repeated.key[:64],
        ) from None
    except ValueError:  # orjson read it; a parser disagreement is not ours to report
        return


def _nested_deeper_than(value: object, limit: int) -> bool:
    """Tell whether ``value`` (parsed JSON) nests objects or arrays over ``limit`` levels deep.

    Walks with a stack of its own: orjson reads up to 1,024 levels, past Python's recursion limit.
    """
    pending: list[tuple[dict[str, Any] | list[Any], int]] = []
    if isinstance(value, dict | list):
        pending.append((value, 1))
    while pending:
        item, depth = pending.pop()
        if depth > limit:
            return True
        children = item.values() if isinstance(item, dict) else item
        pending.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def plausible_time(
    seconds: int, *, path: str, line: int | None, field: str, earliest: int = MIN_TIMESTAMP
) -> int:
    """``seconds`` if it falls between ``earliest`` (2014 unless given) and 2100, else
    :class:`InputError` naming the field."""
    if not earliest <= seconds < MAX_TIMESTAMP:
        since = datetime.fromtimestamp(earliest, UTC).year
        raise InputError(
            f"{seconds} is not a plausible time (Unix seconds between {since} and 2100)",
            path=path,
            line=line,
            field=field,
        )
    return seconds


def tiktok_video_id(value: object, *, path: str, line: int | None, field: str) -> str:
    """``value`` as a TikTok video id (digits only), or :class:`InputError` naming the field."""
    if isinstance(value, int) and not isinstance(value, bool):
        if not 0 <= value <= MAX_VIDEO_ID:
            raise InputError(
                "must be a TikTok video id: a whole number from 0 to 2^64-1",
                path=path,
                line=line,
                field=field,
            )
        return str(value)
    if not isinstance(value, str):
        raise InputError("must be a TikTok video id", path=path, line=line, field=field)
    text = value.strip()
    if not (text.isascii() and text.isdigit() and len(text) <= MAX_ID_DIGITS):
        shown = value[:40].encode("unicode_escape").decode("ascii")
        raise InputError(
            f"must be a TikTok video id: 1 to {MAX_ID_DIGITS} digits, not '{shown}'",
            path=path,
            line=line,
            field=field,
        )
    return text
