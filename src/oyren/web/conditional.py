"""Conditional answers for public pages: ``ETag``, ``Last-Modified``, ``Cache-Control``, ``304``.

A public page (and its JSON twin) read by someone who is not signed in is the same for every
reader of one language, so a reverse proxy or a CDN may keep it and every web process may answer
``304 Not Modified`` to a reader who already has it. The validator comes from the store
(:func:`oyren.store.freshness.campaign_version`: one indexed read, the same in every process),
mixed with what else the answer depends on:

- the representation (HTML or JSON), the reader's language, the address with its query, and the
  version of Öyrən (its templates);
- the current time, in steps of ``step_s`` seconds (60 by default): pages say how long is left
  and which phase the contest is in, so an answer is never reused across a step. The
  ``Last-Modified`` time is the later of the store's newest write and the step's start.

``Cache-Control`` lets a shared cache serve an answer for ``shared_s`` seconds (``s-maxage``) and
a little longer while it asks again (``stale-while-revalidate``); browsers revalidate every time
(``max-age=0``) and get a ``304`` when nothing changed. ``Vary: Accept, Cookie`` keeps the HTML,
the JSON and the languages (the ``oyren_lang`` cookie) apart; such answers set no cookie.

Request headers are read defensively: an ``If-None-Match`` longer than :data:`MAX_HEADER`
characters or naming more than :data:`MAX_TAGS` tags, or a malformed one, is treated as absent
(the full page is sent), and so is an ``If-Modified-Since`` that is not an HTTP date.
``If-Modified-Since`` is ignored when ``If-None-Match`` is present (RFC 9110, 13.2.2).

:class:`RenderedAnswers` keeps the bytes of answers a process rendered, by validator: while the
store's version stays the same, a page read again costs its one version query and no rendering.
A write moves the version and with it the validator, so a kept answer is never served for a
newer state, and no other process needs to know what this one kept.

:class:`HeadAsGet` answers ``HEAD`` as ``GET`` without the body (RFC 9110, 9.3.2): link checkers
and uptime monitors that ask with ``HEAD`` see the status, validators and length a reader gets.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from oyren import __version__
from oyren.store.freshness import Version

__all__ = [
    "MAX_HEADER",
    "MAX_TAGS",
    "CachePolicy",
    "HeadAsGet",
    "NotModified",
    "RenderedAnswers",
    "Validator",
    "headers_for",
    "is_not_modified",
    "make_validator",
    "parse_if_none_match",
]

MAX_HEADER = 4096
"""The longest ``If-None-Match`` read; a longer one is ignored."""
MAX_TAGS = 32
"""The most entity tags read from one ``If-None-Match``; more and the header is ignored."""
# An entity tag: optionally weak, then a quoted string of visible characters without quotes.
_TAG = re.compile(r'\s*(?:W/)?("[\x21\x23-\x7e\x80-\xff]*")\s*(?:,|$)')


@dataclass(frozen=True, slots=True)
class CachePolicy:
    """How long shared caches may keep a public page, and the time step of its validator."""

    shared_s: int = 10
    stale_s: int = 30
    step_s: int = 60

    @property
    def public(self) -> str:
        """The ``Cache-Control`` of a public page read anonymously."""
        return f"public, max-age=0, s-maxage={self.shared_s}, stale-while-revalidate={self.stale_s}"


PRIVATE = "private, no-cache"
"""The ``Cache-Control`` of a page shown to someone signed in."""


@dataclass(frozen=True, slots=True)
class Validator:
    """One answer's validator: a weak entity tag and its last modification (Unix seconds)."""

    etag: str
    last_modified: int


class NotModified(Exception):
    """The reader already has this answer: send ``304`` with ``validator``'s headers."""

    def __init__(self, validator: Validator, policy: CachePolicy) -> None:
        super().__init__("not modified")
        self.validator = validator
        self.policy = policy


def make_validator(version: Version, *, variant: str, now: int, policy: CachePolicy) -> Validator:
    """The validator of the answer ``variant`` (representation, language, address) at ``now``."""
    step = max(1, policy.step_s)
    started = now - now % step
    material = f"{version.digest}|{variant}|{__version__}|{now // step}".encode()
    tag = hashlib.blake2b(material, digest_size=12).hexdigest()
    return Validator(etag=f'W/"{tag}"', last_modified=max(version.modified_at, started))


def parse_if_none_match(value: str) -> tuple[str, ...] | None:
    """The opaque tags of an ``If-None-Match`` value (``("*",)`` for any), None if unusable."""
    if len(value) > MAX_HEADER:
        return None
    stripped = value.strip()
    if stripped == "*":
        return ("*",)
    tags: list[str] = []
    position = 0
    while position < len(stripped):
        match = _TAG.match(stripped, position)
        if match is None or match.end() == position:
            return None
        tags.append(match.group(1))
        if len(tags) > MAX_TAGS:
            return None
        position = match.end()
    return tuple(tags) or None


