"""Thumbnails fetched, checked and cached: from the sandbox's oEmbed and covers, and refused when
the address or the answer is hostile (the network edge faked with httpx.MockTransport)."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from sqlalchemy import Engine

from oyren.clock import VirtualClock
from oyren.collect.connectors.oembed import OEmbedClient
from oyren.collect.thumbnails import (
    DEFAULT_TTL_S,
    ImageFetcher,
    ImagePolicy,
    ThumbnailRefused,
    record_covers,
    refresh_thumbnails,
    url_expiry,
)
from oyren.inputs.images import MAX_BYTES
from oyren.rules.campaign import Campaign
from oyren.sandbox.api import SandboxAPI
from oyren.sandbox.login import THUMB_TTL_S, thumbnail_png
from oyren.sandbox.simulate import simulate
from oyren.store.db import transaction
from oyren.store.thumbnails import get_thumbnail

CDN = "https://p16-sign.tiktokcdn.com/obj/cover.jpeg"
SANDBOX = "http://sandbox.test"
CID = "sandbox-2024"


def fetcher(handler: Callable[[httpx.Request], httpx.Response], **kw: object) -> ImageFetcher:
    return ImageFetcher(httpx.Client(transport=httpx.MockTransport(handler)), **kw)  # type: ignore[arg-type]


def png(_: httpx.Request) -> httpx.Response:
    return httpx.Response(200, headers={"content-type": "image/png"}, content=thumbnail_png("9"))


# --- The fetcher: only checked raster images from the platform's image hosts -----------------


def test_a_png_from_tiktoks_image_host_is_fetched() -> None:
    image = fetcher(png).fetch(CDN)
    assert (image.content_type, image.width, image.height) == ("image/png", 72, 128)


@pytest.mark.parametrize(
    "url",
    [
        "http://p16-sign.tiktokcdn.com/x.jpeg",  # not https
        "https://evil.example/x.jpeg",
        "https://tiktokcdn.com.evil.example/x.jpeg",
        "https://user:pw@p16-sign.tiktokcdn.com/x.jpeg",
        "https://169.254.169.254/latest/meta-data",
        "file:///etc/passwd",
        "javascript:alert(1)",
        "https://p16-sign.tiktokcdn.com:8443/x.jpeg",
        "http://sandbox.test.evil/x.png",
        "https://[::1/x",
    ],
)
def test_addresses_outside_the_policy_are_never_asked(url: str) -> None:
    asked: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        asked.append(request)
        return png(request)

    with pytest.raises(ThumbnailRefused):
        fetcher(handler).fetch(url)
    assert asked == []


def test_a_huge_image_is_refused_by_its_length_and_by_what_arrives() -> None:
    def declared(_: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-type": "image/jpeg",
                                            "content-length": str(50 * MAX_BYTES)})  # fmt: skip

    with pytest.raises(ThumbnailRefused, match="50,000,000 bytes, more than allowed"):
        fetcher(declared).fetch(CDN)

    def streamed(_: httpx.Request) -> httpx.Response:
        chunks = (thumbnail_png("9") if i == 0 else b"\x00" * 65536 for i in range(40))
        return httpx.Response(200, headers={"content-type": "image/png"}, content=chunks)

    with pytest.raises(ThumbnailRefused, match=f"more than {MAX_BYTES:,} bytes"):
        fetcher(streamed).fetch(CDN)


def test_a_huge_canvas_in_a_small_image_is_refused() -> None:
    data = thumbnail_png("9")
    bomb = data[:16] + (50_000).to_bytes(4, "big") * 2 + data[24:]

    def handler(_: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-type": "image/png"}, content=bomb)

    with pytest.raises(ThumbnailRefused, match="50,000 × 50,000 pixels"):
        fetcher(handler).fetch(CDN)


@pytest.mark.parametrize(
    ("kind", "body", "problem"),
    [
        ("text/html", b"<html><script>alert(1)</script></html>", "not a raster image"),
        (
            "image/svg+xml",
            b'<svg xmlns="http://www.w3.org/2000/svg"><script>x()</script></svg>',
            "not a raster image",
        ),
        (
            "image/png",
            b'<svg xmlns="http://www.w3.org/2000/svg" onload="x()"/>',
            "not a JPEG, PNG or WebP image",
        ),  # the header lies: the bytes decide
        ("", thumbnail_png("9"), "not a raster image"),
    ],
    ids=["html", "svg-with-script", "svg-called-png", "no-type"],
)
def test_what_is_not_a_raster_image_is_refused(kind: str, body: bytes, problem: str) -> None:
    def handler(_: httpx.Request) -> httpx.Response:
        headers = {"content-type": kind} if kind else {}
        return httpx.Response(200, headers=headers, content=body)

    with pytest.raises(ThumbnailRefused, match=problem):
        fetcher(handler).fetch(CDN)


def test_a_redirect_to_another_host_is_refused_and_one_on_the_same_host_followed() -> None:
    def away(request: httpx.Request) -> httpx.Response:
        if request.url.host == "p16-sign.tiktokcdn.com":
            return httpx.Response(302, headers={"location": "https://p19.tiktokcdn.com/x.png"})
        return png(request)

    with pytest.raises(ThumbnailRefused, match="redirected to another host"):
        fetcher(away).fetch(CDN)

    def outside(_: httpx.Request) -> httpx.Response:
        return httpx.Response(301, headers={"location": "http://127.0.0.1:8000/admin"})

    with pytest.raises(ThumbnailRefused, match="only https"):
        fetcher(outside).fetch(CDN)

    def moved(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/obj/cover.jpeg":
            return httpx.Response(302, headers={"location": "/obj/other.png"})
        return png(request)

    assert fetcher(moved).fetch(CDN).content_type == "image/png"

    def loop(_: httpx.Request) -> httpx.Response:
        return httpx.Response(302, headers={"location": "/again"})

    with pytest.raises(ThumbnailRefused, match="more than 3 redirects"):
        fetcher(loop).fetch(CDN)


def test_errors_and_dropped_connections_are_refusals() -> None:
    def forbidden(_: httpx.Request) -> httpx.Response:
        return httpx.Response(403, content=b"Access denied")

    with pytest.raises(ThumbnailRefused, match="answered 403"):
        fetcher(forbidden).fetch(CDN)

    def dropped(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(ThumbnailRefused, match="ConnectError"):
        fetcher(dropped).fetch(CDN)


def test_an_address_expires_at_its_x_expires_or_after_six_hours() -> None:
    assert url_expiry(CDN + "?x-expires=1700003600&x-signature=a", seen_at=1700000000) == 1700003600
    assert url_expiry(CDN, seen_at=1000) == 1000 + DEFAULT_TTL_S
    assert url_expiry(CDN + "?x-expires=99999999999", seen_at=1000) == 1000 + DEFAULT_TTL_S
    assert url_expiry(CDN + "?x-expires=500", seen_at=1000) == 500
    assert url_expiry(CDN + "?x-expires=soon", seen_at=1000) == 1000 + DEFAULT_TTL_S


# --- Whole refreshes against the sandbox's oEmbed and images -----------------------------------


@pytest.fixture
def api(sandbox: Campaign) -> SandboxAPI:
    """The sandbox behind the test database's 300 simulated videos, a week after the deadline."""
    sim = simulate(sandbox, videos=300, seed=5, observations_per_video=6)
    return SandboxAPI(sim.videos, VirtualClock(sandbox.cutoff_ts + 7 * 86400))


