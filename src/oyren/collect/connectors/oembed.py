"""TikTok's oEmbed endpoint: whether a pasted link is a public video, and its author and caption.

``GET https://www.tiktok.com/oembed?url=…`` needs no credentials and answers with ``title`` (the
caption), ``author_name``, ``author_url``, ``thumbnail_url`` and the embed ``html``; it gives no
counts. A removed or private video answers 404. :class:`OEmbedClient` accepts only links that
:func:`oyren.inputs.links.parse_lookup` reads as one TikTok video, so nothing else is ever fetched.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import httpx

from oyren.clock import Clock, SystemClock
from oyren.collect.connectors.answers import json_object
from oyren.collect.connectors.login import Backoff, send
from oyren.errors import ApiUnavailable, ConnectorError
from oyren.inputs.links import parse_lookup

__all__ = ["DEFAULT_OEMBED_URL", "OEmbedClient", "OEmbedVideo", "VideoUnavailable"]

DEFAULT_OEMBED_URL = "https://www.tiktok.com/oembed"
_AUTHOR = re.compile(r"^https://www\.tiktok\.com/@([A-Za-z0-9_.]{1,64})/?$")


class VideoUnavailable(ConnectorError):
    """TikTok says the video does not exist or is not public (oEmbed 404 or 400)."""


@dataclass(frozen=True, slots=True)
class OEmbedVideo:
    """What oEmbed says of one public video."""

    url: str
    author_name: str
    username: str | None  # from author_url, when it has TikTok's shape
    caption: str
    thumbnail_url: str | None


class OEmbedClient:
    """Asks TikTok's oEmbed endpoint about one video link at a time."""

    def __init__(
        self,
        http: httpx.Client,
        url: str = DEFAULT_OEMBED_URL,
        *,
        clock: Clock | None = None,
        backoff: Backoff | None = None,
    ) -> None:
        self.http = http
        self.url = url
        self.clock = clock or SystemClock()
        self.backoff = backoff or Backoff(tries=3)

    def lookup(self, video_url: str) -> OEmbedVideo:
        """Check that ``video_url`` is a public TikTok video and return its author and caption."""
        if "://" not in video_url or parse_lookup(video_url).kind != "video":
            # Only a link read as one TikTok video is ever sent on (never another host's).
            raise VideoUnavailable("this is not a link to a TikTok video")
        response = send(
            self.http, self.clock, self.backoff, "GET", self.url, params={"url": video_url}
        )
        if response.status_code in (400, 403, 404):
            raise VideoUnavailable("TikTok says this video does not exist or is not public")
        body = json_object(response)
        if response.status_code != 200 or body is None:
            raise ApiUnavailable(f"TikTok's oEmbed answered {response.status_code}")
        author_url = body.get("author_url")
        match = _AUTHOR.match(author_url) if isinstance(author_url, str) else None
        thumb = body.get("thumbnail_url")
        return OEmbedVideo(
            url=video_url,
            author_name=str(body.get("author_name") or "")[:200],
            username=match.group(1) if match else None,
            caption=str(body.get("title") or "")[:10_000],
            thumbnail_url=thumb[:2000] if isinstance(thumb, str) else None,
        )
