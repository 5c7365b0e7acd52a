"""The connector against httpx.MockTransport (exact requests, hostile answers) and the sandbox."""

from __future__ import annotations

from datetime import date
from urllib.parse import parse_qs

import httpx
import orjson
import pytest

from oyren.clock import VirtualClock
from oyren.collect.connectors import (
    MemoryQuotaBook,
    TikTokClient,
    TikTokSettings,
    VideoQuery,
    connect,
    tiktok_settings,
)
from oyren.errors import ConnectorError, QuotaExhausted
from oyren.sandbox.api import Faults, SandboxAPI, SandboxConfig
from oyren.sandbox.server import serve
from oyren.sandbox.simulate import sandbox_campaign, simulate
from tests.collect.connectors.conftest import (
    FIELDS,
    QUERY,
    SETTINGS,
    Edge,
    answer,
    error,
    query,
    video,
)


def test_query_videos_sends_the_documented_request(client_for):
    edge = Edge(answer([video()]))
    client = client_for(edge)
    client.query_videos(query(cursor=200, search_id="abc"))
    token, sent = edge.requests
    assert token.method == "POST"
    assert token.headers["content-type"] == "application/x-www-form-urlencoded"
    assert parse_qs(token.content.decode()) == {
        "client_key": ["key"],
        "client_secret": ["secret"],
        "grant_type": ["client_credentials"],
    }
    assert str(sent.url) == f"https://api.test/v2/research/video/query/?fields={FIELDS}"
    assert sent.headers["authorization"] == "Bearer t1"
    assert sent.headers["content-type"] == "application/json"
    assert orjson.loads(sent.content) == {
        "query": QUERY,
        "start_date": "20240401",
        "end_date": "20240422",
        "max_count": 100,
        "is_random": False,
        "cursor": 200,
        "search_id": "abc",
    }


def test_query_videos_first_page_has_no_cursor_or_search_id(client_for):
    edge = Edge(answer([]))
    client_for(edge).query_videos(query())
    body = orjson.loads(edge.queries[0].content)
    assert "cursor" not in body
    assert "search_id" not in body


def test_query_videos_retries_5xx_html_and_non_json_answers(client_for, clock):
    html = httpx.Response(
        504,
        text="<html><h1>504 Gateway Time-out</h1></html>",
        headers={"content-type": "text/html"},
    )
    edge = Edge(
        html,
        error(500, "internal_error", "Something went wrong"),
        httpx.Response(200, text="upstream hiccup"),
        httpx.ReadTimeout("slow"),
        answer([video()]),
    )
    book = MemoryQuotaBook()
    client = client_for(edge, book=book)
    page = client.query_videos(query())
    assert len(page.observations) == 1
    assert client.retries == 4
    assert clock.slept > 0
    # Every attempt that reached the API is charged, as 500s are by the real one.
    assert book.quota_spent("2024-04-21") == (5, 1)


def test_query_videos_gives_up_after_the_retry_policy_with_log_id(client_for):
    edge = Edge(*[error(500, "internal_error", "boom", log_id="LOG42")] * 8)
    with pytest.raises(ConnectorError, match=r"after 8 tries.*LOG42"):
        client_for(edge).query_videos(query())
    assert len(edge.queries) == 8


def test_token_is_fetched_again_on_access_token_invalid(client_for):
    edge = Edge(error(401, "access_token_invalid", "The access token is invalid"), answer([]))
    client = client_for(edge)
    client.query_videos(query())
    assert [r.headers["authorization"] for r in edge.queries] == ["Bearer t1", "Bearer t2"]
    assert client.tokens_fetched == 2


def test_token_is_refreshed_before_it_expires(client_for, clock):
    edge = Edge(answer([]), answer([]), answer([]))
    client = client_for(edge)
    client.query_videos(query())
    clock.sleep(3600)
    client.query_videos(query())
    clock.sleep(3400)  # 7000 s after the fetch: within the margin before 7200 s
    client.query_videos(query())
    assert [r.headers["authorization"] for r in edge.queries] == [
        "Bearer t1",
        "Bearer t1",
        "Bearer t2",
    ]


def test_token_rejected_twice_in_a_row_is_an_error(client_for):
    edge = Edge(error(401, "access_token_invalid"), error(401, "access_token_invalid"))
    with pytest.raises(ConnectorError, match="freshly fetched access token"):
        client_for(edge).query_videos(query())


def test_wrong_credentials_name_the_environment_variables(client_for):
    edge = Edge()
    body = {"error": "invalid_client", "error_description": "Client key or secret is incorrect."}
    edge.token_answer = lambda: httpx.Response(401, json=body)
    with pytest.raises(ConnectorError, match=r"invalid_client.*TIKTOK_CLIENT_KEY"):
        client_for(edge).query_videos(query())


def test_token_endpoint_outage_is_retried(client_for):
    edge = Edge(answer([]))
    outages = [httpx.Response(503, text="<html>down</html>"), httpx.ConnectError("refused")]

    def token() -> httpx.Response:
        if outages:
            item = outages.pop(0)
            if isinstance(item, Exception):
                raise item
            return item
        return httpx.Response(200, json={"access_token": "ok", "expires_in": 7200})

    edge.token_answer = token
    client = client_for(edge)
    client.query_videos(query())
    assert edge.queries[0].headers["authorization"] == "Bearer ok"


