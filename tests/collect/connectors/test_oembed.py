"""oEmbed: whether a pasted link is a public TikTok video, and what its author and caption are."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest

from oyren.clock import VirtualClock
from oyren.collect.connectors.login import Backoff
from oyren.collect.connectors.oembed import OEmbedClient, VideoUnavailable
from oyren.errors import ApiUnavailable
from oyren.rules.campaign import Campaign
from tests.creatorsupport import sandbox_box

NOW = 1_713_729_599
LINK = "https://www.tiktok.com/@samir.explains/video/7399000000000000004"
Handler = Callable[[httpx.Request], httpx.Response]
PUBLIC = {
    "version": "1.0",
    "type": "video",
    "title": "Elektrik dövrəsi #TikTokdanÖyrən",
    "author_url": "https://www.tiktok.com/@samir.explains",
    "author_name": "Samir",
    "thumbnail_url": "https://p16-sign.tiktokcdn.com/x.jpeg",
    "html": "<blockquote></blockquote>",
}


@pytest.fixture
def client_for() -> Iterator[Callable[[Handler], OEmbedClient]]:
    clients: list[httpx.Client] = []

    def make(handler: Handler) -> OEmbedClient:
        http = httpx.Client(transport=httpx.MockTransport(handler))
        clients.append(http)
        backoff = Backoff(tries=2, first_wait_s=1.0)
        return OEmbedClient(http, "https://oembed.test/oembed", clock=VirtualClock(NOW),
                            backoff=backoff)  # fmt: skip

    yield make
    for http in clients:
        http.close()


def test_a_public_video_gives_its_author_and_caption(
    client_for: Callable[[Handler], OEmbedClient],
) -> None:
    asked: list[httpx.URL] = []

    def handler(request: httpx.Request) -> httpx.Response:
        asked.append(request.url)
        return httpx.Response(200, json=PUBLIC)

    video = client_for(handler).lookup(LINK)
    assert (video.url, video.username, video.author_name) == (LINK, "samir.explains", "Samir")
    assert video.caption == "Elektrik dövrəsi #TikTokdanÖyrən"
    assert video.thumbnail_url == "https://p16-sign.tiktokcdn.com/x.jpeg"
    assert [(u.host, u.path, u.params["url"]) for u in asked] == [("oembed.test", "/oembed", LINK)]


@pytest.mark.parametrize("status", [400, 403, 404])
def test_a_removed_or_private_video_is_unavailable(
    client_for: Callable[[Handler], OEmbedClient], status: int
) -> None:
    body = {"status_msg": "Something went wrong", "code": status}
    with pytest.raises(VideoUnavailable, match="not public"):
        client_for(lambda r: httpx.Response(status, json=body)).lookup(LINK)


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(200, text="<html>not json</html>"),
        httpx.Response(200, json=["a", "list"]),
        httpx.Response(302, headers={"location": "https://evil.example/"}),
        httpx.Response(503),
    ],
)
def test_an_answer_that_is_not_an_oembed_object_is_an_outage(
    client_for: Callable[[Handler], OEmbedClient], answer: httpx.Response
) -> None:
    with pytest.raises(ApiUnavailable):
        client_for(lambda r: answer).lookup(LINK)


def test_hostile_fields_are_cut_and_a_foreign_author_link_gives_no_username(
    client_for: Callable[[Handler], OEmbedClient],
) -> None:
    hostile = {
        "title": "#a " * 5000,
        "author_url": "https://evil.example/@samir.explains",
        "author_name": "<script>alert(1)</script>" * 20,
        "thumbnail_url": 42,
    }
    video = client_for(lambda r: httpx.Response(200, json=hostile)).lookup(LINK)
    assert video.username is None and video.thumbnail_url is None
    assert len(video.caption) == 10_000 and len(video.author_name) == 200
    for author_url in ("https://www.tiktok.com/@a/b", "https://www.tiktok.com/@" + "a" * 65, None):
        body = {**PUBLIC, "author_url": author_url}
        assert (
            client_for(lambda r, b=body: httpx.Response(200, json=b)).lookup(LINK).username is None
        )  # type: ignore[misc]
    empty = client_for(lambda r: httpx.Response(200, json={})).lookup(LINK)
    assert (empty.caption, empty.author_name, empty.username) == ("", "", None)


def test_the_sandbox_answers_for_public_vanished_and_foreign_links(sandbox: Campaign) -> None:
    with sandbox_box(sandbox) as box:
        client = OEmbedClient(box.http, "http://sandbox/oembed", clock=box.clock)
        video = client.lookup(LINK)
        assert video.username == "samir.explains" and video.caption.startswith("Elektrik")
        box.api.login.vanish("7399000000000000004", box.clock.now() - 1)
        with pytest.raises(VideoUnavailable):
            client.lookup(LINK)
        with pytest.raises(VideoUnavailable):  # not a TikTok link: TikTok says 400
            client.lookup("https://evil.example/@samir.explains/video/7399000000000000005")


def test_a_link_that_is_not_a_tiktok_video_is_never_fetched(
    client_for: Callable[[Handler], OEmbedClient],
) -> None:
    asked: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        asked.append(request)
        return httpx.Response(404)

    with pytest.raises(VideoUnavailable):
        client_for(handler).lookup("https://evil.example/@a/video/1")
    assert asked == []
