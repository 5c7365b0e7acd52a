"""Observations: what a crawl saw of a video at one moment, and reading them from files.

An observation is one line of JSONL or CSV in the TikTok Research API's own field names
(``id``, ``username``, ``create_time``, ``region_code``, ``video_description``, ``hashtag_names``,
``video_duration``, ``view_count``, ``like_count``, ``comment_count``, ``share_count``) plus
``collected_at``: when the counts were seen. The same ``id`` on several lines is several
observations of one video. :func:`read_observations` streams a file and raises
:class:`~oyren.errors.InputError` naming the file, line and field of the first bad line (or
collects the bad lines when asked to skip them).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from oyren.errors import InputError
from oyren.inputs.records import MAX_TIMESTAMP, MIN_TIMESTAMP, check_keys_once, tiktok_video_id
from oyren.rules.hashtags import extract_hashtags
from oyren.rules.observations import Observation, observation_to_record

__all__ = [
    "FIELDS",
    "Observation",
    "ObservationFile",
    "SkipReport",
    "observation_from_line",
    "observation_from_record",
    "observation_to_record",
    "read_observations",
    "write_observations_csv",
    "write_observations_jsonl",
]

MAX_COUNT = 10**15  # no video has a quadrillion views; larger is corrupt data
# What the TikTok API can send, from TikTok's own limits where it states them; past these a line
# is refused naming the field (docs/security.md lists them with their sources).
MAX_USERNAME = 24  # TikTok usernames: at most 24 letters, digits, '_' and '.'
MAX_DESCRIPTION = 4_000  # TikTok captions: 2,200 characters until 2023, 4,000 since
MAX_TRANSCRIPT = 100_000  # voice_to_text of an hour-long video (TikTok's longest upload)
MAX_HASHTAGS = 1_000  # no caption of 4,000 characters holds more
MAX_HASHTAG = 200  # characters in one tag (TikTok states no limit; captions bound them)
MAX_MUSIC_ID = 64
_BOM = b"\xef\xbb\xbf"
_TAG_EDGE = re.compile(r"^[\s#]+|\s+$")

FIELDS = (
    "id",
    "username",
    "create_time",
    "region_code",
    "video_description",
    "hashtag_names",
    "video_duration",
    "view_count",
    "like_count",
    "comment_count",
    "share_count",
    "collected_at",
)
# Optional fields the Research API also returns; kept when present (integrity screening uses them).
EXTRA_FIELDS = ("music_id", "voice_to_text")


@dataclass(slots=True)
class SkipReport:
    """Bad lines passed over with ``skip_invalid``: how many, and the first errors."""

    count: int = 0
    errors: list[InputError] = field(default_factory=list)
    keep: int = 20

    def add(self, error: InputError) -> None:
        """Count a skipped line, keeping the first few errors to show."""
        self.count += 1
        if len(self.errors) < self.keep:
            self.errors.append(error)


def read_observations(path: str | Path, *, skip: SkipReport | None = None) -> Iterator[Observation]:
    """Stream observations from a ``.jsonl`` or ``.csv`` file.

    Without ``skip`` the first bad line raises :class:`InputError`; with it, bad lines are counted
    in ``skip`` and passed over. A file that cannot be opened always raises.
    """
    return ObservationFile(Path(path), skip)


class ObservationFile(Iterator[Observation]):
    """A file of observations, read lazily: iterating yields one :class:`Observation` per line.

    :func:`oyren.rules.videos.collect_videos` recognises an unread JSONL file and groups its lines
    without building an observation for each of them, which is most of the work on big files.
    """

    def __init__(self, path: Path, skip: SkipReport | None) -> None:
        self.path = path
        self.skip = skip
        self._observations: Iterator[Observation] | None = None

    @property
    def name(self) -> str:
        """The file's name as errors show it."""
        return str(self.path)

    @property
    def is_jsonl(self) -> bool:
        """True unless the file is CSV."""
        return self.path.suffix.lower() != ".csv"

    @property
    def started(self) -> bool:
        """True once iteration has begun."""
        return self._observations is not None

    def open(self) -> io.BufferedReader:
        """Open the file for reading bytes, raising :class:`InputError` when it cannot be."""
        try:
            return self.path.open("rb")
        except OSError as exc:
            raise InputError(f"cannot open: {exc.strerror}", path=self.name) from None

    def __next__(self) -> Observation:
        if self._observations is None:
            self._observations = self._read()
        return next(self._observations)

    def _read(self) -> Iterator[Observation]:
        with self.open() as handle:
            if self.is_jsonl:
                yield from _read_jsonl(handle, self.name, self.skip)
            else:
                yield from _read_csv(_text_lines(handle, self.name), self.name, self.skip)


def _read_jsonl(
    handle: io.BufferedReader, name: str, skip: SkipReport | None
) -> Iterator[Observation]:
    for number, raw in enumerate(handle, start=1):
        try:
            obs = observation_from_line(raw, path=name, line=number)
        except InputError as error:
            if skip is None:
                raise
            skip.add(error)
            continue
        if obs is not None:
            yield obs


