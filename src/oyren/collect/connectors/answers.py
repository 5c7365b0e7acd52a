"""Reading the Research API's answers: what an error means, and a page's videos validated.

Answers are hostile until proven otherwise: bodies that are not JSON (a 504 from a gateway is an
HTML page), envelopes without ``data``, keys of the wrong type, ids as strings or numbers under
``id`` or ``video_id``, NUL characters in usernames. :func:`classify` says what to do with an
answer; :func:`parse_page` turns a good one into a :class:`VideoPage`, skipping (and counting)
each video that does not validate.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any, TypeGuard

import httpx
import orjson

from oyren.errors import InputError
from oyren.inputs.observations import observation_from_record
from oyren.inputs.records import check_keys_once
from oyren.rules.observations import Observation

__all__ = [
    "Malformed",
    "Outcome",
    "VideoPage",
    "classify",
    "http_date",
    "is_int",
    "json_object",
    "parse_page",
    "retry_after",
    "token_error",
    "unreadable",
]

log = logging.getLogger("oyren.tiktok")

SNIPPET = 120  # characters of an unreadable answer quoted in errors


@dataclass(frozen=True, slots=True)
class VideoPage:
    """One page of answers: valid observations, the paging state, and what was skipped."""

    observations: tuple[Observation, ...]
    cursor: int
    has_more: bool
    search_id: str | None
    collected_at: int
    returned: int  # video objects in the answer, valid or not
    skipped: tuple[InputError, ...]
    log_id: str


class Malformed(Exception):
    """A 200 answer whose envelope does not have the documented shape."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """What an answer means for the client; ``kind`` says what to do next."""

    kind: str  # ok, token, rate_limit, search, retry, scope, fatal
    status: int
    code: str
    message: str
    log_id: str
    data: dict[str, Any] | None = None
    returned: int = 0

    def describe(self) -> str:
        """The answer in a line, with the log_id TikTok support asks for."""
        if self.code == "unreadable":
            return self.message
        text = f"HTTP {self.status} {self.code}: {self.message}".rstrip(": ")
        return text + (f" [log_id {self.log_id}]" if self.log_id else "")


def classify(response: httpx.Response) -> Outcome:
    """Sort an answer into what to do about it."""
    status = response.status_code
    body = json_object(response)
    if body is None:
        kind = "rate_limit" if status == 429 else "token" if status == 401 else "retry"
        return Outcome(kind, status, "unreadable", unreadable(response), "")
    error = body.get("error")
    error = error if isinstance(error, dict) else {}
    code = str(error.get("code") or "")
    message = str(error.get("message") or "")
    log_id = str(error.get("log_id") or "")
    if status == 200 and code in ("", "ok"):
        data = body.get("data")
        if not isinstance(data, dict):
            return Outcome("retry", status, "malformed", "answer has no 'data' object", log_id)
        videos = data.get("videos")
        returned = len(videos) if isinstance(videos, list) else 0
        return Outcome("ok", status, "ok", "", log_id, data, returned)
    lowered = message.lower()
    if code == "access_token_invalid" or (status == 401 and not code.startswith("scope")):
        kind = "token"
    elif code == "rate_limit_exceeded" or status == 429:
        kind = "rate_limit"
    elif code.startswith("scope_"):
        kind = "scope"
    elif code.startswith("invalid_") and ("search" in lowered or "cursor" in lowered):
        kind = "search"
    elif status >= 500 or code in ("internal_error", "timeout"):
        kind = "retry"
    else:
        kind = "fatal"
    return Outcome(kind, status, code or "error", message, log_id)


def parse_page(data: dict[str, Any], collected_at: int, log_id: str, url: str) -> VideoPage:
    """Validate a good answer's ``data``; raise :class:`Malformed` if its envelope is wrong."""
    videos = data.get("videos", [])
    if videos is None:
        videos = []
    if not isinstance(videos, list):
        raise Malformed("'data.videos' is not a list")
    has_more = data.get("has_more")
    if not isinstance(has_more, bool):
        raise Malformed("'data.has_more' is missing or not true/false")
    cursor = data.get("cursor", 0)
    if isinstance(cursor, str) and cursor.strip().isdigit():
        cursor = int(cursor)
    if not is_int(cursor) or cursor < 0:
        raise Malformed("'data.cursor' is not a whole number")
    search_id = data.get("search_id")
    if search_id is not None and not isinstance(search_id, str | int):
        raise Malformed("'data.search_id' is not a string")
    observations: list[Observation] = []
    skipped: list[InputError] = []
    where = f"{url.split('?', 1)[0]} (log_id {log_id or '-'})"
    for number, video in enumerate(videos, start=1):
        if not isinstance(video, dict):
            skipped.append(InputError("not an object", path=where, line=number))
            continue
        try:
            record = {**video, "collected_at": collected_at}
            observations.append(observation_from_record(record, path=where, line=number))
        except InputError as error:
            skipped.append(error)
    if skipped:
        log.warning("skipped %d invalid video(s) on a page; first: %s", len(skipped), skipped[0])
    return VideoPage(
        observations=tuple(observations),
        cursor=int(cursor),
        has_more=has_more,
        search_id=str(search_id) if search_id not in (None, "") else None,
        collected_at=collected_at,
        returned=len(videos),
        skipped=tuple(skipped),
        log_id=log_id,
    )


def json_object(response: httpx.Response) -> dict[str, Any] | None:
    """The body as a JSON object, or None when it is not one."""
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(body, dict):
        return None
    try:
        # An object naming a key twice is no answer TikTok gives: which value counts is unclear.
        check_keys_once(response.content, body, path="answer", line=1)
    except InputError:
        return None
    return body


def unreadable(response: httpx.Response) -> str:
    """Describe an answer that is not JSON, quoting its start."""
    kind = response.headers.get("content-type", "no content type").split(";")[0]
    text = response.content[:SNIPPET].decode("utf-8", "replace").replace("\n", " ").strip()
    return f"HTTP {response.status_code}, not JSON ({kind}): '{text}'"


def token_error(body: dict[str, Any]) -> str:
    """The error of a token answer, in either of the shapes TikTok uses."""
    error = body.get("error")
    if isinstance(error, dict):
        return f"{error.get('code', 'error')}: {error.get('message', '')}".rstrip(": ")
    description = body.get("error_description", "")
    return f"{error or 'error'}: {description}".rstrip(": ")


def is_int(value: object) -> TypeGuard[int]:
    """Tell whether ``value`` is an integer and not a boolean."""
    return isinstance(value, int) and not isinstance(value, bool)


def http_date(value: str | None) -> int | None:
    """A ``Date`` header as Unix seconds, or None."""
    if not value:
        return None
    try:
        return int(parsedate_to_datetime(value).timestamp())
    except (TypeError, ValueError, IndexError):
        return None


def retry_after(value: str | None) -> float | None:
    """A ``Retry-After`` header in seconds, or None."""
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if seconds >= 0 else None
