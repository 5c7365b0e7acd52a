from datetime import UTC, datetime

from oyren.collect.discover import campaign_dates
from oyren.rules.hashtags import fold
from oyren.rules.results import results_to_dict
from oyren.sandbox.demo import build_demo
from oyren.store import standings
from oyren.store.accounts import authenticate
from oyren.store.db import open_database, transaction


def test_build_demo_collects_every_matching_video_through_the_sandbox_api(tmp_path):
    stages = []
    seen = {}

    def progress(stage, done, total):
        stages.append(stage)
        seen[stage] = (done, total)

    demo = build_demo(tmp_path, videos=200, seed=3, progress=progress)
    # The API is asked for the campaign's hashtags in its regions over the UTC dates covering
    # the window: those videos, and only those.
    campaign = demo.campaign
    first, last = campaign_dates(campaign)
    wanted = {
        v.video_id
        for v in demo.simulation.videos
        if v.region_code in campaign.regions
        and any(fold(t) in campaign.folded_hashtags for t in v.hashtags)
        and first <= datetime.fromtimestamp(v.create_time, tz=UTC).date() <= last
    }
    assert {e.video_id for e in demo.results.entries} == wanted
    truth = {v.video_id: v for v in demo.simulation.videos}
    for entry in demo.results.entries:
        if entry.views_basis == "observed":
            assert entry.views_at_cutoff == truth[entry.video_id].views_at(campaign.cutoff_ts)
    assert {"inventing videos", "collecting: videos found", "storing observations",
            "fetching thumbnails"} <= set(stages)  # fmt: skip
    # Each bar has a total: videos found against those invented, thumbnails against entries.
    assert seen["collecting: videos found"] == (len(demo.results.entries), 200)
    entries = len(demo.results.entries)
    assert seen["fetching thumbnails"] == (entries, entries) and demo.thumbnails == entries
    engine = open_database(demo.settings.database_url)
    try:
        with transaction(engine) as session:
            stored = standings(session, campaign_id=demo.campaign.id)
            user = authenticate(session, username=demo.organizer, password=demo.password)
    finally:
        engine.dispose()
    assert results_to_dict(stored.results) == results_to_dict(demo.results)
    assert user is not None and user.role == "organizer"


def test_build_demo_twice_replaces_the_earlier_store(tmp_path):
    first = build_demo(tmp_path, videos=50, seed=1)
    second = build_demo(tmp_path, videos=80, seed=2)
    assert {e.video_id for e in first.results.entries} <= {
        v.video_id for v in first.simulation.videos
    }
    assert {e.video_id for e in second.results.entries} <= {
        v.video_id for v in second.simulation.videos
    }
    assert first.settings.database_url == second.settings.database_url
    assert first.password != second.password