def observation_from_line(raw: bytes, *, path: str, line: int) -> Observation | None:
    """Parse and validate one JSONL line as read (newline included); None for a blank line."""
    if not raw.strip():
        return None
    try:
        record = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InputError(f"not valid JSON ({exc})", path=path, line=line) from None
    if not isinstance(record, dict):
        raise InputError("expected a JSON object", path=path, line=line)
    check_keys_once(raw, record, path=path, line=line)
    return observation_from_record(record, path=path, line=line)


def _text_lines(handle: io.BufferedReader, name: str) -> Iterator[str]:
    """The lines of a CSV file as text, each decoded on its own so an error names its line."""
    for number, raw in enumerate(handle, start=1):
        if number == 1 and raw.startswith(_BOM):
            raw = raw[len(_BOM) :]  # spreadsheets write a byte-order mark; not part of the header
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InputError(f"not UTF-8 text ({exc.reason})", path=name, line=number) from None


def _read_csv(handle: Iterator[str], name: str, skip: SkipReport | None) -> Iterator[Observation]:
    reader = csv.DictReader(handle, strict=True)
    try:
        header = reader.fieldnames or []
        for required in ("id", "username", "create_time", "view_count", "collected_at"):
            if required not in header:
                raise InputError("missing column in the header", path=name, line=1, field=required)
        twice = sorted({column for column in header if header.count(column) > 1})
        if twice:
            raise InputError("the column appears twice in the header", path=name, line=1,
                             field=twice[0])  # fmt: skip
        for row in reader:
            number = reader.line_num
            try:
                if None in row:
                    raise InputError("more values than columns", path=name, line=number)
                record = {k: v for k, v in row.items() if v not in ("", None)}
                yield observation_from_record(record, path=name, line=number, from_text=True)
            except InputError as error:
                if skip is None:
                    raise
                skip.add(error)
    except csv.Error as exc:
        raise InputError(
            f"not valid CSV ({exc})", path=name, line=max(reader.reader.line_num, 1)
        ) from None


def observation_from_record(
    record: Mapping[str, Any],
    *,
    path: str = "<input>",
    line: int | None = None,
    from_text: bool = False,
) -> Observation:
    """Validate one record in API field names; CSV values arrive as text (``from_text``)."""
    f = _Fields(record, path, line, from_text)
    video_id = f.video_id()
    create_time = f.timestamp("create_time")
    collected_at = f.collected_at()
    if collected_at < create_time:
        raise InputError(
            "is before create_time: a video cannot be seen before it was posted",
            path=path,
            line=line,
            field="collected_at",
        )
    description = f.string("video_description", limit=MAX_DESCRIPTION) or ""
    hashtags = f.hashtags(description)
    return Observation(
        video_id=video_id,
        username=f.username(),
        create_time=create_time,
        collected_at=collected_at,
        view_count=f.count("view_count", required=True) or 0,
        region_code=f.region(),
        description=description,
        hashtags=hashtags,
        duration_s=f.count("video_duration", required=False),
        like_count=f.count("like_count", required=False),
        comment_count=f.count("comment_count", required=False),
        share_count=f.count("share_count", required=False),
        music_id=f.optional_id("music_id"),
        voice_to_text=f.string("voice_to_text", limit=MAX_TRANSCRIPT),
    )


def write_observations_jsonl(observations: Iterable[Observation], handle: io.BufferedWriter) -> int:
    """Write observations as JSONL to a binary handle; return how many were written."""
    n = 0
    for obs in observations:
        handle.write(orjson.dumps(observation_to_record(obs)) + b"\n")
        n += 1
    return n


def write_observations_csv(observations: Iterable[Observation], handle: io.TextIOBase) -> int:
    """Write observations as CSV (hashtag_names as a JSON list) to a text handle; return count."""
    writer = csv.DictWriter(handle, fieldnames=[*FIELDS, *EXTRA_FIELDS], extrasaction="ignore")
    writer.writeheader()
    n = 0
    for obs in observations:
        row = observation_to_record(obs)
        row["hashtag_names"] = orjson.dumps(row.get("hashtag_names", [])).decode()
        writer.writerow(row)
        n += 1
    return n


