"""The tracking workflow against the sandbox: batches by id, the deadline, kills and outages."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import orjson
import pytest

from oyren.clock import VirtualClock
from oyren.collect.checkpoints import FileCrawlStore
from oyren.collect.connectors import TikTokClient
from oyren.collect.track import TrackSettings, track
from oyren.errors import ApiUnavailable
from oyren.inputs.observations import read_observations
from oyren.rules.campaign import Campaign
from oyren.sandbox.api import Faults, SandboxAPI, SandboxConfig
from oyren.sandbox.simulate import sandbox_campaign, simulate
from tests.sandboxing import (
    DAY,
    SANDBOX_SETTINGS,
    Killed,
    KillingTransport,
    OutageTransport,
    api_video,
    assert_true_and_unique,
    client_factory,
    expected_entries,
    short_campaign,
)


@pytest.fixture(scope="module")
def sandbox() -> Campaign:
    return sandbox_campaign()


@pytest.fixture
def open_client() -> Iterator[Callable[..., TikTokClient]]:
    with client_factory() as make:
        yield make


def test_track_asks_for_known_ids_in_batches_within_their_dates(
    sandbox, open_client, tmp_path, make_obs
):
    bodies: list[dict[str, Any]] = []

    def edge(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v2/oauth/token/":
            return httpx.Response(200, json={"access_token": "t", "expires_in": 7200})
        body = orjson.loads(request.content)
        bodies.append(body)
        ids = body["query"]["and"][0]["field_values"]
        videos = [api_video(int(i) - 7340000000000000000, sandbox) for i in ids[:-1]]
        data = {"videos": videos, "cursor": len(ids), "has_more": False, "search_id": "s"}
        return httpx.Response(200, json={"data": data, "error": {"code": "ok"}})

    cutoff = sandbox.cutoff_ts
    clock = VirtualClock(cutoff - DAY + 3600)  # the last sighting is a day old: due again
    with FileCrawlStore(tmp_path) as store:
        page = [
            make_obs(
                id=7340000000000000000 + n,
                create_time=cutoff - 2 * DAY - n,
                collected_at=cutoff - 2 * DAY + 60,
            )
            for n in range(150)
        ]
        store.add_page(sandbox.id, page, None)
        client = open_client(httpx.MockTransport(edge), clock, store)
        report = track(client, store, sandbox, settings=TrackSettings(discover=False))
    assert [len(b["query"]["and"][0]["field_values"]) for b in bodies] == [100, 50]
    assert bodies[0]["query"]["and"][0]["field_name"] == "video_id"
    assert bodies[0]["query"]["and"][0]["operation"] == "IN"
    assert (bodies[0]["start_date"], bodies[0]["end_date"]) == ("20240419", "20240420")
    assert (report.batches, report.missing, report.cycles) == (2, 2, 1)


def test_track_keeps_running_until_the_deadline_is_bracketed(sandbox, open_client, tmp_path):
    campaign = short_campaign(sandbox)
    sim = simulate(campaign, videos=250, seed=3)
    clock = VirtualClock(campaign.window_start_ts)
    api = SandboxAPI(sim.videos, clock, SandboxConfig(faults=Faults.typical(), latency_s=1.0))
    with FileCrawlStore(tmp_path, durable=False) as store:
        client = open_client(api.transport(), clock, store)
        report = track(client, store, campaign, keep_running=True)
        path = store.observations_path(campaign.id)
    assert report.finished
    assert report.phases["pre"] == 1
    assert report.phases["post"] >= 1
    assert report.coverage is not None
    truth = {v.video_id: v.views_at(campaign.cutoff_ts) for v in sim.videos}
    for row in report.coverage.best_video:
        assert row.basis in ("observed", "interpolated")
        assert row.gap_s is not None and row.gap_s <= 3600
        assert abs(row.views - truth[row.name]) <= max(2, truth[row.name] // 1000)
    assert all(row.basis in ("observed", "interpolated") for row in report.coverage.discover)
    assert_true_and_unique(list(read_observations(path)), sim)


def test_track_killed_at_random_points_loses_and_repeats_nothing(sandbox, tmp_path):
    campaign = short_campaign(sandbox, "2024-04-19")
    sim = simulate(campaign, videos=150, seed=8)
    clock = VirtualClock(campaign.window_start_ts)
    api = SandboxAPI(sim.videos, clock, SandboxConfig(latency_s=1.0, seed=4))
    rng = random.Random(99)
    kills = 0
    for attempt in range(200):
        with (
            FileCrawlStore(tmp_path, durable=False) as store,
            httpx.Client(transport=KillingTransport(api.transport(), rng, 0.05)) as http,
        ):
            client = TikTokClient(http, SANDBOX_SETTINGS, clock=clock, book=store, seed=attempt)
            try:
                report = track(client, store, campaign, keep_running=True)
            except Killed:
                kills += 1
                continue
        if report.finished:
            break
    observations = list(read_observations(tmp_path / campaign.id / "observations.jsonl"))
    assert kills >= 3
    assert report.finished
    assert {o.video_id for o in observations} == expected_entries(campaign, sim.videos)
    assert_true_and_unique(observations, sim)


def test_track_keeps_running_through_an_outage(sandbox, open_client, tmp_path):
    campaign = short_campaign(sandbox, "2024-04-20")
    sim = simulate(campaign, videos=60, seed=12)
    clock = VirtualClock(campaign.window_start_ts)
    api = SandboxAPI(sim.videos, clock)
    with FileCrawlStore(tmp_path, durable=False) as store:
        client = open_client(OutageTransport(api.transport(), failures=8), clock, store)
        with pytest.raises(ApiUnavailable, match="kept failing"):
            track(client, store, campaign)
        report = track(client, store, campaign, keep_running=True)
    assert (report.outages, report.finished) == (0, True)
    clock = VirtualClock(campaign.window_start_ts)
    outage = OutageTransport(SandboxAPI(sim.videos, clock).transport(), failures=8)
    with FileCrawlStore(tmp_path / "again", durable=False) as store:
        client = open_client(outage, clock, store)
        report = track(client, store, campaign, keep_running=True)
    assert (report.outages, report.finished) == (1, True)