def sandbox_parts(api: SandboxAPI) -> tuple[ImageFetcher, OEmbedClient]:
    http = httpx.Client(transport=api.transport())
    policy = ImagePolicy(origins=(SANDBOX,))
    return ImageFetcher(http, policy=policy), OEmbedClient(
        http, SANDBOX + "/oembed", clock=api.clock
    )


def test_refresh_looks_up_oembed_and_caches_checked_images(
    sandbox_db: Engine, api: SandboxAPI
) -> None:
    images, oembed = sandbox_parts(api)
    seen: list[tuple[int, int]] = []
    report = refresh_thumbnails(sandbox_db, CID, images, oembed=oembed, clock=api.clock,
                                limit=12, progress=lambda d, t: seen.append((d, t)))  # fmt: skip
    assert (report.due, report.looked_up, report.fetched + report.failed) == (12, 12, 12)
    assert seen[-1] == (12, 12) and report.fetched == api.login.stats["thumbs"] > 0
    simulated = {v.video_id for v in api.videos}
    stored = stored_ids(sandbox_db, simulated)
    assert len(stored) == report.fetched
    # The test database's hand-made videos are unknown to the sandbox: oEmbed says so.
    failed = [p.split(":")[0] for p in report.problems]
    assert len(failed) == report.failed and not set(failed) & simulated
    assert all("does not exist or is not public" in p for p in report.problems)
    with transaction(sandbox_db) as session:
        first = get_thumbnail(session, campaign_id=CID, video_id=sorted(stored)[0])
    assert first is not None and first.content_type == "image/png"
    # A second run fetches the next ones; nothing fetched or failed is asked again.
    again = refresh_thumbnails(sandbox_db, CID, images, oembed=oembed, clock=api.clock, limit=5)
    assert again.due == 5 and not set(stored) & stored_ids(sandbox_db, simulated) - set(stored)
    assert (
        api.login.stats["thumbs"]
        == report.fetched + again.fetched
        == len(stored_ids(sandbox_db, simulated))
    )