class _Fields:
    """Typed access to one record's fields, raising errors that name the field."""

    __slots__ = ("from_text", "line", "path", "record")

    def __init__(self, record: Mapping[str, Any], path: str, line: int | None, from_text: bool):
        self.record = record
        self.path = path
        self.line = line
        self.from_text = from_text

    def fail(self, name: str, message: str) -> InputError:
        return InputError(message, path=self.path, line=self.line, field=name)

    def video_id(self) -> str:
        value = self.record.get("id", self.record.get("video_id"))
        if value is None:
            raise self.fail("id", "required field is missing")
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise self.fail("id", f"must be an integer or a string, not {_json_type(value)}")
        return tiktok_video_id(value, path=self.path, line=self.line, field="id")

    def optional_id(self, name: str) -> str | None:
        value = self.record.get(name)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise self.fail(name, f"must be an integer or a string, not {_json_type(value)}")
        text = self._bounded(name, str(value), MAX_MUSIC_ID)
        return text.strip() or None

    def _bounded(self, name: str, value: str, limit: int) -> str:
        if len(value) > limit:
            raise self.fail(name, f"is {len(value):,} characters long: at most {limit:,}")
        if "\x00" in value:
            raise self.fail(name, "contains a NUL character")
        return value

    def string(self, name: str, *, limit: int) -> str | None:
        value = self.record.get(name)
        if value is None:
            return None
        if not isinstance(value, str):
            raise self.fail(name, f"must be a string, not {_json_type(value)}")
        return self._bounded(name, value, limit)

    def username(self) -> str:
        value = self.record.get("username")
        if value is None:
            raise self.fail("username", "required field is missing")
        if not isinstance(value, str):
            raise self.fail("username", f"must be a string, not {_json_type(value)}")
        # The API has sent usernames with NUL characters in them: dropped, as TikTok shows them.
        value = value.replace("\x00", "")
        if not value.strip():
            raise self.fail("username", "must not be empty")
        if len(value) > MAX_USERNAME:
            raise self.fail(
                "username", f"is {len(value):,} characters long: TikTok allows {MAX_USERNAME}"
            )
        return value

    def region(self) -> str | None:
        value = self.string("region_code", limit=2)
        if not value or not value.strip():
            return None
        if not (value.isascii() and value.isalpha() and len(value) == 2):
            raise self.fail(
                "region_code", f"must be a two-letter country code, not {_quote(value)}"
            )
        return value.upper()

    def _integer(self, name: str, value: Any) -> int:
        if self.from_text and isinstance(value, str):
            try:
                return int(value.strip())
            except ValueError:
                raise self.fail(name, f"must be a whole number, not '{value[:40]}'") from None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(name, f"must be a whole number, not {_json_type(value)}")
        if isinstance(value, float):
            if not value.is_integer():
                raise self.fail(name, f"must be a whole number, not {value}")
            return int(value)
        return value

    def count(self, name: str, *, required: bool) -> int | None:
        value = self.record.get(name)
        if value is None:
            if required:
                raise self.fail(name, "required field is missing")
            return None
        number = self._integer(name, value)
        if number < 0:
            raise self.fail(name, f"must not be negative (got {number})")
        if number > MAX_COUNT:
            raise self.fail(name, f"is impossibly large ({number})")
        return number

    def timestamp(self, name: str) -> int:
        value = self.record.get(name)
        if value is None:
            raise self.fail(name, "required field is missing")
        seconds = self._integer(name, value)
        _check_range(self, name, seconds)
        return seconds

    def collected_at(self) -> int:
        value = self.record.get("collected_at")
        if value is None:
            raise self.fail("collected_at", "required field is missing")
        if isinstance(value, str) and not value.strip().lstrip("-").isdigit():
            try:
                moment = datetime.fromisoformat(value.strip())
            except ValueError:
                raise self.fail(
                    "collected_at",
                    f"'{value[:40]}' is not ISO 8601 (like 2024-04-21T23:59:59+04:00)",
                ) from None
            if moment.tzinfo is None:
                raise self.fail(
                    "collected_at", f"'{value[:40]}' has no UTC offset: add one, like +04:00 or Z"
                )
            seconds = int(moment.timestamp())
        else:
            seconds = self._integer("collected_at", int(value) if isinstance(value, str) else value)
        _check_range(self, "collected_at", seconds)
        return seconds

    def hashtags(self, description: str) -> tuple[str, ...]:
        value = self.record.get("hashtag_names")
        if value is None:
            return extract_hashtags(description)
        if self.from_text and isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                try:
                    value = orjson.loads(text)
                except orjson.JSONDecodeError:
                    raise self.fail("hashtag_names", "is not a JSON list of strings") from None
            else:
                value = [part for part in text.replace(",", " ").split() if part]
        if not isinstance(value, list) or not all(isinstance(tag, str) for tag in value):
            raise self.fail("hashtag_names", "must be a list of strings")
        if len(value) > MAX_HASHTAGS:
            raise self.fail("hashtag_names", f"lists {len(value):,} tags: at most {MAX_HASHTAGS:,}")
        for tag in value:
            self._bounded("hashtag_names", tag, MAX_HASHTAG)
        # Strip leading '#' and spaces in any mix, so that reading a written record back gives
        # the same tags (" # #a" and "a" are one tag).
        return tuple(t for t in (_TAG_EDGE.sub("", tag) for tag in value) if t)


def _check_range(fields: _Fields, name: str, seconds: int) -> None:
    if not MIN_TIMESTAMP <= seconds < MAX_TIMESTAMP:
        raise fields.fail(
            name, f"{seconds} is not a plausible time (Unix seconds between 2014 and 2100)"
        )


def _quote(value: str) -> str:
    """A value as an error shows it: quoted, at most 40 characters, controls escaped."""
    shown = value[:40].encode("unicode_escape").decode("ascii")
    return f"'{shown}'" + ("…" if len(value) > 40 else "")


def _json_type(value: object) -> str:
    return {
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        str: "a string",
        list: "a list",
        dict: "an object",
        type(None): "null",
    }.get(type(value), "a value")
