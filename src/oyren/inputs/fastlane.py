"""The fast lane for JSONL observation files: lines read in blocks, records checked cheaply.

Reading a million lines spends its time in per-line overhead, so this module reads big blocks and
splits them into lines in one call, and :func:`scan_record` checks a parsed record with exact type
tests instead of the general field-by-field validation. Any record it does not vouch for goes
through :func:`~oyren.inputs.observations.observation_from_record`, which gives the same error,
naming
the line and field, as reading the file line by line would.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Mapping
from operator import itemgetter
from typing import Any

from oyren.errors import InputError
from oyren.inputs.observations import (
    _TAG_EDGE,
    MAX_COUNT,
    MAX_DESCRIPTION,
    MAX_HASHTAG,
    MAX_HASHTAGS,
    MAX_MUSIC_ID,
    MAX_TRANSCRIPT,
    MAX_USERNAME,
    _Fields,
)
from oyren.inputs.records import MAX_ID_DIGITS, MAX_TIMESTAMP, MAX_VIDEO_ID, MIN_TIMESTAMP
from oyren.rules.hashtags import extract_hashtags
from oyren.rules.observations import Observation

__all__ = ["ObservationFields", "fields_from_scanned", "jsonl_lines", "observation_from_scanned",
           "scan_record"]  # fmt: skip

# An observation's fields as a tuple, in the order of Observation's (what a Parquet sink takes
# without an object made for each line).
ObservationFields = tuple[
    str, str, int, int, int, str | None, str, tuple[str, ...],
    int | None, int | None, int | None, int | None, str | None, str | None,
]  # fmt: skip

# Big files are read in blocks and split into lines in one call: far fewer calls than readline.
_BLOCK_BYTES = 1 << 24


def jsonl_lines(
    handle: io.BufferedReader, start: int | None = None, end: int | None = None
) -> Iterator[tuple[list[bytes], bool]]:
    """Yield lines in batches, without newlines, from byte ``start`` (or where the handle stands:
    a pipe cannot seek) to ``end`` (or the end of the file).

    Offsets must fall at line starts. Each batch comes with whether its lines ended with a newline,
    which JSON error positions depend on: all do but the file's last line, which then comes alone.
    """
    if start is not None:
        handle.seek(start)
    position = handle.tell() if end is not None else 0
    pending: list[bytes] = []  # a line longer than a block, in pieces
    while True:
        size = _BLOCK_BYTES if end is None else min(_BLOCK_BYTES, end - position)
        data = handle.read(size) if size > 0 else b""
        if not data:
            break
        position += len(data)
        if b"\n" not in data:
            pending.append(data)
            continue
        if pending:
            pending.append(data)
            data = b"".join(pending)
            pending = []
        lines = data.split(b"\n")
        rest = lines.pop()
        if rest:
            pending.append(rest)
        yield lines, True
    if pending:
        yield [b"".join(pending)], False


# Parsed ``collected_at`` texts: a crawl stamps many lines with the same instant, and parsing
# ISO 8601 costs more than a lookup. Cleared when full, to bound memory on odd files.
_COLLECTED_AT_TEXTS: dict[str, int] = {}
_COLLECTED_AT_TEXTS_MAX = 100_000


def scan_record(record: object) -> tuple[str, int, int] | None:
    """Return ``(video_id, collected_at, view_count)`` of a record that is valid as it stands.

    Cheap exact-type checks that accept only records :func:`observation_from_record` accepts as
    they stand. None means "take the general path", which raises the error naming the field, or
    converts what needs converting (floats, ids that are not digits, NUL characters in a
    username).
    """
    if type(record) is not dict:
        return None
    get = record.get
    try:
        # One call fetches the fields API records always carry; a missing one takes gets below.
        (video_id, username, create_time, collected_at, views, region, description, tags,
         duration, likes, comments, shares) = _SCANNED_FIELDS(record)  # fmt: skip
    except KeyError:
        (video_id, username, create_time, collected_at, views, region, description, tags,
         duration, likes, comments, shares) = map(get, _SCANNED)  # fmt: skip
    if (
        type(video_id) is not str
        or len(video_id) > MAX_ID_DIGITS
        or not video_id.isdigit()
        or not video_id.isascii()
    ):
        if type(video_id) is not int or not 0 <= video_id <= MAX_VIDEO_ID:
            return None
        video_id = str(video_id)
    if (
        type(username) is not str
        or not username
        or len(username) > MAX_USERNAME
        or username.isspace()
        or "\x00" in username
    ):
        return None
    if type(create_time) is not int or not MIN_TIMESTAMP <= create_time < MAX_TIMESTAMP:
        return None
    if type(collected_at) is not int:
        if type(collected_at) is not str:
            return None
        seconds = _COLLECTED_AT_TEXTS.get(collected_at)
        if seconds is None:
            seconds = _collected_at_text(collected_at)
            if seconds is None:
                return None
        collected_at = seconds
    if not create_time <= collected_at < MAX_TIMESTAMP:
        return None
    if type(views) is not int or not 0 <= views <= MAX_COUNT:
        return None
    if not (
        type(duration) is type(likes) is type(comments) is type(shares) is int
        and 0 <= duration <= MAX_COUNT
        and 0 <= likes <= MAX_COUNT
        and 0 <= comments <= MAX_COUNT
        and 0 <= shares <= MAX_COUNT
    ):
        # Some count is absent, or unusual: look at each.
        for value in (duration, likes, comments, shares):
            if value is not None and (type(value) is not int or not 0 <= value <= MAX_COUNT):
                return None
    if region is not None and (
        type(region) is not str or len(region) != 2 or not region.isalpha() or not region.isascii()
    ):
        return None
    if description is not None and (
        type(description) is not str or len(description) > MAX_DESCRIPTION or "\x00" in description
    ):
        return None
    if tags is not None:
        if type(tags) is not list or len(tags) > MAX_HASHTAGS:
            return None
        try:
            joined = "".join(tags)  # the cheapest check that every tag is a string
        except TypeError:
            return None
        if "\x00" in joined or (len(joined) > MAX_HASHTAG and max(map(len, tags)) > MAX_HASHTAG):
            return None
    music_id = get("music_id")
    if music_id is not None and (
        type(music_id) is not int
        and (type(music_id) is not str or len(music_id) > MAX_MUSIC_ID or "\x00" in music_id)
    ):
        return None
    voice = get("voice_to_text")
    if voice is not None and (
        type(voice) is not str or len(voice) > MAX_TRANSCRIPT or "\x00" in voice
    ):
        return None
    return video_id, collected_at, views


_SCANNED = ("id", "username", "create_time", "collected_at", "view_count", "region_code",
            "video_description", "hashtag_names", "video_duration", "like_count",
            "comment_count", "share_count")  # fmt: skip
_SCANNED_FIELDS = itemgetter(*_SCANNED)


def _collected_at_text(value: str) -> int | None:
    try:
        # The general path's own parser, so that a text means the same instant either way.
        seconds = _Fields({"collected_at": value}, "", None, False).collected_at()
    except InputError:
        return None
    if len(_COLLECTED_AT_TEXTS) >= _COLLECTED_AT_TEXTS_MAX:
        _COLLECTED_AT_TEXTS.clear()
    _COLLECTED_AT_TEXTS[value] = seconds
    return seconds


# Hashtag lists as written and as kept (edges stripped): a campaign's lists repeat, and a lookup
# costs less than stripping each tag. Cleared when full, to bound memory on odd files.
_STRIPPED_TAGS: dict[tuple[str, ...], tuple[str, ...]] = {}
_STRIPPED_TAGS_MAX = 100_000


def observation_from_scanned(
    record: Mapping[str, Any], video_id: str, collected_at: int
) -> Observation:
    """The observation of a record :func:`scan_record` accepted, with the id and time it gave.

    Each value goes through the same normalisation as in :func:`observation_from_record`, minus
    the checks ``scan_record`` has made: the two must agree (a test holds them together).
    """
    return Observation(*fields_from_scanned(record, video_id, collected_at))


def fields_from_scanned(
    record: Mapping[str, Any], video_id: str, collected_at: int
) -> ObservationFields:
    """The fields of :func:`observation_from_scanned`'s observation, in their order."""
    get = record.get
    description = get("video_description") or ""  # scan_record let no NUL character through
    tags = get("hashtag_names")
    if tags is None:
        hashtags = extract_hashtags(description)
    else:
        key = tuple(tags)
        stripped = _STRIPPED_TAGS.get(key)
        if stripped is None:
            stripped = tuple([t for tag in tags if (t := _TAG_EDGE.sub("", tag))])
            if len(_STRIPPED_TAGS) >= _STRIPPED_TAGS_MAX:
                _STRIPPED_TAGS.clear()
            _STRIPPED_TAGS[key] = stripped
        hashtags = stripped
    region = get("region_code")
    music_id = get("music_id")
    voice = get("voice_to_text")
    return (
        video_id,
        record["username"],
        record["create_time"],
        collected_at,
        record["view_count"],
        region.upper() if region else None,
        description,
        hashtags,
        get("video_duration"),
        get("like_count"),
        get("comment_count"),
        get("share_count"),
        None if music_id is None else str(music_id).strip() or None,
        voice,
    )
