from dataclasses import replace

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oyren.rules.observations import Observation
from oyren.rules.videos import collect_videos, meta_of, series_of

CUT = 1_713_729_599


def test_collect_videos_groups_by_id_and_sorts_series(make_obs):
    observations = [
        make_obs(id=1, collected_at=CUT + 50, view_count=30),
        make_obs(id=2, collected_at=CUT - 50, view_count=5),
        make_obs(id=1, collected_at=CUT - 50, view_count=10),
    ]
    videos = collect_videos(observations, cutoff=CUT)
    assert list(videos) == ["1", "2"]
    assert (videos["1"].times, videos["1"].views) == ((CUT - 50, CUT + 50), (10, 30))


def test_collect_videos_exact_duplicate_counts_once(make_obs):
    obs = make_obs()
    video = collect_videos([obs, obs, obs], cutoff=CUT)[obs.video_id]
    assert len(video.times) == 1


def test_collect_videos_conflicting_counts_at_one_instant_keep_the_larger(make_obs):
    forward = [make_obs(view_count=10), make_obs(view_count=12)]
    videos = [collect_videos(order, cutoff=CUT) for order in (forward, forward[::-1])]
    assert [v["7340000000000000001"].views for v in videos] == [(12,), (12,)]


def test_collect_videos_meta_is_last_before_cutoff(make_obs):
    observations = [
        make_obs(collected_at=CUT - 500, video_description="early #TikTokdanOyren"),
        make_obs(collected_at=CUT - 100, video_description="at deadline #TikTokdanOyren"),
        make_obs(collected_at=CUT + 100, video_description="edited after, tag removed"),
    ]
    for order in (observations, observations[::-1]):
        meta = collect_videos(order, cutoff=CUT)["7340000000000000001"].meta
        assert meta.description == "at deadline #TikTokdanOyren"


def test_collect_videos_meta_is_first_after_cutoff_when_none_before(make_obs):
    observations = [
        make_obs(collected_at=CUT + 900, video_description="later"),
        make_obs(collected_at=CUT + 100, video_description="first after"),
    ]
    meta = collect_videos(observations, cutoff=CUT)["7340000000000000001"].meta
    assert meta.description == "first after"


# A video's sightings: instants around the cutoff (often repeated), counts and descriptions.
_SIGHTINGS = st.lists(
    st.tuples(st.integers(-3, 3), st.integers(0, 5), st.sampled_from(["a", "b", ""])),
    min_size=1,
    max_size=12,
)


# make_obs only builds an observation: the same for every example.
@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(sightings=_SIGHTINGS, order=st.randoms(use_true_random=False))
def test_series_and_meta_of_sightings_in_any_order_are_collect_videos(make_obs, sightings, order):
    base: Observation = make_obs()
    seen = [
        replace(base, collected_at=CUT + 100 * step, view_count=views, description=words)
        for step, views, words in sightings
    ]
    video = collect_videos(seen, cutoff=CUT)[base.video_id]
    # Worked out here too, not only by the grouping that uses series_of itself.
    largest: dict[int, int] = {}
    for o in seen:
        largest[o.collected_at] = max(o.view_count, largest.get(o.collected_at, -1))
    assert (video.times, video.views) == (
        tuple(sorted(largest)),
        tuple(v for _, v in sorted(largest.items())),
    )
    shuffled = list(seen)
    order.shuffle(shuffled)
    # The series from the counts in any order; the metadata from those seen at its instant.
    assert series_of([o.collected_at for o in shuffled], [o.view_count for o in shuffled]) == (
        video.times,
        video.views,
    )
    at = max((o.collected_at for o in seen if o.collected_at <= CUT), default=video.times[0])
    assert meta_of(o for o in shuffled if o.collected_at == at) == video.meta
