from collections import Counter

import pytest

from oyren.rules.videos import collect_videos
from oyren.sandbox.plants import FRAUD, HONEST, PlantRates, plant
from oyren.sandbox.simulate import DAY, observations, sandbox_campaign, simulate
from oyren.screening.flags import flag_videos


@pytest.fixture(scope="module")
def campaign():
    return sandbox_campaign()


@pytest.fixture(scope="module")
def planted(campaign):
    return plant(simulate(campaign, videos=1500, seed=11))


def test_plant_same_seed_gives_same_campaign(campaign):
    sim = simulate(campaign, videos=200, seed=5)
    assert plant(sim) == plant(sim)


def test_plant_leaves_the_simulation_it_was_given_alone(campaign):
    sim = simulate(campaign, videos=200, seed=5)
    plant(sim)
    assert simulate(campaign, videos=200, seed=5) == sim


def test_plant_every_kind_is_planted(planted):
    kinds = Counter(code for v in planted.videos for code in v.planted)
    assert set(kinds) == set(FRAUD) | set(HONEST)
    assert kinds["reupload"] == 15


def test_plant_nothing_when_every_rate_is_zero(campaign):
    sim = simulate(campaign, videos=200, seed=5)
    rates = PlantRates(**dict.fromkeys(PlantRates.__dataclass_fields__, 0.0))
    assert [v.planted for v in plant(sim, rates=rates).videos] == [()] * 200


def test_plant_bought_views_arrive_as_a_block_and_removal_lowers_the_count(planted):
    video = next(v for v in planted.videos if "views_removed" in v.planted)
    [boost] = [b for b in video.boosts if b.views]
    done = boost.at + boost.over_s
    assert video.views_at(done) - video.views_at(boost.at) >= boost.views
    assert boost.removed_at is not None
    assert video.views_at(boost.removed_at) < video.views_at(boost.removed_at - 1)


def test_plant_reupload_is_later_and_as_long_as_its_original(planted):
    originals = [v for v in planted.videos if "reupload" not in v.planted]
    copies = [v for v in planted.videos if "reupload" in v.planted]
    line = {v.video_id: v.description.split("#")[0] for v in planted.videos}
    for copy in copies:
        sources = [
            o
            for o in originals
            if line[o.video_id] == line[copy.video_id]
            and abs(o.duration_s - copy.duration_s) <= 1
            and o.create_time < copy.create_time
        ]
        assert sources != [], copy.video_id


def test_plant_lockstep_groups_share_their_boost_moments(planted):
    hours = Counter(
        b.at // (3600 * 3) for v in planted.videos if "lockstep" in v.planted for b in v.boosts
    )
    assert max(hours.values()) >= 3


def test_plant_flags_find_planted_fraud_and_spare_honest_videos(campaign):
    sim = plant(simulate(campaign, videos=600, seed=21))
    videos = list(
        collect_videos(observations(sim, every_s=DAY // 4), cutoff=campaign.cutoff_ts).values()
    )
    flags = flag_videos(videos)
    truth = {v.video_id: set(v.planted) for v in sim.videos}
    spiked = {vid for vid, fs in flags.items() if any(f.code == "view_spike" for f in fs)}
    bought = {vid for vid, p in truth.items() if "bought_views" in p}
    honest = {vid for vid, p in truth.items() if not p}
    assert len(spiked & bought) >= len(bought) // 2
    assert len(honest & set(flags)) <= len(honest) // 100
