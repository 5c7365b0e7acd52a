"""The campaign file: one TOML file describes a contest's rules, prizes, themes and partners.

:func:`load_campaign` reads and validates it; :class:`Campaign` is the frozen result that every
other module takes. Dates in the file are local to the campaign's ``timezone``; the window runs
from 00:00:00 on ``starts`` to 23:59:59 on ``ends`` (both days inclusive), so the deadline is a
single instant, :attr:`Campaign.cutoff`.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from oyren.errors import CampaignError
from oyren.rules.hashtags import fold
from oyren.settings import loads_toml

__all__ = [
    "MAX_CAMPAIGN_BYTES",
    "Campaign",
    "Category",
    "Partner",
    "Text",
    "Theme",
    "load_campaign",
    "parse_campaign",
]

LANGUAGES = ("az", "en")
PRIZE_CATEGORIES = ("best_video", "discover", "most_creative")
# The shipped campaign is 6 KiB; a file a hundred times larger is not a campaign description.
MAX_CAMPAIGN_BYTES = 1024 * 1024

_ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
_REGION_RE = re.compile(r"^[A-Z]{2}$")
_USERNAME_RE = re.compile(r"^[A-Za-z0-9_.]{0,64}$")
_TOP_KEYS = {
    "id",
    "name",
    "description",
    "hashtags",
    "query_spellings",
    "timezone",
    "starts",
    "ends",
    "announce_by",
    "regions",
    "min_duration_s",
    "max_prizes_per_creator",
    "categories",
    "themes",
    "partners",
    "rules_version",
}


@dataclass(frozen=True, slots=True)
class Text:
    """A string in each of the product's languages."""

    az: str
    en: str

    def get(self, lang: str) -> str:
        """Return the text in ``lang``, falling back to Azerbaijani."""
        return self.en if lang == "en" else self.az


@dataclass(frozen=True, slots=True)
class Category:
    """A prize category: what it rewards and what the winner gets."""

    id: str
    name: Text
    definition: Text
    prize: Text
    decided_by: str  # "views", "creator_views" or "jury"


@dataclass(frozen=True, slots=True)
class Theme:
    """A topic the contest invites videos on, with words that signal it."""

    id: str
    name: Text
    keywords: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Partner:
    """A partner institution whose videos are showcased but never win."""

    username: str
    name: Text
    kind: str = "institution"

    @property
    def folded(self) -> str:
        """The username as compared with video authors (case-insensitive)."""
        return self.username.strip().lstrip("@").casefold()


@dataclass(frozen=True, slots=True)
class Campaign:
    """A contest's rules as data, validated."""

    id: str
    name: Text
    description: Text
    hashtags: tuple[str, ...]
    query_spellings: tuple[str, ...]
    timezone: str
    starts: date
    ends: date
    announce_by: date | None
    regions: frozenset[str]
    min_duration_s: int
    max_prizes_per_creator: int
    categories: tuple[Category, ...]
    themes: tuple[Theme, ...]
    partners: tuple[Partner, ...]
    rules_version: str
    source_text: str = field(default="", repr=False, compare=False)

    @property
    def tz(self) -> ZoneInfo:
        """The campaign's time zone."""
        return ZoneInfo(self.timezone)

    @property
    def window_start(self) -> datetime:
        """The first instant of the window (00:00:00 local on ``starts``)."""
        return datetime.combine(self.starts, time(0, 0, 0), tzinfo=self.tz)

    @property
    def cutoff(self) -> datetime:
        """The deadline: 23:59:59 local on ``ends``; a post at that second is still in time."""
        return datetime.combine(self.ends, time(23, 59, 59), tzinfo=self.tz)

    @property
    def window_start_ts(self) -> int:
        """:attr:`window_start` as Unix seconds."""
        return int(self.window_start.timestamp())

    @property
    def cutoff_ts(self) -> int:
        """:attr:`cutoff` as Unix seconds."""
        return int(self.cutoff.timestamp())

    @property
    def folded_hashtags(self) -> frozenset[str]:
        """The campaign hashtags in folded form, for matching."""
        return frozenset(fold(tag) for tag in self.hashtags)

    @property
    def partner_usernames(self) -> frozenset[str]:
        """Folded usernames of partners whose account is known."""
        return frozenset(p.folded for p in self.partners if p.folded)

    @property
    def digest(self) -> str:
        """SHA-256 of the file's text, naming this exact version of the rules."""
        return hashlib.sha256(self.source_text.encode("utf-8")).hexdigest()

    def local(self, ts: int) -> datetime:
        """Return Unix seconds ``ts`` as an aware datetime in the campaign's time zone."""
        return datetime.fromtimestamp(ts, tz=self.tz)

    def day_ends(self, until: int) -> list[datetime]:
        """The last second of each contest day begun by ``until``; the running day ends, for
        now, at the last full hour, so series over days change hourly rather than constantly."""
        out = []
        day = self.starts
        while day <= self.ends:
            start = datetime.combine(day, time(0, 0, 0), tzinfo=self.tz)
            if start.timestamp() > until:
                break
            end = datetime.combine(day, time(23, 59, 59), tzinfo=self.tz)
            out.append(min(end, self.local(max(int(start.timestamp()), until - until % 3600))))
            day += timedelta(days=1)
        return out

    def category(self, category_id: str) -> Category | None:
        """Return the category with this id, if the campaign has it."""
        return next((c for c in self.categories if c.id == category_id), None)


