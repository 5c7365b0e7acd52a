from collections import Counter
from itertools import pairwise

import pytest

from oyren.batch.evaluate import evaluate_observations
from oyren.rules.campaign import load_campaign
from oyren.rules.hashtags import fold
from oyren.sandbox.simulate import observations, simulate
from tests.conftest import ROOT

SANDBOX = ROOT / "src" / "oyren" / "data" / "sandbox-2024.toml"


@pytest.fixture(scope="module")
def sandbox():
    return load_campaign(SANDBOX)


@pytest.fixture(scope="module")
def sim(sandbox):
    return simulate(sandbox, videos=1500, seed=3)


def test_simulate_same_seed_gives_same_observations(sandbox):
    first = list(observations(simulate(sandbox, videos=50, seed=9)))
    second = list(observations(simulate(sandbox, videos=50, seed=9)))
    assert first == second


def test_simulate_other_seed_gives_other_campaign(sandbox):
    assert (
        simulate(sandbox, videos=50, seed=1).videos != simulate(sandbox, videos=50, seed=2).videos
    )


def test_simulate_views_grow_and_never_decrease(sim):
    for video in sim.videos[:200]:
        points = [video.views_at(video.create_time + h * 3600) for h in range(0, 24 * 30, 7)]
        assert points == sorted(points)
        assert points[0] == 0


def test_simulate_observations_are_valid_and_sorted_per_video(sim):
    seen: dict[str, int] = {}
    for obs in observations(sim):
        assert obs.collected_at >= obs.create_time
        assert obs.collected_at <= sim.crawl_end + 60
        assert obs.collected_at > seen.get(obs.video_id, 0)
        seen[obs.video_id] = obs.collected_at
    assert len(seen) == len(sim.videos)


def test_simulate_covers_every_reason_and_basis(sim, sandbox):
    results = evaluate_observations(sandbox, observations(sim))
    reasons = Counter(r for e in results.entries for r in e.reasons)
    bases = Counter(e.views_basis for e in results.entries)
    for reason in (
        "no_campaign_hashtag",
        "outside_window",
        "too_short",
        "outside_region",
        "partner_account",
    ):
        assert reasons[reason] > 0, reason
    assert set(bases) == {"observed", "interpolated", "last_before_cutoff", "from_creation"}
    assert results.winners.best_video is not None
    assert results.winners.discover is not None


def test_simulate_uses_several_spellings_and_both_sides_of_the_window_edges(sim, sandbox):
    spellings = {t for v in sim.videos for t in v.hashtags if fold(t) in sandbox.folded_hashtags}
    assert len(spellings) >= 4
    late = [v for v in sim.videos if v.create_time > sandbox.cutoff_ts]
    early = [v for v in sim.videos if v.create_time < sandbox.window_start_ts]
    assert late and early


def test_simulate_creators_range_from_one_video_to_many(sim):
    per_creator = Counter(v.username for v in sim.videos)
    assert min(per_creator.values()) == 1
    assert max(per_creator.values()) >= 10


def test_simulate_rejects_zero_videos(sandbox):
    with pytest.raises(ValueError, match="videos"):
        simulate(sandbox, videos=0)


def test_observations_steady_tracker_looks_at_every_video_every_interval(sandbox):
    sim = simulate(sandbox, videos=30, seed=4)
    seen: dict[str, list[int]] = {}
    for obs in observations(sim, every_s=6 * 3600):
        seen.setdefault(obs.video_id, []).append(obs.collected_at)
    gaps = [b - a for times in seen.values() for a, b in pairwise(times)]
    assert all(abs(gap - 21600 * round(gap / 21600)) < 60 for gap in gaps)
    assert Counter(round(gap / 21600) for gap in gaps).most_common(1)[0][0] == 1
    assert min(times[-1] for times in seen.values()) > sim.crawl_end - 6 * 3600


def test_observations_steady_tracker_faster_than_the_crawl_is_refused(sandbox):
    with pytest.raises(ValueError, match="every_s"):
        next(observations(simulate(sandbox, videos=1, seed=1), every_s=600))
