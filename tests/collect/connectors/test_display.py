"""The Display API client: a creator's profile and videos, paging, and how each refusal is told."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from email.utils import formatdate
from typing import Any

import httpx
import orjson
import pytest

from oyren.clock import VirtualClock
from oyren.collect.connectors.display import (
    DisplayClient,
    ScopeMissing,
    TokenRejected,
    to_observation,
)
from oyren.collect.connectors.login import Backoff, RateLimited
from oyren.errors import ApiUnavailable, ConnectorError
from oyren.rules.campaign import Campaign
from tests.creatorsupport import authorize, sandbox_box

NOW = 1_713_729_599
FAST = Backoff(tries=3, first_wait_s=1.0, max_wait_s=4.0)
Handler = Callable[[httpx.Request], httpx.Response]


def ok(data: dict[str, Any], *, at: int = NOW) -> httpx.Response:
    body = {"data": data, "error": {"code": "ok", "message": "", "log_id": "L1"}}
    return httpx.Response(200, json=body, headers={"date": formatdate(at, usegmt=True)})


def refused(status: int, code: str, message: str = "") -> httpx.Response:
    return httpx.Response(status, json={"error": {"code": code, "message": message}})


def item(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": "7399000000000000001",
        "create_time": NOW - 86400,
        "title": "",
        "video_description": "Fotosintez #TikTokdanÖyrən",
        "duration": 45,
        "view_count": 1000,
        "like_count": 50,
        "comment_count": 3,
        "share_count": 1,
    }
    base.update(overrides)
    return base


@pytest.fixture
def client_for() -> Iterator[Callable[[Handler], DisplayClient]]:
    clients: list[httpx.Client] = []

    def make(handler: Handler) -> DisplayClient:
        http = httpx.Client(transport=httpx.MockTransport(handler))
        clients.append(http)
        return DisplayClient(http, "https://api.test/", clock=VirtualClock(NOW), backoff=FAST)

    yield make
    for http in clients:
        http.close()


def test_video_list_pages_by_cursor_and_query_returns_only_the_creators_own_videos(
    sandbox: Campaign,
) -> None:
    with sandbox_box(sandbox) as box:
        code, _, verifier = authorize(box, "lala.learns")
        token = box.login.exchange(code, verifier).access_token
        page, cursor, more = box.display.list_page(token, max_count=2)
        assert len(page) == 2 and more and cursor is not None
        rest, _, more = box.display.list_page(token, cursor=cursor, max_count=2)
        assert [v.video_id for v in rest] == ["7399000000000000001"] and not more
        everything = box.display.videos_since(token, sandbox.window_start_ts)
        assert len(everything) == 3
        cut = {v.video_id: v.cut_short for v in everything}
        assert cut == {
            "7399000000000000001": False,
            "7399000000000000002": True,
            "7399000000000000003": False,
        }
        # samir's video is not lala's: the API does not return it.
        found = box.display.query(token, ["7399000000000000001", "7399000000000000004"])
        assert [v.video_id for v in found] == ["7399000000000000001"]
        with pytest.raises(ValueError):
            box.display.query(token, [str(7399000000000000100 + i) for i in range(21)])


def test_list_pages_follow_the_cursor_until_videos_older_than_the_start(
    client_for: Callable[[Handler], DisplayClient],
) -> None:
    sent: list[dict[str, Any]] = []
    pages = [
        ok({"videos": [item(id="3", create_time=NOW - 10), item(id="2", create_time=NOW - 20)],
            "cursor": 20, "has_more": True}),
        ok({"videos": [item(id="1", create_time=NOW - 5000)], "cursor": 30, "has_more": True}),
    ]  # fmt: skip

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.headers["authorization"] == "Bearer tok"
        assert request.url.path == "/v2/video/list/"
        sent.append(orjson.loads(request.content))
        return pages.pop(0)

    client = client_for(handler)
    found = client.videos_since("tok", NOW - 100)
    assert [v.video_id for v in found] == ["3", "2"]
    # The second page reached older videos, so paging stopped though it said there was more.
    assert sent == [{"max_count": 20}, {"max_count": 20, "cursor": 20}]
    assert client.requests == 2 and pages == []


def test_a_cursor_that_is_not_a_number_ends_the_paging(
    client_for: Callable[[Handler], DisplayClient],
) -> None:
    client = client_for(lambda r: ok({"videos": [item()], "cursor": "20", "has_more": True}))
    videos, cursor, more = client.list_page("tok", max_count=500)
    assert len(videos) == 1 and cursor is None and more is False


def test_hostile_or_malformed_videos_are_skipped_and_text_is_cleaned(
    client_for: Callable[[Handler], DisplayClient],
) -> None:
    videos = [
        "not a video",
        item(id="../../etc"),
        item(id=True),
        item(id="9" * 31),
        item(id="5", create_time="yesterday"),
        item(id="6", view_count=-1),
        item(id="7", view_count=True),
        item(id=8, video_description="a\x00b #Tag", like_count=10**20, duration=-3),
    ]
    client = client_for(lambda r: ok({"videos": videos}, at=NOW - 60))
    (video,) = client.query("tok", ["8"])
    assert video.video_id == "8" and video.collected_at == NOW - 60
    assert video.description == "ab #Tag" and video.hashtags == ("Tag",)
    assert video.like_count is None and video.duration_s is None and video.view_count == 1000


def test_query_asks_once_per_distinct_id_and_never_more_than_twenty(
    client_for: Callable[[Handler], DisplayClient],
) -> None:
    asked: list[list[str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        ids = orjson.loads(request.content)["filters"]["video_ids"]
        asked.append(ids)
        return ok({"videos": [item(id=i) for i in ids]})

    client = client_for(handler)
    assert client.query("tok", []) == []
    ids = [str(i) for i in range(1, 46)]
    assert [v.video_id for v in client.query_all("tok", ids + ids[:5])] == ids
    assert [len(a) for a in asked] == [20, 20, 5]


@pytest.mark.parametrize(
    ("answer", "error", "message"),
    [
        (refused(401, "access_token_invalid", "expired"), TokenRejected, "access token"),
        (refused(200, "access_token_invalid"), TokenRejected, "access token"),
        (refused(403, "scope_not_authorized"), ScopeMissing, "video.list"),
        (refused(400, "invalid_params", "bad"), ConnectorError, "invalid_params: bad"),
        (httpx.Response(200, text="<html>hello</html>"), ApiUnavailable, "without JSON"),
        (httpx.Response(200, json=[1, 2]), ApiUnavailable, "without JSON"),
        (httpx.Response(200, json={"error": {"code": "ok"}}), ApiUnavailable, "no 'data'"),
    ],
)
def test_each_refusal_is_told_by_its_own_error(
    client_for: Callable[[Handler], DisplayClient],
    answer: httpx.Response,
    error: type[Exception],
    message: str,
) -> None:
    client = client_for(lambda r: answer)
    with pytest.raises(error, match=message) as caught:
        client.query("tok", ["1"])
    if error is ConnectorError:  # a plain refusal, not a passing outage
        assert type(caught.value) is ConnectorError


def test_5xx_and_429_are_retried_then_reported(
    client_for: Callable[[Handler], DisplayClient],
) -> None:
    answers = [httpx.Response(503), httpx.Response(502), ok({"user": {"open_id": "o1"}})]
    client = client_for(lambda r: answers.pop(0))
    assert client.user_info("tok").open_id == "o1"
    with pytest.raises(ApiUnavailable, match="3 tries"):
        client_for(lambda r: httpx.Response(500)).user_info("tok")
    limited = client_for(lambda r: refused(429, "rate_limit_exceeded"))
    with pytest.raises(RateLimited):
        limited.user_info("tok")
    assert limited.clock.now() == NOW + 1 + 2  # waited between the three tries


def test_user_info_refuses_an_answer_without_a_valid_open_id(
    client_for: Callable[[Handler], DisplayClient],
) -> None:
    for user in (None, {"username": "a"}, {"open_id": ""}, {"open_id": "x" * 201}):
        with pytest.raises(ApiUnavailable, match="user"):
            client_for(lambda r, u=user: ok({"user": u})).user_info("tok")  # type: ignore[misc]
    info = client_for(lambda r: ok({"user": {"open_id": "o", "username": "@la\x00la"}}))
    assert info.user_info("tok").username == "lala"


def test_an_observation_takes_the_caption_s_hashtags_and_the_stated_country(
    client_for: Callable[[Handler], DisplayClient],
) -> None:
    long = "Fotosintez " * 14 + "#TikTokdanÖyrən"
    client = client_for(lambda r: ok({"videos": [item(title="short", video_description=long)]}))
    (video,) = client.query("tok", ["7399000000000000001"])
    assert video.cut_short
    obs = to_observation(video, username="lala.learns", region="AZ")
    assert (obs.username, obs.region_code, obs.collected_at) == ("lala.learns", "AZ", NOW)
    assert obs.description == long and obs.hashtags == ("TikTokdanÖyrən",)
    assert obs.view_count == 1000 and obs.duration_s == 45