def load_campaign(path: str | Path) -> Campaign:
    """Read and validate a campaign file, raising :class:`CampaignError` naming file and key."""
    p = Path(path)
    try:
        with p.open("rb") as handle:
            # One byte past the limit is enough to know a file is too big, without reading it.
            raw = handle.read(MAX_CAMPAIGN_BYTES + 1)
        if len(raw) > MAX_CAMPAIGN_BYTES:
            raise CampaignError(
                f"larger than {MAX_CAMPAIGN_BYTES // 1024} KiB: not a campaign file", path=str(p)
            )
        # Bytes decoded as they are (no newline translation), so the digest names the file.
        text = raw.decode("utf-8")
    except FileNotFoundError:
        raise CampaignError("file not found", path=str(p)) from None
    except UnicodeDecodeError as exc:
        raise CampaignError(f"not UTF-8 text ({exc.reason})", path=str(p)) from None
    except OSError as exc:
        raise CampaignError(f"cannot read: {exc.strerror}", path=str(p)) from None
    return parse_campaign(text, path=str(p))


def parse_campaign(text: str, *, path: str = "<campaign>") -> Campaign:
    """Validate campaign TOML ``text``; ``path`` only names the source in errors."""
    if len(text) > MAX_CAMPAIGN_BYTES:
        raise CampaignError(
            f"larger than {MAX_CAMPAIGN_BYTES // 1024} KiB: not a campaign file", path=path
        )
    try:
        data = loads_toml(text)
    except tomllib.TOMLDecodeError as exc:
        raise CampaignError(f"not valid TOML: {exc}", path=path) from None
    v = _Validator(path)
    unknown = sorted(set(data) - _TOP_KEYS)
    if unknown:
        raise CampaignError(
            f"unknown key (known keys: {', '.join(sorted(_TOP_KEYS))})", path=path, key=unknown[0]
        )
    campaign_id = v.string(data, "id")
    if not _ID_RE.match(campaign_id):
        raise CampaignError(
            "must be lowercase letters, digits and '-', starting with a letter or digit",
            path=path,
            key="id",
        )
    hashtags = tuple(v.string_list(data, "hashtags", nonempty=True))
    for i, tag in enumerate(hashtags):
        if not fold(tag) or any(ch.isspace() for ch in tag.strip()):
            raise CampaignError(
                "must be a single word, like 'TikTokdanÖyrən'", path=path, key=f"hashtags[{i}]"
            )
    timezone = v.string(data, "timezone")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise CampaignError(
            f"unknown IANA time zone '{timezone}' (e.g. 'Asia/Baku')", path=path, key="timezone"
        ) from None
    starts = v.date(data, "starts")
    ends = v.date(data, "ends")
    if ends < starts:
        raise CampaignError(f"ends ({ends}) is before starts ({starts})", path=path, key="ends")
    announce_by = v.date(data, "announce_by") if "announce_by" in data else None
    if announce_by is not None and announce_by < ends:
        raise CampaignError("must not be before 'ends'", path=path, key="announce_by")
    regions = v.string_list(data, "regions", nonempty=True)
    for i, region in enumerate(regions):
        if not _REGION_RE.match(region):
            raise CampaignError(
                "must be a two-letter ISO country code in capitals, like 'AZ'",
                path=path,
                key=f"regions[{i}]",
            )
    min_duration = v.integer(data, "min_duration_s", minimum=0)
    max_prizes = v.integer(data, "max_prizes_per_creator", minimum=1)
    categories = tuple(
        _category(v, item, f"categories[{i}]")
        for i, item in enumerate(v.tables(data, "categories"))
    )
    ids = [c.id for c in categories]
    if len(set(ids)) != len(ids):
        raise CampaignError("two categories share an id", path=path, key="categories")
    themes = tuple(
        _theme(v, item, f"themes[{i}]") for i, item in enumerate(v.tables(data, "themes"))
    )
    partners = tuple(
        _partner(v, item, f"partners[{i}]") for i, item in enumerate(v.tables(data, "partners"))
    )
    known = [p.folded for p in partners if p.folded]
    if len(set(known)) != len(known):
        raise CampaignError("two partners share a username", path=path, key="partners")
    return Campaign(
        id=campaign_id,
        name=v.text(data, "name"),
        description=v.text(data, "description") if "description" in data else Text("", ""),
        hashtags=hashtags,
        query_spellings=tuple(v.string_list(data, "query_spellings"))
        if "query_spellings" in data
        else (),
        timezone=timezone,
        starts=starts,
        ends=ends,
        announce_by=announce_by,
        regions=frozenset(regions),
        min_duration_s=min_duration,
        max_prizes_per_creator=max_prizes,
        categories=categories,
        themes=themes,
        partners=partners,
        rules_version=v.string(data, "rules_version") if "rules_version" in data else "1",
        source_text=text,
    )


