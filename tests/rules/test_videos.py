from oyren.rules.videos import collect_videos

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
