"""The sandbox API: the real API's endpoints, error shapes and quirks, over HTTP and in process."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import pytest

from oyren.clock import VirtualClock
from oyren.sandbox.api import Faults, SandboxAPI, SandboxConfig
from oyren.sandbox.simulate import Simulation, sandbox_campaign, simulate

TOKEN = "/v2/oauth/token/"
QUERY = "/v2/research/video/query/?fields=id,view_count,hashtag_names,create_time"
CREDENTIALS = {
    "client_key": "sandbox-client-key",
    "client_secret": "sandbox-client-secret",
    "grant_type": "client_credentials",
}
AZ = {"field_name": "region_code", "operation": "IN", "field_values": ["AZ"]}


@pytest.fixture(scope="module")
def sim() -> Simulation:
    return simulate(sandbox_campaign(), videos=200, seed=4)


@pytest.fixture
def clock(sim: Simulation) -> VirtualClock:
    return VirtualClock(sim.campaign.cutoff_ts + 3 * 86400)


@pytest.fixture
def sandbox(sim: Simulation, clock: VirtualClock) -> Callable[..., SandboxAPI]:
    return lambda **kw: SandboxAPI(sim.videos, clock, SandboxConfig(**kw))


@pytest.fixture
def http(sandbox: Callable[..., SandboxAPI]) -> Iterator[Callable[..., httpx.Client]]:
    clients: list[httpx.Client] = []

    def connect(**kw: Any) -> httpx.Client:
        api = kw.pop("api", None) or sandbox(**kw)
        client = httpx.Client(transport=api.transport(), base_url="http://sandbox")
        token = client.post(TOKEN, data=CREDENTIALS).json()["access_token"]
        client.headers["authorization"] = f"Bearer {token}"
        clients.append(client)
        return client

    yield connect
    for client in clients:
        client.close()


def body(**kw: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "query": {"and": [AZ]},
        "start_date": "20240301",
        "end_date": "20240331",
        "max_count": 100,
    }
    base.update(kw)
    return base


def utc_date(ts: int) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y%m%d")


def test_sandbox_counts_are_the_truth_at_the_served_second(http, sim, clock):
    answer = http().post(QUERY, json=body())
    t = int(parsedate_to_datetime(answer.headers["date"]).timestamp())
    truth = {v.video_id: v.views_at(t) for v in sim.videos}
    videos = answer.json()["data"]["videos"]
    assert videos
    assert {str(v["id"]): v["view_count"] for v in videos} == {
        str(v["id"]): truth[str(v["id"])] for v in videos
    }


def test_sandbox_refuses_wrong_credentials_like_the_oauth_endpoint(sandbox):
    with httpx.Client(transport=sandbox().transport(), base_url="http://sandbox") as client:
        answer = client.post(TOKEN, data={**CREDENTIALS, "client_secret": "guess"})
    assert answer.status_code == 401
    assert answer.json()["error"] == "invalid_client"


def test_sandbox_tokens_expire(http, clock):
    client = http()
    clock.sleep(7200)
    answer = client.post(QUERY, json=body())
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "access_token_invalid"


@pytest.mark.parametrize(
    ("request_body", "message"),
    [
        (body(start_date="2024-03-01"), "start_date must be a date like 20240221"),
        (body(end_date="20240401"), "no more than 30 days"),
        (body(end_date="20240201"), "end_date is before start_date"),
        (body(max_count=101), "max_count must be between 1 and 100"),
        (body(query={"and": []}), "at least one of and, or, not"),
        (body(query={"and": [{**AZ, "field_name": "country"}]}), "Invalid field_name: country"),
        (body(query={"and": [{**AZ, "operation": "LIKE"}]}), "Invalid operation: LIKE"),
        (body(query={"and": [{**AZ, "field_values": "AZ"}]}), "non-empty list of strings"),
        (body(cursor=-1), "Invalid count or cursor"),
    ],
)
def test_sandbox_validates_the_query(http, request_body, message):
    answer = http().post(QUERY, json=request_body)
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "invalid_params"
    assert message in answer.json()["error"]["message"]


def test_sandbox_validates_the_fields_list(http):
    answer = http().post("/v2/research/video/query/?fields=id,nope", json=body())
    assert answer.status_code == 400
    assert answer.json()["error"]["message"] == "Invalid fields: nope"


def test_sandbox_matches_hashtag_names_literally_except_case(http, sim):
    tag = {"field_name": "hashtag_name", "operation": "IN", "field_values": ["TIKTOKDANOYREN"]}
    answer = http().post(QUERY, json=body(query={"and": [tag]}, end_date="20240330"))
    found = {str(v["id"]) for v in answer.json()["data"]["videos"]}
    expected = {
        v.video_id
        for v in sim.videos
        if "tiktokdanoyren" in [t.lower() for t in v.hashtags]
        and "20240301" <= utc_date(v.create_time) < "20240330"
    }
    assert found == expected
    assert found
    # ö is not o: a spelling with ö is a different name to the API.
    written = {t for v in sim.videos if str(v.video_id) in found for t in v.hashtags}
    assert not any("ö" in t.lower() and "tiktokdan" in t.lower() for t in written)


def test_sandbox_end_date_is_exclusive_unless_configured(http, sim):
    def count(**kw: Any) -> int:
        answer = http(**kw).post(QUERY, json=body(start_date="20240305", end_date="20240306"))
        return len(answer.json()["data"]["videos"])

    on_5th = [
        v for v in sim.videos if v.region_code == "AZ" and utc_date(v.create_time) == "20240305"
    ]
    on_6th = [
        v for v in sim.videos if v.region_code == "AZ" and utc_date(v.create_time) == "20240306"
    ]
    assert count() == len(on_5th)
    assert count(end_date_inclusive=True) == len(on_5th) + len(on_6th)


def test_sandbox_pages_by_cursor_and_search_id_in_decreasing_id_order(http):
    client = http()
    first = client.post(QUERY, json=body(max_count=10)).json()["data"]
    second = client.post(
        QUERY, json=body(max_count=10, cursor=first["cursor"], search_id=first["search_id"])
    ).json()["data"]
    ids = [v["id"] for v in first["videos"] + second["videos"]]
    assert ids == sorted(ids, reverse=True)
    assert len(set(ids)) == 20
    assert (first["cursor"], second["cursor"]) == (10, 20)
    assert first["has_more"] is True


def test_sandbox_search_ids_expire_and_belong_to_their_query(http, clock):
    client = http()
    first = client.post(QUERY, json=body(max_count=10)).json()["data"]
    other = client.post(
        QUERY, json=body(max_count=10, cursor=10, search_id=first["search_id"], end_date="20240330")
    )
    assert other.status_code == 400
    clock.sleep(901)
    late = client.post(QUERY, json=body(max_count=10, cursor=10, search_id=first["search_id"]))
    assert late.status_code == 400
    assert (
        late.json()["error"]["message"] == f"Search Id {first['search_id']} is invalid or expired"
    )


def test_sandbox_charges_quota_and_answers_429_when_spent(http, sandbox, clock):
    api = sandbox(daily_requests=2, faults=Faults(server_error=1.0))
    client = http(api=api)
    statuses = [client.post(QUERY, json=body()).status_code for _ in range(3)]
    # 500s cost quota like the real API's; the third request finds the day's quota spent.
    assert statuses == [500, 500, 429]
    assert api.spent("2024-04-24") == (2, 0)
    clock.sleep(86400)
    client.post(TOKEN, data=CREDENTIALS)
    assert api.spent("2024-04-25") == (0, 0)


def test_sandbox_gateway_timeout_is_an_html_page(http):
    answer = http(faults=Faults(gateway_timeout=1.0)).post(QUERY, json=body())
    assert answer.status_code == 504
    assert answer.headers["content-type"] == "text/html"
    assert answer.text.startswith("<html>")


def test_sandbox_empty_page_fault_keeps_has_more_and_the_cursor(http):
    client = http(faults=Faults(empty_page=1.0))
    first = client.post(QUERY, json=body(max_count=10)).json()["data"]
    again = client.post(
        QUERY, json=body(max_count=10, cursor=10, search_id=first["search_id"])
    ).json()["data"]
    assert len(first["videos"]) == 10
    assert (again["videos"], again["cursor"], again["has_more"]) == ([], 10, True)


def test_sandbox_hidden_videos_take_cursor_positions(http, sandbox):
    api = sandbox(hidden_share=0.3, seed=2)
    first = http(api=api).post(QUERY, json=body(max_count=20)).json()["data"]
    assert first["cursor"] == 20
    assert len(first["videos"]) < 20
    assert not any(api.is_hidden(str(v["id"])) for v in first["videos"])


def test_sandbox_index_lag_hides_recent_videos(http, sim):
    at_deadline = VirtualClock(sim.campaign.cutoff_ts)
    query = body(start_date="20240415", end_date="20240422")
    answers = []
    for lag in (0, 2 * 86400):
        api = SandboxAPI(sim.videos, at_deadline, SandboxConfig(index_lag_s=lag))
        answers.append(http(api=api).post(QUERY, json=query).json()["data"]["videos"])
    everything, lagged = answers
    assert {v["id"] for v in lagged} < {v["id"] for v in everything}
    assert all(v["create_time"] <= at_deadline.now() - 2 * 86400 for v in lagged)


def test_sandbox_latency_moves_the_virtual_clock(http, clock):
    start = clock.now()
    http(latency_s=1.5).post(QUERY, json=body())
    assert clock.now() == start + 1.5


def test_faults_parse_short_names_and_presets():
    assert Faults.parse("none") == Faults()
    assert Faults.parse("typical") == Faults.typical()
    assert Faults.parse("500=0.1, expired=0.2,new-search-id=1") == Faults(
        server_error=0.1, search_expired=0.2, new_search_id=1.0
    )
    with pytest.raises(ValueError, match="unknown fault 'teapot'"):
        Faults.parse("teapot=0.1")
    with pytest.raises(ValueError, match="between 0 and 1"):
        Faults.parse("500=2")