def _category(v: _Validator, item: dict[str, Any], key: str) -> Category:
    category_id = v.string(item, "id", prefix=key)
    if category_id not in PRIZE_CATEGORIES:
        raise CampaignError(
            f"must be one of {', '.join(PRIZE_CATEGORIES)}", path=v.path, key=f"{key}.id"
        )
    decided_by = {"best_video": "views", "discover": "creator_views", "most_creative": "jury"}
    return Category(
        id=category_id,
        name=v.text(item, "name", prefix=key),
        definition=v.text(item, "definition", prefix=key),
        prize=v.text(item, "prize", prefix=key),
        decided_by=decided_by[category_id],
    )


def _theme(v: _Validator, item: dict[str, Any], key: str) -> Theme:
    keywords = v.string_list(item, "keywords", prefix=key) if "keywords" in item else []
    return Theme(
        id=v.string(item, "id", prefix=key),
        name=v.text(item, "name", prefix=key),
        keywords=tuple(keywords),
    )


def _partner(v: _Validator, item: dict[str, Any], key: str) -> Partner:
    username = v.string(item, "username", prefix=key, allow_empty=True).strip().lstrip("@")
    if not _USERNAME_RE.match(username):
        raise CampaignError(
            "a TikTok username has only letters, digits, '_' and '.'",
            path=v.path,
            key=f"{key}.username",
        )
    kind = v.string(item, "kind", prefix=key) if "kind" in item else "institution"
    return Partner(username=username, name=v.text(item, "name", prefix=key), kind=kind)


class _Validator:
    """Typed getters that raise :class:`CampaignError` naming the key."""

    def __init__(self, path: str) -> None:
        self.path = path

    def _get(self, data: dict[str, Any], key: str, prefix: str) -> Any:
        full = f"{prefix}.{key}" if prefix else key
        if key not in data:
            raise CampaignError("required key is missing", path=self.path, key=full)
        return data[key]

    def _fail(self, key: str, prefix: str, message: str) -> CampaignError:
        return CampaignError(message, path=self.path, key=f"{prefix}.{key}" if prefix else key)

    def string(
        self, data: dict[str, Any], key: str, *, prefix: str = "", allow_empty: bool = False
    ) -> str:
        value = self._get(data, key, prefix)
        if not isinstance(value, str):
            raise self._fail(key, prefix, f"must be a string, not {_kind(value)}")
        if not allow_empty and not value.strip():
            raise self._fail(key, prefix, "must not be empty")
        return value

    def string_list(
        self, data: dict[str, Any], key: str, *, prefix: str = "", nonempty: bool = False
    ) -> list[str]:
        value = self._get(data, key, prefix)
        if not isinstance(value, list) or not all(isinstance(x, str) and x.strip() for x in value):
            raise self._fail(key, prefix, "must be a list of non-empty strings")
        if nonempty and not value:
            raise self._fail(key, prefix, "must list at least one value")
        return [x.strip() for x in value]

    def integer(self, data: dict[str, Any], key: str, *, minimum: int) -> int:
        value = self._get(data, key, "")
        if isinstance(value, bool) or not isinstance(value, int):
            raise self._fail(key, "", f"must be an integer, not {_kind(value)}")
        if value < minimum:
            raise self._fail(key, "", f"must be at least {minimum}")
        return value

    def date(self, data: dict[str, Any], key: str) -> date:
        value = self._get(data, key, "")
        if isinstance(value, datetime):
            raise self._fail(key, "", "must be a date without a time, like 2024-02-21")
        if isinstance(value, date):
            return value
        if isinstance(value, str):
            try:
                return date.fromisoformat(value)
            except ValueError:
                pass
        raise self._fail(key, "", "must be a date like 2024-02-21")

    def text(self, data: dict[str, Any], key: str, *, prefix: str = "") -> Text:
        value = self._get(data, key, prefix)
        full = f"{prefix}.{key}" if prefix else key
        if isinstance(value, str):
            raise CampaignError(
                f"must give both languages: {full}.az and {full}.en", path=self.path, key=full
            )
        if not isinstance(value, dict):
            raise CampaignError(
                f"must be a table with az and en, not {_kind(value)}", path=self.path, key=full
            )
        return Text(
            az=self.string(value, "az", prefix=full), en=self.string(value, "en", prefix=full)
        )

    def tables(self, data: dict[str, Any], key: str) -> list[dict[str, Any]]:
        if key not in data:
            return []
        value = data[key]
        if not isinstance(value, list) or not all(isinstance(x, dict) for x in value):
            raise CampaignError(f"must be an array of tables ([[{key}]])", path=self.path, key=key)
        return value


def _kind(value: object) -> str:
    return {
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        str: "a string",
        list: "a list",
        dict: "a table",
    }.get(type(value), type(value).__name__)
