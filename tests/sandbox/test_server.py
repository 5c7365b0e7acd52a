"""Serving the sandbox over loopback HTTP."""

from __future__ import annotations

from email.utils import parsedate_to_datetime

import httpx

from oyren.clock import VirtualClock
from oyren.sandbox.api import SandboxAPI
from oyren.sandbox.server import sandbox_for, serve
from oyren.sandbox.simulate import sandbox_campaign, simulate
from tests.sandbox.test_api import CREDENTIALS, QUERY, TOKEN, body


def test_sandbox_serves_token_and_query_over_http():
    campaign = sandbox_campaign()
    sim = simulate(campaign, videos=100, seed=4)
    clock = VirtualClock(campaign.cutoff_ts + 3 * 86400)
    api = SandboxAPI(sim.videos, clock)
    with serve(api) as base, httpx.Client(base_url=base) as client:
        token = client.post(TOKEN, data=CREDENTIALS)
        answer = client.post(
            QUERY,
            json=body(),
            headers={"authorization": f"Bearer {token.json()['access_token']}"},
        )
    assert token.status_code == 200
    assert sorted(token.json()) == ["access_token", "expires_in", "token_type"]
    assert token.json()["expires_in"] == 7200
    assert answer.status_code == 200
    payload = answer.json()
    assert sorted(payload) == ["data", "error"]
    assert payload["error"]["code"] == "ok"
    assert sorted(payload["data"]) == ["cursor", "has_more", "search_id", "videos"]
    assert parsedate_to_datetime(answer.headers["date"]).timestamp() == clock.now()
    for item in payload["data"]["videos"]:
        assert sorted(item) == ["create_time", "hashtag_names", "id", "view_count"]


def test_sandbox_for_replays_the_campaign_on_a_fast_clock():
    campaign = sandbox_campaign()
    api = sandbox_for(campaign, videos=30, seed=2, speed=1440)
    assert len(api.videos) == 30
    assert campaign.window_start_ts <= api.clock.now() < campaign.window_start_ts + 1440
