"""Moderation decisions: a person's verdict on one video, and reading them from a file.

A decision either excludes a video (with a reason a person wrote) or includes it, which clears
the soft reasons a machine could be wrong about (see :mod:`oyren.rules.eligibility`). The latest
decision on a video is the one in force. Decision files are JSONL::

    {"video_id": "7340000000000000001", "action": "exclude", "reason": "re-upload of …",
     "by": "aysel", "at": "2024-04-25T10:00:00+04:00"}
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from oyren.errors import InputError
from oyren.inputs.records import json_objects, plausible_time, tiktok_video_id
from oyren.rules.decisions import ACTIONS, Decision, latest_decisions

__all__ = ["ACTIONS", "Decision", "latest_decisions", "read_decisions"]


def read_decisions(path: str | Path) -> list[Decision]:
    """Read a JSONL decisions file, raising :class:`InputError` naming line and field."""
    name = str(path)
    out = []
    for number, record in json_objects(path):

        def text(
            key: str, *, required: bool, record: dict[str, object] = record, number: int = number
        ) -> str:
            value = record.get(key)
            if value is None and not required:
                return ""
            if isinstance(value, int) and not isinstance(value, bool) and key == "video_id":
                return str(value)
            if not isinstance(value, str) or not value.strip():
                raise InputError("must be a non-empty string", path=name, line=number, field=key)
            return value.replace("\x00", "").strip()

        video_id = tiktok_video_id(
            text("video_id", required=True), path=name, line=number, field="video_id"
        )
        action = text("action", required=True)
        if action not in ACTIONS:
            raise InputError(
                f"must be one of {', '.join(ACTIONS)}, not '{action[:20]}'",
                path=name,
                line=number,
                field="action",
            )
        reason = text("reason", required=action == "exclude")
        at_value = record.get("at")
        if isinstance(at_value, int) and not isinstance(at_value, bool):
            at = at_value
        elif isinstance(at_value, str):
            try:
                moment = datetime.fromisoformat(at_value)
            except ValueError:
                raise InputError(
                    "must be ISO 8601 with an offset", path=name, line=number, field="at"
                ) from None
            if moment.tzinfo is None:
                raise InputError(
                    "needs a UTC offset, like +04:00", path=name, line=number, field="at"
                )
            at = int(moment.timestamp())
        else:
            raise InputError(
                "required: when the decision was made (ISO 8601 or Unix seconds)",
                path=name,
                line=number,
                field="at",
            )
        out.append(
            Decision(
                video_id=video_id,
                action=action,
                reason=reason,
                by=text("by", required=False) or "unknown",
                # 1970 to 2100: a time past that cannot be shown as a date (a bundle may hold
                # decisions stored before this bound, so not from 2014 as for observations)
                at=plausible_time(at, path=name, line=number, field="at", earliest=0),
            )
        )
    return out
