"""Discovery: exact requests, date spans, spellings, faults, kills and resumption."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from email.utils import formatdate
from typing import Any

import httpx
import orjson
import pytest

from oyren.clock import VirtualClock
from oyren.collect.checkpoints import Checkpoint, FileCrawlStore
from oyren.collect.connectors import QuotaLimits, TikTokClient
from oyren.collect.discover import (
    CrawlSettings,
    Progress,
    campaign_dates,
    campaign_query,
    crawl,
    plan_spans,
    query_hashtags,
    span_dates,
)
from oyren.inputs.observations import read_observations
from oyren.rules.campaign import Campaign, parse_campaign
from oyren.rules.hashtags import fold
from oyren.sandbox.api import Faults, SandboxAPI, SandboxConfig
from oyren.sandbox.server import serve
from oyren.sandbox.simulate import Simulation, sandbox_campaign, simulate
from tests.conftest import ROOT
from tests.sandboxing import (
    DAY,
    SANDBOX_SETTINGS,
    Killed,
    KillingTransport,
    api_video,
    assert_true_and_unique,
    client_factory,
    expected_entries,
    utc_date,
)


@pytest.fixture(scope="module")
def sandbox() -> Campaign:
    return sandbox_campaign()


@pytest.fixture(scope="module")
def sim(sandbox: Campaign) -> Simulation:
    return simulate(sandbox, videos=400, seed=11)


@pytest.fixture
def open_client() -> Iterator[Callable[..., TikTokClient]]:
    with client_factory() as make:
        yield make


def test_campaign_dates_cover_the_baku_window_in_utc(sandbox):
    # 2024-02-21 00:00 Baku is 2024-02-20 20:00 UTC; 2024-04-21 23:59:59 Baku is 19:59:59 UTC.
    assert campaign_dates(sandbox) == (date(2024, 2, 20), date(2024, 4, 21))


def test_query_hashtags_name_every_spelling_that_folds_to_a_campaign_tag(sandbox):
    names = query_hashtags(sandbox)
    assert {"tiktokdanoyren", "tiktokdanöyrən", "tıktökdanöyrən", "ləarnfromtiktok"} <= set(names)
    # TikTokdanÖyrən and TikTokdanOyren fold alike; each folded tag has four letters with an
    # Azerbaijani twin (i/ı, o/ö, o/ö, e/ə and e/ə, o/ö, i/ı, o/ö): 2 × 2⁴ spellings.
    assert len(names) == len(set(names)) == 32
    assert {fold(n) for n in names} == sandbox.folded_hashtags


def test_query_hashtags_add_the_campaign_files_extra_spellings(sandbox):
    text = sandbox.source_text.replace(
        'hashtags = ["TikTokdanÖyrən"',
        'query_spellings = ["#TikTokdanÖyrən_", "tiktokdan"]\nhashtags = ["TikTokdanÖyrən"',
    )
    names = query_hashtags(parse_campaign(text))
    assert names[-2:] == ["TikTokdanÖyrən_", "tiktokdan"]


def test_campaign_query_filters_region_and_hashtag_names(sandbox):
    tree = campaign_query(sandbox)
    assert tree["and"][0] == {
        "field_name": "region_code",
        "operation": "IN",
        "field_values": ["AZ"],
    }
    assert tree["and"][1]["field_name"] == "hashtag_name"
    assert tree["and"][1]["field_values"] == query_hashtags(sandbox)


def test_span_dates_chunk_30_days_ending_the_day_after():
    assert span_dates(date(2024, 2, 20), date(2024, 4, 21)) == [
        (date(2024, 2, 20), date(2024, 3, 21)),
        (date(2024, 3, 21), date(2024, 4, 20)),
        (date(2024, 4, 20), date(2024, 4, 22)),
    ]
    assert span_dates(date(2024, 3, 1), date(2024, 3, 1), days=7) == [
        (date(2024, 3, 1), date(2024, 3, 2))
    ]


def test_crawl_sends_utc_date_spans_around_the_baku_window(sandbox, open_client, tmp_path):
    bodies: list[dict[str, Any]] = []
    urls: list[str] = []

    def edge(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v2/oauth/token/":
            return httpx.Response(200, json={"access_token": "t", "expires_in": 7200})
        bodies.append(orjson.loads(request.content))
        urls.append(str(request.url))
        data = {"videos": [], "cursor": 0, "has_more": False, "search_id": "s"}
        return httpx.Response(200, json={"data": data, "error": {"code": "ok"}})

    clock = VirtualClock(sandbox.cutoff_ts + 30 * DAY)
    with FileCrawlStore(tmp_path) as store:
        report = crawl(open_client(httpx.MockTransport(edge), clock, store), store, sandbox)
    assert [(b["start_date"], b["end_date"]) for b in bodies] == [
        ("20240220", "20240321"),
        ("20240321", "20240420"),
        ("20240420", "20240422"),
    ]
    assert all(b["query"] == campaign_query(sandbox) for b in bodies)
    assert all(b["max_count"] == 100 and b["is_random"] is False for b in bodies)
    assert urls[0].endswith(
        "?fields=id,create_time,username,region_code,video_description,hashtag_names,"
        "video_duration,view_count,like_count,comment_count,share_count,music_id,voice_to_text"
    )
    assert (report.spans_planned, report.spans_done, report.requests) == (3, 3, 3)


def test_plan_spans_during_the_campaign_crawls_dates_until_they_settle(sandbox):
    now = datetime(2024, 3, 10, 12, tzinfo=UTC).timestamp()
    done = Checkpoint(
        "20240220-20240309", done=True, started_at=int(now) - 3600, finished_at=int(now) - 3000
    )
    plan = plan_spans(sandbox, {done.span: done}, now=now)
    # Mar 8 ended less than two days before that pass started (Mar 7 did not): not final yet.
    # Mar 9 and 10 were never crawled (end_date is the day after the last date asked for).
    assert [c.span for c in plan] == ["20240308-20240311"]
    assert plan[0].cursor == 0


def test_plan_spans_resume_unfinished_passes_first(sandbox):
    now = sandbox.cutoff_ts + 10 * DAY
    busy = Checkpoint("20240321-20240420", cursor=300, search_id="s", started_at=int(now) - 60)
    plan = plan_spans(sandbox, {busy.span: busy}, now=now)
    assert [c.span for c in plan] == ["20240321-20240420", "20240220-20240321", "20240420-20240422"]
    assert plan[0] == busy


def test_plan_spans_after_a_complete_crawl_is_empty(sandbox):
    now = sandbox.cutoff_ts + 10 * DAY
    checkpoints = {
        c.span: c
        for c in (
            Checkpoint(span, done=True, started_at=int(now) - 60)
            for span in ("20240220-20240321", "20240321-20240420", "20240420-20240422")
        )
    }
    assert plan_spans(sandbox, checkpoints, now=now) == []


def scripted(
    answers: list[dict[str, Any] | int],
) -> tuple[httpx.MockTransport, list[dict[str, Any]]]:
    """An edge answering the query endpoint from a script (a status code is an error answer)."""
    bodies: list[dict[str, Any]] = []

    def edge(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v2/oauth/token/":
            return httpx.Response(200, json={"access_token": "t", "expires_in": 7200})
        bodies.append(orjson.loads(request.content))
        item = answers.pop(0)
        headers = {"date": formatdate(1714000000, usegmt=True)}
        if isinstance(item, int):
            error = {"code": "invalid_params", "message": "Search Id 1 is invalid or expired"}
            return httpx.Response(item, json={"error": error}, headers=headers)
        return httpx.Response(200, json={"data": item, "error": {"code": "ok"}}, headers=headers)

    return httpx.MockTransport(edge), bodies


def test_crawl_restarts_a_lost_search_from_its_stored_cursor(sandbox, open_client, tmp_path):
    v = [api_video(n, sandbox) for n in range(4)]
    transport, bodies = scripted(
        [
            {"videos": v[:2], "cursor": 2, "has_more": True, "search_id": "s1"},
            400,
            {"videos": v[2:], "cursor": 4, "has_more": False, "search_id": "s2"},
        ]
    )
    one_span = sandbox.source_text.replace("starts = 2024-02-21", "starts = 2024-04-20")
    campaign = parse_campaign(one_span)
    clock = VirtualClock(campaign.cutoff_ts + 30 * DAY)
    with FileCrawlStore(tmp_path) as store:
        client = open_client(transport, clock, store)
        report = crawl(client, store, campaign, settings=CrawlSettings(max_count=2))
        stored = store.videos(campaign.id, cutoff=campaign.cutoff_ts)
    assert [(b.get("cursor"), b.get("search_id")) for b in bodies] == [
        (None, None),
        (2, "s1"),
        (2, None),
    ]
    assert report.restarts == 1
    assert len(stored) == 4


def test_crawl_survives_empty_pages_and_the_same_video_on_two_pages(sandbox, open_client, tmp_path):
    v = [api_video(n, sandbox) for n in range(3)]
    transport, bodies = scripted(
        [
            {"videos": v[:2], "cursor": 2, "has_more": True, "search_id": "s1"},
            {"videos": [], "cursor": 2, "has_more": True, "search_id": "s1"},
            {"videos": [v[1], v[2]], "cursor": 4, "has_more": True, "search_id": "s2"},
            {"videos": [], "cursor": 6, "has_more": False, "search_id": "s2"},
        ]
    )
    campaign = parse_campaign(
        sandbox.source_text.replace("starts = 2024-02-21", "starts = 2024-04-20")
    )
    clock = VirtualClock(campaign.cutoff_ts + 30 * DAY)
    with FileCrawlStore(tmp_path) as store:
        client = open_client(transport, clock, store)
        report = crawl(client, store, campaign, settings=CrawlSettings(max_count=2))
        path = store.observations_path(campaign.id)
    assert [(b.get("cursor"), b.get("search_id")) for b in bodies] == [
        (None, None),
        (2, "s1"),
        (2, "s1"),
        (4, "s2"),  # the search continues under its new id
    ]
    assert sorted(o.username for o in read_observations(path)) == ["user0", "user1", "user2"]
    assert report.observations == 3


@pytest.mark.parametrize("inclusive", [False, True])
def test_crawl_finds_exactly_the_sandbox_entries_with_faults_on(
    sandbox, sim, open_client, tmp_path, inclusive
):
    clock = VirtualClock(sandbox.cutoff_ts + 5 * DAY)
    # Every fault, often enough that a crawl of ~40 pages meets each of them.
    faults = Faults(0.1, 0.1, 0.1, 0.15, 0.15, 0.2, 0.2)
    config = SandboxConfig(faults=faults, hidden_share=0.05, end_date_inclusive=inclusive, seed=3)
    api = SandboxAPI(sim.videos, clock, config)
    with FileCrawlStore(tmp_path) as store:
        client = open_client(api.transport(), clock, store)
        report = crawl(client, store, sandbox, settings=CrawlSettings(max_count=10))
        path = store.observations_path(sandbox.id)
    observations = list(read_observations(path))
    expected = expected_entries(sandbox, sim.videos)
    if inclusive:
        # The last span's end_date (the day after the deadline, in UTC) is asked for too.
        expected |= {
            v.video_id
            for v in sim.videos
            if utc_date(v.create_time) == "20240422"
            and v.region_code == "AZ"
            and any(fold(t) in sandbox.folded_hashtags for t in v.hashtags)
        }
    assert {o.video_id for o in observations} == {i for i in expected if not api.is_hidden(i)}
    assert_true_and_unique(observations, sim)
    met = ("500", "504", "429", "expired", "empty", "duplicate", "new_search_id")
    assert all(api.stats[f] > 0 for f in met), api.stats
    assert report.restarts >= api.stats["expired"]
    assert report.stopped is None


def test_crawl_stops_for_the_quota_or_waits_for_midnight(sandbox, sim, open_client, tmp_path):
    clock = VirtualClock(sandbox.cutoff_ts + 5 * DAY)
    api = SandboxAPI(sim.videos, clock)
    expected = expected_entries(sandbox, sim.videos)
    with FileCrawlStore(tmp_path) as store:
        client = open_client(api.transport(), clock, store, limits=QuotaLimits(requests=4))
        small = CrawlSettings(max_count=20, wait_for_quota=False)
        stopped = crawl(client, store, sandbox, settings=small)
        assert (stopped.stopped, stopped.requests) == ("quota", 4)
        waited = crawl(client, store, sandbox, settings=CrawlSettings(max_count=20))
        found = {v.video_id for v in store.videos(sandbox.id, cutoff=sandbox.cutoff_ts)}
    assert waited.stopped is None
    assert waited.quota_waits >= 1
    assert found == expected
    assert clock.now() > sandbox.cutoff_ts + 6 * DAY  # slept past 00:00 UTC


def test_crawl_reports_progress_with_requests_videos_and_quota(sandbox, sim, open_client, tmp_path):
    clock = VirtualClock(sandbox.cutoff_ts + 5 * DAY)
    api = SandboxAPI(sim.videos, clock)
    updates: list[Progress] = []
    with FileCrawlStore(tmp_path) as store:
        client = open_client(api.transport(), clock, store)
        crawl(client, store, sandbox, settings=CrawlSettings(max_count=50), progress=updates.append)
        again = crawl(client, store, sandbox)
    last = updates[-1]
    assert last.stage == "crawl 20240420-20240422"
    assert (last.requests, last.videos) == (
        client.requests - 0,
        len(expected_entries(sandbox, sim.videos)),
    )
    assert last.quota_left == 1000 - client.requests
    assert [u.requests for u in updates] == list(range(1, len(updates) + 1))
    assert (again.spans_planned, again.requests) == (0, 0)


def test_crawl_killed_at_random_points_resumes_exactly(sandbox, sim, tmp_path):
    # The clock stands still (no fault that sleeps), so every sighting of a video is one
    # observation at one instant: the end state is known exactly.
    clock = VirtualClock(sandbox.cutoff_ts + 5 * DAY)
    faults = Faults(search_expired=0.05, empty_page=0.05, duplicate=0.1, new_search_id=0.1)
    api = SandboxAPI(sim.videos, clock, SandboxConfig(faults=faults, hidden_share=0.05, seed=1))
    rng = random.Random(2024)
    kills = runs = 0
    while runs < 300:
        runs += 1
        with (
            FileCrawlStore(tmp_path, durable=False) as store,
            httpx.Client(transport=KillingTransport(api.transport(), rng, 0.25)) as http,
        ):
            client = TikTokClient(http, SANDBOX_SETTINGS, clock=clock, book=store, seed=runs)
            try:
                report = crawl(client, store, sandbox, settings=CrawlSettings(max_count=5))
            except Killed:
                kills += 1
                continue
        if report.spans_planned == 0:
            break
    observations = list(read_observations(tmp_path / sandbox.id / "observations.jsonl"))
    expected = {i for i in expected_entries(sandbox, sim.videos) if not api.is_hidden(i)}
    assert kills >= 10
    assert sorted(o.video_id for o in observations) == sorted(expected)
    assert {o.collected_at for o in observations} == {int(clock.now())}
    assert_true_and_unique(observations, sim)


CRAWL_SCRIPT = """
import os, sys
import httpx
from oyren.collect.connectors import TikTokClient, TikTokSettings
from oyren.collect.discover import CrawlSettings, crawl
from oyren.collect.checkpoints import FileCrawlStore
from oyren.sandbox.simulate import sandbox_campaign

