from oyren.rules.observations import Observation
from oyren.rules.videos import Video
from oyren.screening.flags import FLAG_CODES, flag_series, flag_videos
from oyren.screening.growth import Intervals
from tests.screening.conftest import DAY, START, block, codes, curve, video


def test_flag_videos_honest_campaign_raises_no_flag(honest):
    assert flag_videos(honest) == {}


def test_flag_videos_empty_campaign_has_no_flags():
    assert flag_videos([]) == {}


def test_flag_videos_small_video_with_odd_ratios_is_not_flagged(honest):
    small = video("4", "tiny", START + 3 * DAY, lambda a: curve(150, 24, a), like_rate=0.4)
    assert codes(flag_videos([*honest, small]), "4") == ()


def test_flag_videos_bought_likes_are_an_engagement_outlier(honest):
    liked = video("5", "liked", START + 2 * DAY, lambda a: curve(50_000, 40, a), like_rate=0.6)
    flags = flag_videos([*honest, liked])
    assert codes(flags, "5") == ("engagement_outlier",)
    assert flags["5"][0].explanation.startswith("at 49,999 views: 600 likes per 1,000 views, ")
    assert "times above the campaign median" in flags["5"][0].explanation


def test_flag_videos_views_without_likes_are_an_engagement_outlier(honest):
    hollow = video(
        "6",
        "hollow",
        START + 2 * DAY,
        lambda a: curve(80_000, 40, a),
        like_rate=0.004,
        comment_rate=0.0003,
        share_rate=0.0004,
    )
    flags = flag_videos([*honest, hollow])
    assert codes(flags, "6") == ("engagement_outlier",)
    assert "times below the campaign median" in flags["6"][0].explanation


def test_flag_videos_codes_are_the_documented_ones(honest):
    bought = block(9 * DAY, 40_000)
    buyer = video("1", "buyer", START + DAY, lambda a: curve(30_000, 48, a) + bought(a))
    flags = flag_videos([*honest, buyer])
    assert {f.code for fs in flags.values() for f in fs} <= set(FLAG_CODES)


def test_flag_videos_unknown_engagement_counts_are_left_out(honest):
    # The API may omit like, comment and share counts: such videos are left out of the maths.
    unknown = [
        Video(
            meta=Observation(**{**_fields(v.meta), "like_count": None, "share_count": None}),
            times=v.times,
            views=v.views,
        )
        for v in honest[:20]
    ]
    flags = flag_videos(unknown + honest[20:])
    assert [codes(flags, v.video_id) for v in unknown] == [()] * 20


def _fields(obs: Observation) -> dict:
    return {name: getattr(obs, name) for name in Observation.__slots__}


def test_flag_series_is_flag_videos_from_columns(honest):
    bought = block(9 * DAY, 40_000)
    buyer = video("1", "buyer", START + DAY, lambda a: curve(30_000, 48, a) + bought(a))
    videos = [*honest, buyer]
    flags = flag_series([v.meta for v in videos], Intervals.of(videos))
    assert flags == flag_videos(videos)
    assert [f.code for f in flags["1"]] == ["view_spike"]
    assert flag_series([], Intervals.of([])) == {}