def test_scope_not_authorized_says_what_to_do(client_for):
    edge = Edge(error(401, "scope_not_authorized", "not approved"))
    with pytest.raises(ConnectorError, match=r"research\.data\.basic"):
        client_for(edge).query_videos(query())


def test_throttling_is_waited_out(client_for, clock):
    edge = Edge(error(429, "rate_limit_exceeded"), answer([video()]))
    page = client_for(edge).query_videos(query())
    assert len(page.observations) == 1
    assert clock.slept == 60


def test_persistent_429_means_quota_spent_until_utc_midnight(client_for, clock):
    edge = Edge(*[error(429, "rate_limit_exceeded")] * 4)
    client = client_for(edge)
    with pytest.raises(QuotaExhausted) as caught:
        client.query_videos(query())
    # Throttle waits of 60, 120 and 240 s, then the day is given up until 00:00 UTC.
    assert clock.slept == 420
    assert caught.value.reset_at == 1713744000
    assert client.quota_left() == (0, 0)
    with pytest.raises(QuotaExhausted):
        client.query_videos(query())
    assert len(edge.queries) == 4


def test_retry_after_header_is_honoured(client_for, clock):
    limited = error(429, "rate_limit_exceeded")
    limited.headers["retry-after"] = "7"
    client_for(Edge(limited, answer([]))).query_videos(query())
    assert clock.slept == 7


def test_video_query_refuses_spans_longer_than_the_api_allows():
    with pytest.raises(ValueError, match="30 days"):
        VideoQuery(QUERY, date(2024, 2, 20), date(2024, 3, 22))
    with pytest.raises(ValueError, match="max_count"):
        VideoQuery(QUERY, date(2024, 2, 20), date(2024, 2, 21), max_count=101)


def test_tiktok_settings_read_the_environment():
    environ = {
        "TIKTOK_CLIENT_KEY": " k ",
        "TIKTOK_CLIENT_SECRET": "hunter2",
        "OYREN_TIKTOK_API_BASE": "http://127.0.0.1:8123/",
    }
    settings = tiktok_settings(environ)
    assert settings == TikTokSettings("k", "hunter2", "http://127.0.0.1:8123")
    assert "hunter2" not in repr(settings)
    default = tiktok_settings({"TIKTOK_CLIENT_KEY": "k", "TIKTOK_CLIENT_SECRET": "s"})
    assert default.api_base == "https://open.tiktokapis.com"


def test_tiktok_settings_name_what_is_missing():
    with pytest.raises(ConnectorError, match="TIKTOK_CLIENT_KEY and TIKTOK_CLIENT_SECRET not set"):
        tiktok_settings({})
    with pytest.raises(ConnectorError, match="OYREN_TIKTOK_API_BASE must be an http"):
        tiktok_settings(
            {
                "TIKTOK_CLIENT_KEY": "k",
                "TIKTOK_CLIENT_SECRET": "s",
                "OYREN_TIKTOK_API_BASE": "ftp://x",
            }
        )


def test_client_pages_through_the_sandbox_server_with_faults_on():
    campaign = sandbox_campaign()
    sim = simulate(campaign, videos=300, seed=5)
    clock = VirtualClock(campaign.cutoff_ts + 3 * 86400)
    faults = Faults(
        server_error=0.1,
        gateway_timeout=0.1,
        throttle=0.1,
        empty_page=0.1,
        duplicate=0.5,
        new_search_id=0.3,
    )
    api = SandboxAPI(sim.videos, clock, SandboxConfig(faults=faults, seed=3))
    q = {"and": [{"field_name": "region_code", "operation": "IN", "field_values": ["AZ", "TR"]}]}
    seen: set[str] = set()
    with serve(api) as base, httpx.Client() as http:
        settings = TikTokSettings("sandbox-client-key", "sandbox-client-secret", base)
        client = TikTokClient(http, settings, clock=clock, seed=1)
        request = VideoQuery(q, date(2024, 3, 1), date(2024, 3, 31), max_count=10)
        while True:
            page = client.query_videos(request)
            seen.update(o.video_id for o in page.observations)
            if not page.has_more:
                break
            request = request.following(page)
    expected = {
        v.video_id
        for v in sim.videos
        if v.region_code in ("AZ", "TR") and "20240301" <= _utc(v.create_time) < "20240331"
    }
    assert seen == expected
    assert api.stats["500"] + api.stats["504"] + api.stats["429"] > 0
    assert api.stats["duplicate"] > 0
    assert client.retries >= api.stats["500"] + api.stats["504"]


def _utc(ts: int) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y%m%d")


def test_connect_opens_and_closes_its_own_http_client():
    with connect(SETTINGS) as client:
        assert client.http.headers["user-agent"].startswith("oyren/")
        assert client.http.timeout.read == 60.0
    assert client.http.is_closed
