"""TikTok's Display API: a signed-in creator's profile and public videos, read with their token.

``GET /v2/user/info/`` says who the creator is; ``POST /v2/video/list/`` pages through their
public videos, newest first (``max_count`` at most 20, ``cursor``, ``has_more``);
``POST /v2/video/query/`` reads up to 20 of *their own* video ids at once (an id of someone else's
video is simply not returned). Each answer is stamped with the server's ``Date`` header, the
instant its counts describe, and becomes :class:`DisplayVideo` objects that
:func:`to_observation` turns into the same observations the Research API gives, with source
``display_api``.

The Display API does not report a video's country nor its hashtags: the hashtags are read from the
caption, which TikTok may cut short (at about 150 characters), so :attr:`DisplayVideo.cut_short`
marks captions long enough to have lost a tag. The country is the one the creator stated when
taking part.

Errors: 401 ``access_token_invalid`` is :class:`TokenRejected` (refresh, or sign in again);
``scope_not_authorized`` is :class:`ScopeMissing` (the creator unticked ``video.list``);
429 ``rate_limit_exceeded`` is waited out, then
:class:`~oyren.collect.connectors.login.RateLimited`;
5xx and network failures are retried, then :class:`~oyren.errors.ApiUnavailable`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import orjson

from oyren.clock import Clock, SystemClock
from oyren.collect.connectors.answers import http_date, json_object
from oyren.collect.connectors.login import Backoff, send
from oyren.errors import ApiUnavailable, ConnectorError
from oyren.inputs.observations import MAX_COUNT
from oyren.rules.hashtags import extract_hashtags
from oyren.rules.observations import Observation

__all__ = [
    "CAPTION_CUT",
    "MAX_IDS",
    "MAX_LIST",
    "VIDEO_FIELDS",
    "CreatorInfo",
    "DisplayClient",
    "DisplayVideo",
    "ScopeMissing",
    "TokenRejected",
    "to_observation",
]

USER_PATH = "/v2/user/info/"
LIST_PATH = "/v2/video/list/"
QUERY_PATH = "/v2/video/query/"
MAX_LIST = 20  # max_count of a video list page, the API's maximum
MAX_IDS = 20  # video ids per query, the API's maximum
CAPTION_CUT = 150  # text fields may be cut at about this many characters
USER_FIELDS = ("open_id", "union_id", "avatar_url", "display_name", "username")
VIDEO_FIELDS = (
    "id",
    "create_time",
    "title",
    "video_description",
    "duration",
    "view_count",
    "like_count",
    "comment_count",
    "share_count",
    "share_url",
    "embed_link",
    "cover_image_url",
)
MAX_TEXT = 10_000  # characters of a caption kept; anything longer is not TikTok's


class TokenRejected(ConnectorError):
    """The access token is invalid or expired (401 ``access_token_invalid``)."""


class ScopeMissing(ConnectorError):
    """The creator did not grant a scope Öyrən needs (``scope_not_authorized``)."""


@dataclass(frozen=True, slots=True)
class CreatorInfo:
    """Who signed in."""

    open_id: str
    username: str
    display_name: str
    avatar_url: str | None


@dataclass(frozen=True, slots=True)
class DisplayVideo:
    """One of the creator's public videos as the Display API answered, at ``collected_at``."""

    video_id: str
    create_time: int
    title: str
    description: str
    duration_s: int | None
    view_count: int
    like_count: int | None
    comment_count: int | None
    share_count: int | None
    share_url: str | None
    embed_link: str | None
    cover_image_url: str | None
    collected_at: int

    @property
    def caption(self) -> str:
        """The longer of the description and the title: what the creator wrote."""
        return self.description if len(self.description) >= len(self.title) else self.title

    @property
    def cut_short(self) -> bool:
        """True when the caption is long enough that TikTok may have cut a hashtag off it."""
        return len(self.caption) >= CAPTION_CUT

    @property
    def hashtags(self) -> tuple[str, ...]:
        """The hashtags written in the caption as TikTok returned it."""
        return extract_hashtags(self.caption)


