"""Shared edge of the connector tests: a fake Research API behind httpx.MockTransport, answers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from email.utils import formatdate
from typing import Any

import httpx
import pytest

from oyren.clock import VirtualClock
from oyren.collect.connectors import (
    TikTokClient,
    TikTokSettings,
    VideoQuery,
)

NOW = 1713729599  # 2024-04-21T19:59:59Z, the sandbox deadline


SETTINGS = TikTokSettings("key", "secret", "https://api.test")


QUERY = {"and": [{"field_name": "region_code", "operation": "IN", "field_values": ["AZ"]}]}


FIELDS = (
    "id,create_time,username,region_code,video_description,hashtag_names,video_duration,"
    "view_count,like_count,comment_count,share_count,music_id,voice_to_text"
)


def video(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": 7340000000000000001,
        "create_time": NOW - 86400,
        "username": "aysel_teaches",
        "region_code": "AZ",
        "video_description": "Fotosintez #TikTokdanÖyrən",
        "hashtag_names": ["TikTokdanÖyrən"],
        "video_duration": 45,
        "view_count": 1000,
        "like_count": 50,
        "comment_count": 3,
        "share_count": 1,
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def answer(
    videos: list[Any] | None = None,
    *,
    cursor: int = 100,
    has_more: bool = False,
    search_id: str = "s1",
    at: int = NOW,
) -> httpx.Response:
    body = {
        "data": {
            "videos": videos or [],
            "cursor": cursor,
            "has_more": has_more,
            "search_id": search_id,
        },
        "error": {"code": "ok", "message": "", "log_id": "L1"},
    }
    return httpx.Response(200, json=body, headers={"date": formatdate(at, usegmt=True)})


def error(status: int, code: str, message: str = "", log_id: str = "L9") -> httpx.Response:
    body = {"error": {"code": code, "message": message, "log_id": log_id}}
    return httpx.Response(status, json=body, headers={"date": formatdate(NOW, usegmt=True)})


class Edge:
    """The network edge: a token endpoint and queued answers for the query endpoint."""

    def __init__(self, *answers: httpx.Response | Exception) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []
        self.tokens = 0
        self.token_answer: Callable[[], httpx.Response] | None = None

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.url.path == "/v2/oauth/token/":
            if self.token_answer is not None:
                return self.token_answer()
            self.tokens += 1
            token = {"access_token": f"t{self.tokens}", "expires_in": 7200, "token_type": "Bearer"}
            return httpx.Response(200, json=token)
        item = self.answers.pop(0)
        if isinstance(item, Exception):
            raise item
        return item

    @property
    def queries(self) -> list[httpx.Request]:
        return [r for r in self.requests if r.url.path.endswith("/query/")]


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(NOW)


@pytest.fixture
def client_for(clock: VirtualClock) -> Iterator[Callable[..., TikTokClient]]:
    clients: list[httpx.Client] = []

    def make(edge: Edge, **kw: Any) -> TikTokClient:
        http = httpx.Client(transport=httpx.MockTransport(edge))
        clients.append(http)
        return TikTokClient(http, SETTINGS, clock=clock, seed=0, **kw)

    yield make
    for http in clients:
        http.close()


def query(**kw: Any) -> VideoQuery:
    return VideoQuery(QUERY, date(2024, 4, 1), date(2024, 4, 22), **kw)
