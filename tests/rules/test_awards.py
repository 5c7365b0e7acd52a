from oyren.rules.awards import JuryPick, creator_totals, settle
from oyren.rules.results import Entry


def entry(video_id, username, views, create_time=1000):
    return Entry(
        video_id=str(video_id),
        username=username,
        create_time=create_time,
        eligible=True,
        reasons=(),
        views_at_cutoff=views,
        views_basis="observed",
        observations=1,
    )


def ranked(*entries):
    return sorted(entries, key=lambda e: e.sort_key)


def test_settle_best_video_is_most_viewed():
    entries = ranked(entry(1, "a", 10), entry(2, "b", 30), entry(3, "c", 20))
    winners = settle(entries, creator_totals(entries), max_prizes_per_creator=1)
    assert (winners.best_video.video_id, winners.best_video.views) == ("2", 30)


def test_settle_views_tie_goes_to_the_earlier_post():
    entries = ranked(entry(1, "a", 50, create_time=2000), entry(2, "b", 50, create_time=1000))
    assert settle(entries, [], max_prizes_per_creator=1).best_video.video_id == "2"


def test_settle_views_and_time_tie_goes_to_the_smaller_id_numerically():
    entries = ranked(entry(10, "a", 50), entry(9, "b", 50))
    assert settle(entries, [], max_prizes_per_creator=1).best_video.video_id == "9"


def test_creator_totals_sum_eligible_views_per_creator_case_insensitively():
    entries = ranked(entry(1, "Aysel", 10), entry(2, "aysel", 30), entry(3, "b", 35))
    totals = creator_totals(entries)
    assert [(t.username.casefold(), t.views, t.video_ids) for t in totals] == [
        ("aysel", 40, ("2", "1")),
        ("b", 35, ("3",)),
    ]


def test_settle_one_prize_per_creator_passes_discover_to_the_next():
    entries = ranked(entry(1, "a", 100), entry(2, "a", 100), entry(3, "b", 150))
    winners = settle(entries, creator_totals(entries), max_prizes_per_creator=1)
    # b's video is the most viewed; a has the largest total (200) and gets discover.
    assert winners.best_video.username == "b"
    assert (winners.discover.username, winners.discover.views) == ("a", 200)
    entries = ranked(entry(1, "a", 300), entry(2, "a", 100), entry(3, "b", 150))
    winners = settle(entries, creator_totals(entries), max_prizes_per_creator=1)
    assert (winners.best_video.username, winners.discover.username) == ("a", "b")


def test_settle_two_prizes_allowed_lets_one_creator_take_both():
    entries = ranked(entry(1, "a", 300), entry(2, "b", 150))
    winners = settle(entries, creator_totals(entries), max_prizes_per_creator=2)
    assert (winners.best_video.username, winners.discover.username) == ("a", "a")


def test_creator_tie_goes_to_the_earlier_first_post_then_smaller_id():
    entries = ranked(
        entry(5, "late", 100, create_time=3000),
        entry(6, "early", 100, create_time=10),
        entry(7, "early", 0, create_time=5000),
    )
    assert [t.username for t in creator_totals(entries)] == ["early", "late"]
    same_time = ranked(entry(8, "x", 100), entry(4, "y", 100))
    assert [t.username for t in creator_totals(same_time)] == ["y", "x"]


def test_settle_no_eligible_entries_gives_no_winners():
    winners = settle([], [], max_prizes_per_creator=1)
    assert (winners.best_video, winners.discover, winners.most_creative) == (None, None, None)


def test_settle_sole_creator_wins_once_when_limited():
    entries = ranked(entry(1, "a", 100))
    winners = settle(entries, creator_totals(entries), max_prizes_per_creator=1)
    assert (winners.best_video.username, winners.discover) == ("a", None)


def test_settle_most_creative_skips_creators_at_the_limit_and_unknown_ids():
    entries = ranked(entry(1, "a", 300), entry(2, "b", 200), entry(3, "c", 100))
    jury = [JuryPick("99", 0.9), JuryPick("1", 0.6), JuryPick("2", 0.2), JuryPick("3", 0.1)]
    winners = settle(entries, creator_totals(entries), max_prizes_per_creator=1, jury=jury)
    assert (winners.best_video.username, winners.discover.username) == ("a", "b")
    assert (winners.most_creative.video_id, winners.most_creative.probability) == ("3", 0.1)