campaign = sandbox_campaign()
settings = TikTokSettings("sandbox-client-key", "sandbox-client-secret", os.environ["BASE"])
print("ready", flush=True)
with FileCrawlStore(sys.argv[1]) as store, httpx.Client(timeout=10) as http:
    client = TikTokClient(http, settings, book=store)
    report = crawl(client, store, campaign, settings=CrawlSettings(max_count=10))
print(report.spans_planned)
"""


@pytest.mark.slow
def test_crawl_killed_in_a_subprocess_resumes_exactly(sandbox, sim, tmp_path):
    clock = VirtualClock(sandbox.cutoff_ts + 5 * DAY)
    api = SandboxAPI(sim.videos, clock, SandboxConfig(faults=Faults(duplicate=0.1), seed=2))
    rng = random.Random(7)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    kills = 0
    jsonl = tmp_path / sandbox.id / "observations.jsonl"

    def stored_bytes() -> int:
        return jsonl.stat().st_size if jsonl.exists() else 0

    with serve(api) as base:
        env["BASE"] = base
        for _ in range(30):
            process = subprocess.Popen(
                [sys.executable, "-c", CRAWL_SCRIPT, str(tmp_path)],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
            assert process.stdout is not None
            assert process.stdout.readline() == b"ready\n"
            if kills < 3:
                # Somewhere in the crawl, a few pages on: mid-request, mid-append or mid-commit.
                target = stored_bytes() + rng.randint(1, 8) * 1000
                while process.poll() is None and stored_bytes() < target:
                    time.sleep(0.001)
                time.sleep(rng.uniform(0, 0.01))
                if process.poll() is None:
                    process.send_signal(signal.SIGKILL)
                    kills += 1
            out, err = process.communicate(timeout=60)
            if process.returncode == 0 and out.strip() == b"0":
                break
            assert process.returncode in (0, -signal.SIGKILL), err.decode()
    observations = list(read_observations(tmp_path / sandbox.id / "observations.jsonl"))
    assert kills >= 1
    assert sorted(o.video_id for o in observations) == sorted(expected_entries(sandbox, sim.videos))
    assert_true_and_unique(observations, sim)