def stored_ids(engine: Engine, ids: set[str]) -> set[str]:
    """The ids among ``ids`` whose image is stored."""
    with transaction(engine) as session:
        return {i for i in ids if get_thumbnail(session, campaign_id=CID, video_id=i)}


def test_covers_near_their_expiry_are_looked_up_again_before_use(
    sandbox_db: Engine, api: SandboxAPI
) -> None:
    images, oembed = sandbox_parts(api)
    now = int(api.clock.now())
    video = api.videos[0].video_id
    # A cover address read from the Display API five hours and fifty minutes ago: it expires in
    # ten minutes, so it is not used; oEmbed gives a fresh one.
    stale = f"{SANDBOX}/thumbs/{video}.png?x-expires={now + 600}"
    record_covers(sandbox_db, CID, {video: stale}, at=now - THUMB_TTL_S + 600)
    report = refresh_thumbnails(sandbox_db, CID, images, oembed=oembed, clock=api.clock,
                                video_ids=[video])  # fmt: skip
    assert (report.looked_up, report.fetched) == (1, 1)

    # A fresh cover is used as it is, without asking oEmbed.
    other = api.videos[1].video_id
    fresh = f"{SANDBOX}/thumbs/{other}.png?x-expires={now + THUMB_TTL_S}"
    record_covers(sandbox_db, CID, {other: fresh}, at=now)
    report = refresh_thumbnails(sandbox_db, CID, images, oembed=None, clock=api.clock,
                                video_ids=[other])  # fmt: skip
    assert (report.looked_up, report.fetched) == (0, 1)


def test_an_expired_address_without_oembed_fails_and_waits(
    sandbox_db: Engine, api: SandboxAPI
) -> None:
    images, _ = sandbox_parts(api)
    now = int(api.clock.now())
    video = api.videos[2].video_id
    record_covers(sandbox_db, CID, {video: f"{SANDBOX}/thumbs/{video}.png?x-expires={now - 1}"},
                  at=now - THUMB_TTL_S)  # fmt: skip
    report = refresh_thumbnails(sandbox_db, CID, images, oembed=None, clock=api.clock,
                                video_ids=[video])  # fmt: skip
    assert (report.fetched, report.failed) == (0, 1)
    assert "no working image address" in report.problems[0]
    # The sandbox refuses an expired address as TikTok's CDN does.
    with pytest.raises(ThumbnailRefused, match="answered 403"):
        images.fetch(f"{SANDBOX}/thumbs/{video}.png?x-expires={now - 1}")
    # The failed video waits before it is tried again.
    report = refresh_thumbnails(sandbox_db, CID, images, oembed=None, clock=api.clock,
                                video_ids=[video])  # fmt: skip
    assert report.due == 0
