"""The CrawlStore contract on every store (files, SQLite, PostgreSQL), and each store's own."""

import random
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import replace
from typing import Any

import pytest

from oyren.collect.checkpoints import Added, Checkpoint, CrawlStore, FileCrawlStore
from oyren.errors import StoreError
from oyren.inputs.observations import read_observations
from oyren.rules.observations import Observation
from oyren.rules.videos import collect_videos
from tests.conftest import BACKENDS, _database

CAMPAIGN = "sandbox-2024"

OpenStore = Callable[[], AbstractContextManager[CrawlStore]]


@pytest.fixture(params=["file", *BACKENDS])
def open_store(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[OpenStore]:
    """Open the store under test (again and again, on the same data): files or a database."""
    if request.param == "file":
        yield lambda: FileCrawlStore(tmp_path / "crawl")
        return
    from oyren.collect.dbstore import DbCrawlStore
    from oyren.sandbox.simulate import sandbox_campaign
    from oyren.store import register_campaign
    from oyren.store.db import create_db_engine, transaction

    for engine in _database(request, tmp_path, migrated=True):
        with transaction(engine) as session:
            register_campaign(session, campaign=sandbox_campaign(), by="organizer")

        @contextmanager
        def open_db(url: Any = engine.url) -> Iterator[CrawlStore]:
            again = create_db_engine(url)
            try:
                yield DbCrawlStore(again)
            finally:
                again.dispose()

        yield open_db


@pytest.fixture
def obs(make_obs):
    """Observations of video ``n`` at ``t`` with ``views``."""
    return lambda n, t, views=100, **kw: make_obs(
        id=7340000000000000000 + n, collected_at=t, view_count=views, **kw
    )


def test_store_add_page_skips_repeats_and_counts_new_videos(open_store, obs, campaign):
    t = campaign.cutoff_ts
    with open_store() as store:
        first = store.add_page(CAMPAIGN, [obs(1, t), obs(2, t), obs(1, t)], None)
        again = store.add_page(CAMPAIGN, [obs(1, t), obs(1, t + 60, 150), obs(3, t)], None)
        videos = store.videos(CAMPAIGN, cutoff=t)
    assert first == Added(observations=2, videos=2)
    assert again == Added(observations=2, videos=1)
    assert sorted((v.video_id, v.times, v.views) for v in videos)[0] == (
        "7340000000000000001",
        (t, t + 60),
        (100, 150),
    )


def test_store_reopens_with_checkpoints_observations_and_quota(open_store, obs, campaign):
    t = campaign.cutoff_ts
    checkpoint = Checkpoint("20240220-20240321", cursor=200, search_id="s9", started_at=t)
    with open_store() as store:
        store.add_page(CAMPAIGN, [obs(1, t)], checkpoint)
        store.record_quota("2024-04-21", 3, 250)
        store.record_quota("2024-04-21", 1, 0)
    with open_store() as store:
        assert store.checkpoints(CAMPAIGN) == {checkpoint.span: checkpoint}
        assert [v.video_id for v in store.videos(CAMPAIGN, cutoff=t)] == ["7340000000000000001"]
        assert store.quota_spent("2024-04-21") == (4, 250)
        assert store.quota_spent("2024-04-22") == (0, 0)


def test_file_store_observations_are_what_oyren_run_reads(tmp_path, obs, campaign):
    t = campaign.cutoff_ts
    page = [obs(1, t, 10), obs(2, t + 5, 20, username="lei\x00la")]
    with FileCrawlStore(tmp_path) as store:
        store.add_page(CAMPAIGN, page, None)
        path = store.observations_path(CAMPAIGN)
    assert path == tmp_path / CAMPAIGN / "observations.jsonl"
    assert list(read_observations(path)) == page


def test_file_store_cuts_a_page_whose_commit_never_happened(tmp_path, obs, campaign):
    t = campaign.cutoff_ts
    with FileCrawlStore(tmp_path) as store:
        store.add_page(CAMPAIGN, [obs(1, t)], Checkpoint("20240220-20240321", cursor=100))
        path = store.observations_path(CAMPAIGN)
    committed = path.read_bytes()
    # A run killed after appending a page (the last line half written) but before its commit.
    with path.open("ab") as handle:
        handle.write(b'{"id": 7340000000000000009, "username": "x", "create_ti')
    with FileCrawlStore(tmp_path) as store:
        assert store.checkpoints(CAMPAIGN)["20240220-20240321"].cursor == 100
        assert [v.video_id for v in store.videos(CAMPAIGN, cutoff=t)] == ["7340000000000000001"]
        store.add_page(CAMPAIGN, [obs(2, t)], None)
    assert path.read_bytes().startswith(committed)
    assert len(list(read_observations(path))) == 2


def test_file_store_ignores_a_half_written_state_file(tmp_path, obs, campaign):
    with FileCrawlStore(tmp_path) as store:
        store.add_page(CAMPAIGN, [obs(1, campaign.cutoff_ts)], Checkpoint("20240220-20240321"))
    (tmp_path / "state.json.tmp").write_bytes(b'{"version": 1, "camp')
    with FileCrawlStore(tmp_path) as store:
        assert list(store.checkpoints(CAMPAIGN)) == ["20240220-20240321"]


def test_file_store_failed_commit_keeps_the_old_checkpoint(tmp_path, obs, campaign):
    t = campaign.cutoff_ts
    old = Checkpoint("20240220-20240321", cursor=100)
    with FileCrawlStore(tmp_path) as store:
        store.add_page(CAMPAIGN, [obs(1, t)], old)
        (tmp_path / "state.json.tmp").mkdir()  # the commit's temporary file cannot be written
        with pytest.raises(OSError):
            store.add_page(CAMPAIGN, [obs(2, t)], replace(old, cursor=200))
        assert store.checkpoints(CAMPAIGN) == {old.span: old}
        assert len(store.videos(CAMPAIGN, cutoff=t)) == 1
        (tmp_path / "state.json.tmp").rmdir()
    with FileCrawlStore(tmp_path) as store:
        assert store.checkpoints(CAMPAIGN) == {old.span: old}
        assert len(store.videos(CAMPAIGN, cutoff=t)) == 1


def test_file_store_serves_one_process_at_a_time(tmp_path):
    with FileCrawlStore(tmp_path), pytest.raises(StoreError, match="in use by another oyren"):
        FileCrawlStore(tmp_path)
    FileCrawlStore(tmp_path).close()


def test_file_store_refuses_observations_it_did_not_write(tmp_path, obs):
    (tmp_path / CAMPAIGN).mkdir()
    (tmp_path / CAMPAIGN / "observations.jsonl").write_text('{"id": 1}\n')
    with FileCrawlStore(tmp_path) as store, pytest.raises(StoreError, match="not written by"):
        store.checkpoints(CAMPAIGN)


def test_file_store_refuses_a_corrupt_state(tmp_path):
    (tmp_path / "state.json").write_text("{not json")
    with pytest.raises(StoreError, match="unreadable crawl state"):
        FileCrawlStore(tmp_path)


def test_store_videos_match_collect_videos(open_store, obs, campaign):
    rng = random.Random(7)
    cutoff = campaign.cutoff_ts
    pages = [
        [
            obs(
                rng.randrange(20),
                cutoff + rng.randrange(-7200, 7200, 600),
                rng.randrange(1000),
                video_description=rng.choice(["a #TikTokdanÖyrən", "b #LearnOnTikTok"]),
            )
            for _ in range(15)
        ]
        for _ in range(10)
    ]
    everything = [o for page in pages for o in page]
    with open_store() as store:
        store.add_page(CAMPAIGN, pages[0], None)
        store.videos(CAMPAIGN, cutoff=cutoff)  # kept up to date from here on
        for page in pages[1:]:
            store.add_page(CAMPAIGN, page, None)
        for at in (cutoff, cutoff - 3600):
            stored = {v.video_id: v for v in store.videos(CAMPAIGN, cutoff=at)}
            # The store keeps the first of two observations at one instant; so does this.
            first: dict[tuple[str, int], Observation] = {}
            for o in everything:
                first.setdefault((o.video_id, o.collected_at), o)
            assert stored == collect_videos(first.values(), cutoff=at)