def to_observation(video: DisplayVideo, *, username: str, region: str | None) -> Observation:
    """The video as an observation, in the engine's terms (country: the creator's statement)."""
    return Observation(
        video_id=video.video_id,
        username=username,
        create_time=video.create_time,
        collected_at=video.collected_at,
        view_count=video.view_count,
        region_code=region,
        description=video.caption,
        hashtags=video.hashtags,
        duration_s=video.duration_s,
        like_count=video.like_count,
        comment_count=video.comment_count,
        share_count=video.share_count,
    )


class DisplayClient:
    """Reads a creator's profile and videos with their access token."""

    def __init__(
        self,
        http: httpx.Client,
        api_base: str,
        *,
        clock: Clock | None = None,
        backoff: Backoff | None = None,
    ) -> None:
        self.http = http
        self.api_base = api_base.rstrip("/")
        self.clock = clock or SystemClock()
        self.backoff = backoff or Backoff()
        self.requests = 0  # requests sent, retries included

    def user_info(self, access_token: str) -> CreatorInfo:
        """Who the token belongs to."""
        data, _ = self._call(
            "GET", USER_PATH, access_token, params={"fields": ",".join(USER_FIELDS)}
        )
        user = data.get("user")
        if not isinstance(user, dict):
            raise ApiUnavailable("TikTok's user info answer has no 'user'")
        open_id = user.get("open_id")
        if not isinstance(open_id, str) or not open_id or len(open_id) > 200:
            raise ApiUnavailable("TikTok's user info answer has no valid 'open_id'")
        username = _text(user.get("username"), 64) or ""
        return CreatorInfo(
            open_id=open_id,
            username=username.lstrip("@").replace("\x00", ""),
            display_name=_text(user.get("display_name"), 200) or username,
            avatar_url=_text(user.get("avatar_url"), 2000),
        )

    def list_page(
        self, access_token: str, *, cursor: int | None = None, max_count: int = MAX_LIST
    ) -> tuple[list[DisplayVideo], int | None, bool]:
        """One page of the creator's public videos, newest first: (videos, cursor, has_more)."""
        body: dict[str, Any] = {"max_count": min(max(1, max_count), MAX_LIST)}
        if cursor is not None:
            body["cursor"] = cursor
        data, at = self._call(
            "POST", LIST_PATH, access_token, params={"fields": ",".join(VIDEO_FIELDS)}, json=body
        )
        videos = _videos(data, at)
        next_cursor = data.get("cursor")
        has_more = data.get("has_more") is True
        if not isinstance(next_cursor, int) or isinstance(next_cursor, bool):
            next_cursor, has_more = None, False
        return videos, next_cursor, has_more

    def videos_since(
        self, access_token: str, since: int, *, max_pages: int = 50
    ) -> list[DisplayVideo]:
        """The creator's public videos posted at or after ``since`` (pages until older ones)."""
        found: dict[str, DisplayVideo] = {}
        cursor: int | None = None
        for _ in range(max_pages):
            videos, cursor, has_more = self.list_page(access_token, cursor=cursor)
            for v in videos:
                if v.create_time >= since:
                    found.setdefault(v.video_id, v)
            if not has_more or cursor is None or (videos and videos[-1].create_time < since):
                break
        return sorted(found.values(), key=lambda v: -v.create_time)

    def query(self, access_token: str, video_ids: Sequence[str]) -> list[DisplayVideo]:
        """Read up to :data:`MAX_IDS` of the creator's own videos by id."""
        ids = list(dict.fromkeys(video_ids))
        if not ids:
            return []
        if len(ids) > MAX_IDS:
            raise ValueError(f"at most {MAX_IDS} ids a query, not {len(ids)}")
        data, at = self._call(
            "POST",
            QUERY_PATH,
            access_token,
            params={"fields": ",".join(VIDEO_FIELDS)},
            json={"filters": {"video_ids": ids}},
        )
        wanted = set(ids)
        return [v for v in _videos(data, at) if v.video_id in wanted]

    def query_all(self, access_token: str, video_ids: Sequence[str]) -> Iterator[DisplayVideo]:
        """Read any number of the creator's videos, :data:`MAX_IDS` a request."""
        ids = list(dict.fromkeys(video_ids))
        for start in range(0, len(ids), MAX_IDS):
            yield from self.query(access_token, ids[start : start + MAX_IDS])

    def _call(
        self, method: str, path: str, access_token: str, **kwargs: Any
    ) -> tuple[dict[str, Any], int]:
        self.requests += 1
        if "json" in kwargs:
            kwargs["content"] = orjson.dumps(kwargs.pop("json"))
            kwargs["headers"] = {"Content-Type": "application/json"}
        headers = {"Authorization": f"Bearer {access_token}", **kwargs.pop("headers", {})}
        response = send(
            self.http,
            self.clock,
            self.backoff,
            method,
            self.api_base + path,
            headers=headers,
            **kwargs,
        )
        body = json_object(response)
        if body is None:
            raise ApiUnavailable(f"TikTok answered {response.status_code} without JSON on {path}")
        error = body.get("error")
        code = error.get("code") if isinstance(error, dict) else None
        message = str(error.get("message", ""))[:200] if isinstance(error, dict) else ""
        if response.status_code == 401 or code == "access_token_invalid":
            raise TokenRejected(f"TikTok refused the creator's access token: {message}")
        if code == "scope_not_authorized":
            raise ScopeMissing(
                "the creator did not allow Öyrən to read their public videos (video.list)"
            )
        if response.status_code != 200 or (code not in (None, "ok")):
            raise ConnectorError(
                f"TikTok refused {path}: HTTP {response.status_code} {code}: {message}"
            )
        data = body.get("data")
        if not isinstance(data, dict):
            raise ApiUnavailable(f"TikTok's answer on {path} has no 'data'")
        at = http_date(response.headers.get("date"))
        return data, at if at is not None else int(self.clock.now())


