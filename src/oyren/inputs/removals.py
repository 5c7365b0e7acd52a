"""Removals: videos confirmed gone (deleted, or made private) and so out of the contest.

A removal is a hard reason (see :mod:`oyren.rules.eligibility`): no moderator's inclusion clears it.
It is confirmed either by a person who checked the video, or when crawls no longer return it
(see :func:`oyren.store.confirm_removals`). Removal files are JSONL, one line per video::

    {"video_id": "7340000000000000001", "reason": "deleted by the creator",
     "at": "2024-04-25T10:00:00+04:00", "by": "aysel"}

``by`` is optional; ``at`` is ISO 8601 with an offset, or Unix seconds.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any

from oyren.errors import InputError
from oyren.inputs.records import json_objects, plausible_time, tiktok_video_id

__all__ = ["Removal", "read_removals", "removal_to_record", "removed_ids"]


@dataclass(frozen=True, slots=True)
class Removal:
    """A video confirmed removed at ``at`` (Unix seconds), and why."""

    video_id: str
    reason: str
    at: int
    by: str = "unknown"


def removed_ids(removals: Iterable[Removal]) -> frozenset[str]:
    """Return the ids of the removed videos, as :func:`oyren.rules.engine.evaluate` takes them."""
    return frozenset(r.video_id for r in removals)


def removal_to_record(removal: Removal, *, tz: tzinfo = UTC) -> dict[str, Any]:
    """Return ``removal`` as :func:`read_removals` reads it, ``at`` in ISO 8601 in ``tz``."""
    at = datetime.fromtimestamp(removal.at, tz=tz).isoformat()
    return {"video_id": removal.video_id, "reason": removal.reason, "at": at, "by": removal.by}


def read_removals(path: str | Path) -> list[Removal]:
    """Read a JSONL removals file, raising :class:`InputError` naming line and field."""
    name = str(path)
    return [_removal(record, name, number) for number, record in json_objects(path)]


def _removal(record: dict[str, Any], name: str, number: int) -> Removal:
    def text(key: str, *, required: bool) -> str:
        value = record.get(key)
        if value is None and not required:
            return ""
        if key == "video_id" and isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        if not isinstance(value, str) or not value.replace("\x00", "").strip():
            raise InputError("must be a non-empty string", path=name, line=number, field=key)
        return value.replace("\x00", "").strip()

    video_id = tiktok_video_id(
        text("video_id", required=True), path=name, line=number, field="video_id"
    )
    reason = text("reason", required=True)
    at = _moment(record.get("at"), path=name, line=number, field="at")
    at = plausible_time(at, path=name, line=number, field="at", earliest=0)
    by = text("by", required=False) or "unknown"
    return Removal(video_id=video_id, reason=reason, at=at, by=by)


def _moment(value: object, *, path: str, line: int, field: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise InputError(
                "must be ISO 8601 with an offset, like 2024-04-25T10:00:00+04:00",
                path=path,
                line=line,
                field=field,
            ) from None
        if moment.tzinfo is None:
            raise InputError("needs a UTC offset, like +04:00", path=path, line=line, field=field)
        return int(moment.timestamp())
    raise InputError(
        "required: when it happened (ISO 8601 with an offset, or Unix seconds)",
        path=path,
        line=line,
        field=field,
    )
