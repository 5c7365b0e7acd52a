"""Collection into the database: atomic pages, the sandbox crawled, kills, and the CLI."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError

from oyren.clock import VirtualClock
from oyren.collect.checkpoints import Checkpoint
from oyren.collect.connectors import TikTokClient
from oyren.collect.dbstore import DbCrawlStore
from oyren.collect.discover import CrawlSettings, crawl
from oyren.errors import StoreError
from oyren.inputs.observations import observation_to_record
from oyren.rules.campaign import Campaign
from oyren.rules.observations import Observation
from oyren.sandbox.api import Faults, SandboxAPI, SandboxConfig
from oyren.sandbox.server import serve
from oyren.sandbox.simulate import Simulation, sandbox_campaign, simulate
from oyren.store import ingest_observations, register_campaign, standings
from oyren.store.db import transaction
from oyren.store.models import AuditRow
from oyren.store.rows import stored_observations
from tests.sandboxing import (
    DAY,
    SANDBOX_SETTINGS,
    Killed,
    KillingTransport,
    assert_true_and_unique,
    client_factory,
    expected_entries,
)

SPAN = "20240220-20240321"


@pytest.fixture(scope="module")
def sandbox() -> Campaign:
    return sandbox_campaign()


@pytest.fixture(scope="module")
def sim(sandbox: Campaign) -> Simulation:
    return simulate(sandbox, videos=300, seed=11)


@pytest.fixture
def crawl_db(db: Engine, sandbox: Campaign) -> Engine:
    """``db`` with the sandbox campaign registered."""
    with transaction(db) as session:
        register_campaign(session, campaign=sandbox, by="organizer")
    return db


def stored(engine: Engine, campaign_id: str) -> list[Observation]:
    with transaction(engine) as session:
        return list(stored_observations(session, campaign_id))


def audit_actions(engine: Engine, campaign_id: str) -> list[str]:
    with transaction(engine) as session:
        query = select(AuditRow.action).where(AuditRow.campaign_id == campaign_id)
        return list(session.scalars(query.order_by(AuditRow.id)))


def test_db_store_refuses_an_unregistered_campaign(db: Engine) -> None:
    store = DbCrawlStore(db)
    with pytest.raises(StoreError, match=r"no campaign 'nope'.*oyren init"):
        store.checkpoints("nope")
    with pytest.raises(StoreError, match="no campaign 'nope'"):
        store.add_page("nope", [], Checkpoint(SPAN))


def test_db_store_page_and_checkpoint_are_one_transaction(
    crawl_db: Engine, sandbox: Campaign, make_obs: Callable[..., Observation]
) -> None:
    store = DbCrawlStore(crawl_db)
    t = sandbox.cutoff_ts
    store.add_page(sandbox.id, [make_obs(id=1, collected_at=t)], Checkpoint(SPAN, cursor=100))
    broken = Checkpoint(SPAN, cursor=200, done=None)  # type: ignore[arg-type]  # the table refuses
    with pytest.raises(IntegrityError):
        store.add_page(sandbox.id, [make_obs(id=2, collected_at=t)], broken)
    assert store.checkpoints(sandbox.id) == {SPAN: Checkpoint(SPAN, cursor=100)}
    assert [o.video_id for o in stored(crawl_db, sandbox.id)] == ["1"]


def test_db_store_keeps_the_rows_oyren_ingest_writes(
    crawl_db: Engine, sandbox: Campaign, make_obs: Callable[..., Observation], tmp_path: Path
) -> None:
    t = sandbox.cutoff_ts
    page = [make_obs(id=1, collected_at=t, view_count=10), make_obs(id=2, collected_at=t + 5)]
    DbCrawlStore(crawl_db).add_page(sandbox.id, page, None)
    # The same observations imported from a file are exact duplicates: nothing new.
    path = tmp_path / "o.jsonl"
    path.write_bytes(b"".join(orjson.dumps(observation_to_record(o)) + b"\n" for o in page))
    with transaction(crawl_db) as session:
        summary = ingest_observations(session, campaign_id=sandbox.id, path=path, by="t")
    assert (summary.new_observations, summary.duplicates) == (0, 2)
    assert stored(crawl_db, sandbox.id) == page


def test_db_store_quota_is_shared_by_every_campaign(crawl_db: Engine) -> None:
    first, second = DbCrawlStore(crawl_db), DbCrawlStore(crawl_db)
    first.record_quota("2024-04-21", 5, 500)
    second.record_quota("2024-04-21", 2, 0)
    first.record_quota("2024-04-21", 0, 0)
    assert (first.quota_spent("2024-04-21"), second.quota_spent("2024-04-20")) == ((7, 500), (0, 0))


def test_db_crawl_of_the_sandbox_with_faults_stores_exactly_its_videos(
    crawl_db: Engine, sandbox: Campaign, sim: Simulation
) -> None:
    clock = VirtualClock(sandbox.cutoff_ts + 5 * DAY)
    faults = Faults(0.1, 0.1, 0.1, 0.15, 0.15, 0.2, 0.2)
    api = SandboxAPI(sim.videos, clock, SandboxConfig(faults=faults, hidden_share=0.05, seed=3))
    store = DbCrawlStore(crawl_db)
    with client_factory() as make:
        client = make(api.transport(), clock, store)
        report = crawl(client, store, sandbox, settings=CrawlSettings(max_count=10))
    observations = stored(crawl_db, sandbox.id)
    expected = {i for i in expected_entries(sandbox, sim.videos) if not api.is_hidden(i)}
    assert {o.video_id for o in observations} == expected
    assert_true_and_unique(observations, sim)
    assert report.stopped is None
    assert all(api.stats[f] > 0 for f in ("500", "504", "429", "expired", "empty", "duplicate"))
    # The ledger holds what the client spent (429s are not charged).
    assert store.quota_spent(client_day(clock))[0] == api.spent(client_day(clock))[0]


def client_day(clock: VirtualClock) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(clock.now(), tz=UTC).strftime("%Y-%m-%d")


def test_db_crawl_killed_at_random_points_resumes_exactly(
    crawl_db: Engine, sandbox: Campaign, sim: Simulation
) -> None:
    clock = VirtualClock(sandbox.cutoff_ts + 5 * DAY)
    faults = Faults(search_expired=0.05, empty_page=0.05, duplicate=0.1, new_search_id=0.1)
    api = SandboxAPI(sim.videos, clock, SandboxConfig(faults=faults, hidden_share=0.05, seed=1))
    rng = random.Random(2024)
    kills = runs = 0
    while runs < 300:
        runs += 1
        store = DbCrawlStore(crawl_db)  # a new process: nothing kept but the database
        with httpx.Client(transport=KillingTransport(api.transport(), rng, 0.25)) as http:
            client = TikTokClient(http, SANDBOX_SETTINGS, clock=clock, book=store, seed=runs)
            try:
                report = crawl(client, store, sandbox, settings=CrawlSettings(max_count=5))
            except Killed:
                kills += 1
                continue
        if report.spans_planned == 0:
            break
    observations = stored(crawl_db, sandbox.id)
    expected = {i for i in expected_entries(sandbox, sim.videos) if not api.is_hidden(i)}
    assert kills >= 10
    assert sorted(o.video_id for o in observations) == sorted(expected)
    assert {o.collected_at for o in observations} == {int(clock.now())}
    assert_true_and_unique(observations, sim)


# --- The commands, against a sandbox server on a free loopback port ---


@pytest.fixture
def sandbox_file(tmp_path: Path, sandbox: Campaign) -> Path:
    path = tmp_path / "sandbox.toml"
    path.write_text(sandbox.source_text, encoding="utf-8")
    return path


@contextmanager
def served(sim: Simulation, at: int) -> Iterator[tuple[SandboxAPI, dict[str, str]]]:
    """Serve the sandbox from ``at``; yield it and the variables that point the CLI at it."""
    api = SandboxAPI(sim.videos, VirtualClock(at), SandboxConfig(seed=2))
    with serve(api) as base:
        yield (
            api,
            {
                "OYREN_TIKTOK_API_BASE": base,
                "TIKTOK_CLIENT_KEY": api.config.client_key,
                "TIKTOK_CLIENT_SECRET": api.config.client_secret,
            },
        )


@pytest.fixture
def api_env(sandbox: Campaign, sim: Simulation) -> Iterator[tuple[SandboxAPI, dict[str, str]]]:
    """The sandbox served five days after its deadline."""
    with served(sim, sandbox.cutoff_ts + 5 * DAY) as api_and_env:
        yield api_and_env


def test_cli_crawl_then_standings_equal_run(
    cli: Callable[..., Any],
    db: Engine,
    api_env: Any,
    sandbox: Campaign,
    sandbox_file: Path,
    sim: Simulation,
    tmp_path: Path,
) -> None:
    _, env = api_env
    assert cli("init", "--campaign", sandbox_file).exit_code == 0
    crawled = cli("crawl", "--campaign", sandbox.id, env=env)
    assert crawled.exit_code == 0, crawled.output
    assert "new video(s)" in crawled.stdout
    observations = stored(db, sandbox.id)
    assert {o.video_id for o in observations} == expected_entries(sandbox, sim.videos)
    path = tmp_path / "crawled.jsonl"
    path.write_bytes(b"".join(orjson.dumps(observation_to_record(o)) + b"\n" for o in observations))
    run = cli("run", "--campaign", sandbox_file, "--observations", path, "--format", "json")
    standings = cli("standings", "--campaign", sandbox.id, "--format", "json")
    assert (standings.exit_code, standings.stdout) == (0, run.stdout)
    again = cli("crawl", "--campaign", sandbox.id, env=env)
    assert "crawled 0 of 0 date span(s)" in again.stdout
    assert audit_actions(db, sandbox.id)[-2:] == ["crawl", "crawl"]


def test_cli_track_refreshes_known_entries_and_logs_the_run(
    cli: Callable[..., Any], db: Engine, sandbox: Campaign, sandbox_file: Path, sim: Simulation
) -> None:
    cli("init", "--campaign", sandbox_file)
    with served(sim, sandbox.cutoff_ts - 6 * 3600) as (api, env):
        assert cli("crawl", "--campaign", sandbox.id, env=env).exit_code == 0
        before = stored(db, sandbox.id)
        api.clock.sleep(6 * 3600 + 120)  # just after the deadline: the sweep that brackets it
        tracked = cli("track", "--campaign", sandbox.id, "--no-discover", env=env)
    assert tracked.exit_code == 0, tracked.output
    assert "1 cycle(s)" in tracked.stdout
    after = stored(db, sandbox.id)
    refreshed = {o.video_id for o in after[len(before) :]}
    assert refreshed and refreshed <= {o.video_id for o in before}
    assert min(o.collected_at for o in after[len(before) :]) > sandbox.cutoff_ts
    assert audit_actions(db, sandbox.id)[-1] == "track"


def test_cli_crawl_of_an_unknown_campaign_says_to_register_it(
    cli: Callable[..., Any], api_env: Any, sandbox_file: Path
) -> None:
    _, env = api_env
    cli("init", "--campaign", sandbox_file)
    result = cli("crawl", "--campaign", "nope", env=env)
    assert result.exit_code == 2
    assert "no campaign 'nope'" in result.stderr
    assert "oyren init" in result.stderr


def test_cli_crawl_without_credentials_names_the_variables(
    cli: Callable[..., Any], sandbox_file: Path, sandbox: Campaign
) -> None:
    cli("init", "--campaign", sandbox_file)
    env = {"TIKTOK_CLIENT_KEY": None, "TIKTOK_CLIENT_SECRET": None}
    result = cli("crawl", "--campaign", sandbox.id, env=env)
    assert result.exit_code == 2
    assert "TIKTOK_CLIENT_KEY and TIKTOK_CLIENT_SECRET not set" in result.stderr


def test_cli_track_rejects_a_bad_every(
    cli: Callable[..., Any], sandbox_file: Path, sandbox: Campaign
) -> None:
    cli("init", "--campaign", sandbox_file)
    result = cli("track", "--campaign", sandbox.id, "--every", "soon")
    assert result.exit_code == 2
    assert "'soon' is not a duration like 30m, 2h or 1d" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--faults", "500=2"], "rate must be between 0 and 1"),
        (["--faults", "gremlins=0.1"], "unknown fault 'gremlins'"),
        (["--start", "yesterday"], "'yesterday' is not an ISO 8601 time"),
    ],
)
def test_cli_sandbox_api_rejects_bad_options(
    cli: Callable[..., Any], sandbox_file: Path, args: list[str], message: str
) -> None:
    result = cli("sandbox-api", "--campaign", sandbox_file, *args)
    assert result.exit_code == 2
    assert message in result.stderr


def test_cli_track_every_stops_once_the_deadline_is_bracketed(
    cli: Callable[..., Any], db: Engine, api_env: Any, sandbox: Campaign, sandbox_file: Path
) -> None:
    _, env = api_env
    cli("init", "--campaign", sandbox_file)
    cli("crawl", "--campaign", sandbox.id, env=env)
    tracked = cli("track", "--campaign", sandbox.id, "--every", "2h", env=env)
    assert tracked.exit_code == 0, tracked.output
    assert "finished: every entry's views at the deadline are bracketed" in tracked.stdout
    assert audit_actions(db, sandbox.id)[-2:] == ["crawl", "track"]


def test_db_store_confirms_removal_after_repeated_misses(
    crawl_db: Engine, sandbox: Campaign, make_obs: Callable[..., Observation]
) -> None:
    store = DbCrawlStore(crawl_db)
    t = sandbox.cutoff_ts
    store.add_page(
        sandbox.id, [make_obs(id=1, collected_at=t), make_obs(id=2, collected_at=t)], None
    )
    for n in (1, 2):
        store.note_missing(sandbox.id, {"1"}, t + n * 3600)
    with transaction(crawl_db) as session:
        assert standings(session, campaign_id=sandbox.id).results.entries[0].reasons == ()
    store.note_missing(sandbox.id, {"1"}, t + 3 * 3600)
    with transaction(crawl_db) as session:
        reasons = {
            e.video_id: e.reasons
            for e in standings(session, campaign_id=sandbox.id).results.entries
        }
    assert reasons == {"1": ("removed",), "2": ()}
    assert "removal" in audit_actions(crawl_db, sandbox.id)