def _text(value: object, limit: int) -> str | None:
    if not isinstance(value, str):
        return None
    return value.replace("\x00", "")[:limit]


def _count(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_COUNT:
        return None
    return value


def _videos(data: dict[str, Any], at: int) -> list[DisplayVideo]:
    raw = data.get("videos")
    if not isinstance(raw, list):
        return []
    out: list[DisplayVideo] = []
    for item in raw:
        if not isinstance(item, dict):
            continue
        vid = item.get("id")
        if isinstance(vid, int) and not isinstance(vid, bool):
            vid = str(vid)
        created = item.get("create_time")
        views = _count(item.get("view_count"))
        if (
            not isinstance(vid, str)
            or not vid.isdigit()
            or len(vid) > 30
            or not isinstance(created, int)
            or isinstance(created, bool)
            or views is None
        ):
            continue  # not a video we can count
        duration = item.get("duration")
        out.append(
            DisplayVideo(
                video_id=vid,
                create_time=created,
                title=_text(item.get("title"), MAX_TEXT) or "",
                description=_text(item.get("video_description"), MAX_TEXT) or "",
                duration_s=duration
                if isinstance(duration, int) and not isinstance(duration, bool) and duration >= 0
                else None,
                view_count=views,
                like_count=_count(item.get("like_count")),
                comment_count=_count(item.get("comment_count")),
                share_count=_count(item.get("share_count")),
                share_url=_text(item.get("share_url"), 2000),
                embed_link=_text(item.get("embed_link"), 2000),
                cover_image_url=_text(item.get("cover_image_url"), 2000),
                collected_at=at,
            )
        )
    return out
