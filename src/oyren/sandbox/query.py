"""The sandbox API's reading of a video query: fields, body and the condition tree.

Checks what the real API documents (``start_date`` and ``end_date`` as ``YYYYMMDD`` at most 30
days apart, ``max_count`` up to 100, conditions with ``field_name``, ``operation`` and
``field_values``) and answers what is wrong in the message of a 400 ``invalid_params``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

import orjson

from oyren.collect.connectors.tiktok import MAX_COUNT, MAX_SPAN_DAYS, VIDEO_FIELDS
from oyren.sandbox.simulate import SimVideo

__all__ = ["BadRequest", "create_date", "id_filter", "matcher", "parse_body", "parse_fields"]

KNOWN_FIELDS = frozenset(
    {*VIDEO_FIELDS, "effect_ids", "playlist_id", "is_stem_verified", "favorites_count"}
)
CONDITION_FIELDS = frozenset(
    {
        "create_date",
        "username",
        "region_code",
        "video_id",
        "hashtag_name",
        "keyword",
        "music_id",
        "effect_id",
        "video_length",
    }
)
OPERATIONS = frozenset({"EQ", "IN", "GT", "GTE", "LT", "LTE"})


class BadRequest(Exception):
    """A request the API answers with 400 ``invalid_params``; the message says why."""


def create_date(video: SimVideo) -> str:
    """The UTC date a video was posted, as ``YYYYMMDD``."""
    return datetime.fromtimestamp(video.create_time, tz=UTC).strftime("%Y%m%d")


def parse_fields(query: str) -> list[str]:
    values = parse_qs(query).get("fields", [])
    names = [n.strip() for part in values for n in part.split(",") if n.strip()]
    if not names:
        raise BadRequest("fields is required")
    unknown = [n for n in names if n not in KNOWN_FIELDS]
    if unknown:
        raise BadRequest(f"Invalid fields: {','.join(unknown)}")
    return names


def parse_body(body: bytes) -> dict[str, Any]:
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise BadRequest("The request body is not valid JSON") from None
    if not isinstance(data, dict):
        raise BadRequest("The request body must be a JSON object")
    query = data.get("query")
    if not isinstance(query, dict) or not any(query.get(k) for k in ("and", "or", "not")):
        raise BadRequest("query needs at least one of and, or, not")
    matcher(query)  # validates the conditions
    dates = []
    for name in ("start_date", "end_date"):
        value = data.get(name)
        try:
            dates.append(datetime.strptime(str(value), "%Y%m%d"))
        except ValueError:
            raise BadRequest(f"{name} must be a date like 20240221") from None
    if dates[1] < dates[0]:
        raise BadRequest("end_date is before start_date")
    if (dates[1] - dates[0]).days > MAX_SPAN_DAYS:
        raise BadRequest(f"end_date must be no more than {MAX_SPAN_DAYS} days after start_date")
    max_count = data.get("max_count", 20)
    cursor = data.get("cursor", 0)
    if not isinstance(max_count, int) or not 1 <= max_count <= MAX_COUNT:
        raise BadRequest(f"max_count must be between 1 and {MAX_COUNT}")
    if not isinstance(cursor, int) or cursor < 0:
        raise BadRequest("Invalid count or cursor")
    search_id = data.get("search_id")
    return {
        "query": query,
        "start_date": data["start_date"],
        "end_date": data["end_date"],
        "max_count": max_count,
        "cursor": cursor,
        "search_id": str(search_id) if search_id else None,
    }


def matcher(query: Mapping[str, Any]) -> Callable[[SimVideo], bool]:
    groups = {}
    for name in ("and", "or", "not"):
        conditions = query.get(name) or []
        if not isinstance(conditions, list):
            raise BadRequest(f"query.{name} must be a list")
        groups[name] = [condition(c) for c in conditions]

    def matches(video: SimVideo) -> bool:
        if not all(c(video) for c in groups["and"]):
            return False
        if groups["or"] and not any(c(video) for c in groups["or"]):
            return False
        return not any(c(video) for c in groups["not"])

    return matches


def condition(condition: object) -> Callable[[SimVideo], bool]:
    if not isinstance(condition, dict):
        raise BadRequest("each condition must be an object")
    name, op, values = (condition.get(k) for k in ("field_name", "operation", "field_values"))
    if name not in CONDITION_FIELDS:
        raise BadRequest(f"Invalid field_name: {name}")
    if op not in OPERATIONS:
        raise BadRequest(f"Invalid operation: {op}")
    if not isinstance(values, list) or not values or not all(isinstance(v, str) for v in values):
        raise BadRequest(f"field_values of {name} must be a non-empty list of strings")
    get: Callable[[SimVideo], Sequence[str]] = {
        "create_date": lambda v: [create_date(v)],
        "username": lambda v: [v.username],
        "region_code": lambda v: [v.region_code],
        "video_id": lambda v: [v.video_id],
        # Literal names: the API ignores case, nothing else (ö is not o).
        "hashtag_name": lambda v: [t.lower() for t in v.hashtags],
        "keyword": lambda v: [v.description.lower()],
        "music_id": lambda v: [v.music_id],
        "effect_id": lambda v: [],
        "video_length": lambda v: [_length(v.duration_s)],
    }[name]
    wanted = [x.lower() for x in values] if name in ("hashtag_name", "keyword") else list(values)
    if name == "keyword":
        return lambda v: any(w in text for text in get(v) for w in wanted)
    if op in ("EQ", "IN"):
        allowed = frozenset(wanted)
        return lambda v: any(x in allowed for x in get(v))
    bound = wanted[0]
    compare: Callable[[str, str], bool] = {
        "GT": lambda a, b: a > b,
        "GTE": lambda a, b: a >= b,
        "LT": lambda a, b: a < b,
        "LTE": lambda a, b: a <= b,
    }[op]
    return lambda v: any(compare(x, bound) for x in get(v))


def _length(seconds: int) -> str:
    if seconds < 15:
        return "SHORT"
    if seconds <= 60:
        return "MID"
    return "LONG" if seconds <= 300 else "EXTRA_LONG"


def id_filter(query: Mapping[str, Any]) -> frozenset[str] | None:
    """The ids a query is limited to by an ``and`` condition on ``video_id``, if it has one."""
    for c in query.get("and") or []:
        if c.get("field_name") == "video_id" and c.get("operation") in ("EQ", "IN"):
            return frozenset(c.get("field_values") or [])
    return None