def _http_date(value: str) -> int | None:
    if len(value) > 64:
        return None
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if moment.tzinfo is None:  # an HTTP date is always GMT; "-0000" parses as naive
        moment = moment.replace(tzinfo=UTC)
    try:
        return int(moment.timestamp())
    except (OverflowError, OSError, ValueError):
        return None


def is_not_modified(headers: Mapping[str, str], validator: Validator) -> bool:
    """Tell whether a GET with these request headers may be answered ``304``."""
    if_none_match = headers.get("if-none-match")
    if if_none_match is not None:
        tags = parse_if_none_match(if_none_match)
        if tags is None:
            return False
        if tags == ("*",):
            return True
        # Weak comparison (RFC 9110, 8.8.3.2): the opaque parts match.
        mine = validator.etag.removeprefix("W/")
        return mine in tags
    if_modified_since = headers.get("if-modified-since")
    if if_modified_since is not None:
        since = _http_date(if_modified_since)
        return since is not None and validator.last_modified <= since
    return False


def http_date(moment: int) -> str:
    """``moment`` (Unix seconds) as an HTTP date."""
    return format_datetime(datetime.fromtimestamp(max(0, moment), UTC), usegmt=True)


def headers_for(validator: Validator, policy: CachePolicy) -> dict[str, str]:
    """The headers of an answer (a ``200`` or a ``304``) carrying ``validator``."""
    return {
        "ETag": validator.etag,
        "Last-Modified": http_date(validator.last_modified),
        "Cache-Control": policy.public,
        "Vary": "Accept, Cookie",
    }


class RenderedAnswers:
    """The bytes of public answers this process rendered, keyed by their validator.

    A key is an answer's entity tag (which digests the store's version, the representation,
    language, address, Öyrən's version and the time step) plus what else its bytes hold (the
    host the page names in its absolute links). The ``max_entries`` most recently used are kept
    (256 leaderboard pages are about 20 MB).
    """

    def __init__(self, max_entries: int = 256, *, wait_s: float = 5.0) -> None:
        self.max_entries = max_entries
        self.wait_s = wait_s
        self._answers: OrderedDict[tuple[str, str], tuple[bytes, str]] = OrderedDict()
        self._rendering: dict[tuple[str, str], threading.Event] = {}
        self._lock = threading.Lock()  # handlers run in a thread pool

    def get(self, key: tuple[str, str]) -> tuple[bytes, str] | None:
        """The body and media type kept for ``key``, or None."""
        with self._lock:
            found = self._answers.get(key)
            if found is not None:
                self._answers.move_to_end(key)
            return found

    def get_or_claim(self, key: tuple[str, str]) -> tuple[tuple[bytes, str] | None, bool]:
        """The answer kept for ``key`` (and False); else None, and whether the caller claimed it.

        After a write, every request for a page misses at once; only the first renders it (it
        must :meth:`put` or :meth:`release` what it claimed) while the others wait for its
        bytes, up to ``wait_s`` seconds, rather than render the same page each.
        """
        with self._lock:
            found = self._answers.get(key)
            if found is not None:
                self._answers.move_to_end(key)
                return found, False
            pending = self._rendering.get(key)
            if pending is None:
                self._rendering[key] = threading.Event()
                return None, True
        pending.wait(self.wait_s)
        return self.get(key), False  # None: that render failed or is slow, render it too

    def put(self, key: tuple[str, str], body: bytes, media_type: str) -> None:
        """Keep ``body`` for ``key``, forgetting the least recently used beyond the bound."""
        with self._lock:
            if self.max_entries > 0:
                self._answers[key] = (body, media_type)
                self._answers.move_to_end(key)
                while len(self._answers) > self.max_entries:
                    self._answers.popitem(last=False)
            self._wake(key)

    def release(self, key: tuple[str, str]) -> None:
        """Give up a claim on ``key`` without an answer (the page failed): waiters go on."""
        with self._lock:
            self._wake(key)

    def _wake(self, key: tuple[str, str]) -> None:
        pending = self._rendering.pop(key, None)
        if pending is not None:
            pending.set()

    def __len__(self) -> int:
        return len(self._answers)


class HeadAsGet:
    """ASGI middleware answering ``HEAD`` as the same request with ``GET``, without its body: the
    same status and headers, ``Content-Length`` and validators included. What answers no
    ``GET`` answers ``405`` to ``HEAD`` as well."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def send_without_body(message: Message) -> None:
            if message["type"] == "http.response.body":
                if message.get("more_body", False):
                    return  # a streamed body: each part dropped, the end sent once
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, send_without_body)
