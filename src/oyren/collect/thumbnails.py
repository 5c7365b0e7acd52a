"""Thumbnails: each video's image fetched once, checked, and cached in the store.

Pages show a video's thumbnail from Öyrən's own origin (``/campaigns/ID/thumbs/VID``), so a
reader's browser asks the platform for nothing before they click "play". The images come from
two places, both addresses that stop working after a while (TikTok signs them with an
``x-expires`` time):

- oEmbed's ``thumbnail_url`` for any public video (no credentials needed), looked up when the
  stored address is missing or will expire within :data:`MARGIN_S`;
- the Display API's ``cover_image_url``, read with a signed-in creator's token at each refresh
  (:func:`record_covers`), a fresh address every time.

:func:`refresh_thumbnails` fetches what :func:`oyren.store.thumbnails.thumbnails_due` asks for:
videos without an image and images older than ``max_age_s`` (a creator may change their cover).
:class:`ImageFetcher` treats every address as hostile: only ``https`` on the platform's image
hosts (:data:`TIKTOK_IMAGE_HOSTS`, or the hosts a deployment names), no redirect to another host,
at most :data:`~oyren.inputs.images.MAX_BYTES` read, and only JPEG, PNG or WebP recognised by
their bytes (:func:`oyren.inputs.images.read_image`). ``oyren thumbnails --campaign ID`` runs
it; ``oyren creators refresh`` records the covers it reads and fetches them in the same run.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx

from oyren.clock import Clock, SystemClock
from oyren.collect.connectors.oembed import OEmbedClient
from oyren.errors import ConnectorError, InputError
from oyren.inputs.images import MAX_BYTES, Image, read_image
from oyren.inputs.links import video_url
from oyren.store.db import Engine, Session, transaction
from oyren.store.thumbnails import (
    note_thumbnail_url,
    save_thumbnail,
    thumbnail_failed,
    thumbnails_due,
)

__all__ = [
    "DEFAULT_TTL_S",
    "MARGIN_S",
    "MAX_AGE_S",
    "TIKTOK_IMAGE_HOSTS",
    "ImageFetcher",
    "ImagePolicy",
    "ThumbnailRefused",
    "ThumbnailReport",
    "record_covers",
    "refresh_thumbnails",
    "url_expiry",
]

# Where TikTok serves covers and thumbnails from (a host or any of its subdomains).
TIKTOK_IMAGE_HOSTS = (
    "tiktokcdn.com",
    "tiktokcdn-us.com",
    "tiktokcdn-eu.com",
    "ibyteimg.com",
    "byteimg.com",
)
DEFAULT_TTL_S = 6 * 3600  # an address without x-expires: the Display API documents six hours
LONGEST_TTL_S = 30 * 86400  # an x-expires further away than this is not believed
MARGIN_S = 15 * 60  # an address expiring sooner than this is looked up again first
MAX_AGE_S = 7 * 86400  # images older than this are fetched again
MAX_REDIRECTS = 3
TIMEOUT_S = 10.0


class ThumbnailRefused(ConnectorError):
    """An image address or answer that Öyrən will not use (names the address and why)."""


@dataclass(frozen=True, slots=True)
class ImagePolicy:
    """Which image addresses may be fetched: ``https`` on ``hosts`` (or their subdomains), and
    exactly the ``origins`` named (``scheme://host[:port]``, e.g. a sandbox on loopback)."""

    hosts: tuple[str, ...] = TIKTOK_IMAGE_HOSTS
    origins: tuple[str, ...] = ()

    def check(self, url: str) -> str:
        """Return the address's origin, or raise :class:`ThumbnailRefused`."""
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            raise ThumbnailRefused(f"{url[:200]}: not an address") from None
        host = (parts.hostname or "").lower()
        if parts.username or parts.password:
            raise ThumbnailRefused(f"{url[:200]}: an address with credentials")
        origin = f"{parts.scheme}://{host}" + (f":{port}" if port is not None else "")
        if origin in self.origins:
            return origin
        if parts.scheme != "https":
            raise ThumbnailRefused(f"{url[:200]}: only https addresses")
        if port not in (None, 443) or not any(
            host == h or host.endswith("." + h) for h in self.hosts
        ):
            raise ThumbnailRefused(f"{url[:200]}: {host or 'no host'} is not an image host")
        return origin


def url_expiry(url: str, *, seen_at: int) -> int:
    """When an image address stops working: its ``x-expires`` (within 30 days), else 6 hours."""
    values = parse_qs(urlsplit(url).query).get("x-expires", [])
    if values and values[0].isdigit():
        expires = int(values[0])
        if seen_at < expires <= seen_at + LONGEST_TTL_S:
            return expires
        if expires <= seen_at:
            return expires  # already expired: looked up again before use
    return seen_at + DEFAULT_TTL_S


class ImageFetcher:
    """Fetches one image address under a :class:`ImagePolicy` and checks what comes back."""

    def __init__(
        self, http: httpx.Client, *, policy: ImagePolicy | None = None, max_bytes: int = MAX_BYTES
    ) -> None:
        self.http = http
        self.policy = policy or ImagePolicy()
        self.max_bytes = max_bytes

    def fetch(self, url: str) -> Image:
        """The checked image at ``url``, or :class:`ThumbnailRefused` saying why not."""
        origin = self.policy.check(url)
        for _ in range(MAX_REDIRECTS + 1):
            try:
                with self.http.stream(
                    "GET", url, follow_redirects=False, timeout=TIMEOUT_S,
                    headers={"Accept": "image/jpeg, image/png, image/webp"},
                ) as response:  # fmt: skip
                    if response.is_redirect:
                        target = urljoin(url, response.headers.get("location", ""))
                        if self.policy.check(target) != origin:
                            raise ThumbnailRefused(
                                f"{url[:200]}: redirected to another host ({target[:200]})"
                            )
                        url = target
                        continue
                    return self._read(url, response)
            except httpx.HTTPError as exc:
                raise ThumbnailRefused(f"{url[:200]}: {type(exc).__name__}") from None
        raise ThumbnailRefused(f"{url[:200]}: more than {MAX_REDIRECTS} redirects")

    def _read(self, url: str, response: httpx.Response) -> Image:
        if response.status_code != 200:
            raise ThumbnailRefused(f"{url[:200]}: answered {response.status_code}")
        kind = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if not kind.startswith("image/") or kind == "image/svg+xml":
            raise ThumbnailRefused(f"{url[:200]}: not a raster image ({kind[:60] or 'no type'})")
        length = response.headers.get("content-length", "")
        if length.isdigit() and int(length) > self.max_bytes:
            raise ThumbnailRefused(f"{url[:200]}: {int(length):,} bytes, more than allowed")
        data = bytearray()
        for chunk in response.iter_bytes():
            data += chunk
            if len(data) > self.max_bytes:
                raise ThumbnailRefused(f"{url[:200]}: more than {self.max_bytes:,} bytes")
        try:
            return read_image(bytes(data), source=url[:200])
        except InputError as exc:
            raise ThumbnailRefused(str(exc)) from None


@dataclass
class ThumbnailReport:
    """What one refresh did."""

    due: int = 0
    fetched: int = 0
    looked_up: int = 0
    failed: int = 0
    problems: list[str] = field(default_factory=list)


def record_covers(engine: Engine, campaign_id: str, covers: Mapping[str, str], *, at: int) -> None:
    """Keep the cover addresses the Display API gave (video id -> address) with their expiry."""
    with transaction(engine) as session:
        for video_id, url in covers.items():
            note_thumbnail_url(
                session, campaign_id=campaign_id, video_id=video_id, url=url,
                source="display_api", expires_at=url_expiry(url, seen_at=at), at=at,
            )  # fmt: skip


def refresh_thumbnails(
    engine: Engine,
    campaign_id: str,
    fetcher: ImageFetcher,
    *,
    oembed: OEmbedClient | None,
    clock: Clock | None = None,
    limit: int = 500,
    max_age_s: int = MAX_AGE_S,
    video_ids: list[str] | None = None,
    progress: Callable[[int, int], None] | None = None,
    batch: int = 50,
) -> ThumbnailReport:
    """Fetch and store the images of up to ``limit`` videos that need one, most viewed first.

    What is found is written ``batch`` videos a transaction, so an interruption keeps what was
    fetched before the last batch and a large campaign does not wait on a commit per video."""
    clock = clock or SystemClock()
    now = int(clock.now())
    with transaction(engine) as session:
        due = thumbnails_due(
            session, campaign_id=campaign_id, now=now, max_age_s=max_age_s, limit=limit,
            video_ids=video_ids,
        )  # fmt: skip
    report = ThumbnailReport(due=len(due))
    pending: list[Callable[[Session], object]] = []

    def write() -> None:
        with transaction(engine) as session:
            for change in pending:
                change(session)
        pending.clear()

    for done, item in enumerate(due, start=1):
        now = int(clock.now())
        url = item.url
        try:
            if url is None or item.url_expires_at is None or item.url_expires_at <= now + MARGIN_S:
                report.looked_up += oembed is not None
                url = _look_up(item.video_id, item.username, oembed)
                pending.append(partial(
                    note_thumbnail_url, campaign_id=campaign_id, video_id=item.video_id, url=url,
                    source="oembed", expires_at=url_expiry(url, seen_at=now), at=now,
                ))  # fmt: skip
            image = fetcher.fetch(url)
        except ConnectorError as exc:
            report.failed += 1
            if len(report.problems) < 20:
                report.problems.append(f"{item.video_id}: {exc}")
            pending.append(partial(
                thumbnail_failed, campaign_id=campaign_id, video_id=item.video_id,
                problem=str(exc), at=now,
            ))  # fmt: skip
        else:
            pending.append(partial(
                save_thumbnail, campaign_id=campaign_id, video_id=item.video_id, image=image,
                at=now,
            ))  # fmt: skip
            report.fetched += 1
        if len(pending) >= batch:
            write()
        if progress is not None:
            progress(done, len(due))
    write()
    return report


def _look_up(video_id: str, username: str, oembed: OEmbedClient | None) -> str:
    """A fresh image address from oEmbed."""
    link = video_url(username, video_id)
    if oembed is None or link is None:
        raise ThumbnailRefused(f"no working image address for video {video_id}")
    found = oembed.lookup(link).thumbnail_url
    if not found:
        raise ThumbnailRefused(f"oEmbed gave no thumbnail for video {video_id}")
    return found
