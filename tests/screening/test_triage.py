from datetime import UTC, datetime

from oyren.rules.awards import creator_totals, settle
from oyren.rules.results import Entry, Flag, Results
from oyren.screening.themes import LOW_CONFIDENCE
from oyren.screening.triage import awaits_person, doubtful_topic, queue_priority, review_queue

SPIKE = Flag("view_spike", 0.9, "gained …")
DUPLICATE = Flag("duplicate_upload", 0.67, "same length …")


def entry(video_id, username, views, *, flags=(), eligible=True, posted=0):
    return Entry(
        video_id=video_id,
        username=username,
        create_time=1_710_000_000 + posted,
        eligible=eligible,
        reasons=() if eligible else ("too_short",),
        views_at_cutoff=views,
        views_basis="observed",
        observations=5,
        flags=tuple(flags),
    )


def results(entries, *, max_prizes=1):
    entries = sorted(entries, key=lambda e: (not e.eligible, e.sort_key))
    ranked = [e for e in entries if e.eligible]
    creators = creator_totals(ranked)
    return Results(
        campaign="test",
        cutoff=datetime(2024, 4, 21, 19, 59, 59, tzinfo=UTC),
        entries=tuple(entries),
        winners=settle(ranked, creators, max_prizes_per_creator=max_prizes),
        creators=tuple((c.username, c.views, c.video_ids) for c in creators),
    )


def many_small(n, views=100):
    return [entry(str(100 + i), f"small{i}", views - i) for i in range(n)]


def test_queue_priority_orders_by_what_exclusion_would_change():
    board = results(
        [
            entry("1", "top", 9_000, flags=[SPIKE]),
            entry("2", "second", 5_000),
            entry("3", "third", 4_000, flags=[DUPLICATE]),
            entry("4", "late", 50_000, flags=[SPIKE], eligible=False),
            *many_small(20),
            entry("5", "far", 10, flags=[DUPLICATE]),
        ]
    )
    queue = queue_priority(board, top=10)
    assert [(i.video_id, i.impact) for i in queue] == [
        ("1", "changes_winner"),
        ("3", "changes_top"),
        ("5", "eligible"),
        ("4", "not_eligible"),
    ]
    assert queue[0].why == (
        "excluding it: the best-video prize would go to video 2 by @second; "
        "the discover prize would go to @third"
    )
    assert (queue[1].rank, queue[1].codes, queue[1].score) == (3, ("duplicate_upload",), 0.67)


def test_queue_priority_discover_winner_far_ahead_keeps_the_prize():
    board = results(
        [
            entry("1", "best", 9_000),
            entry("2", "prolific", 4_000),
            entry("3", "prolific", 3_000),
            entry("4", "prolific", 2_900, flags=[SPIKE], posted=60),
            entry("5", "other", 1_000),
        ]
    )
    [item] = queue_priority(board, top=3)
    assert (item.impact, item.rank, item.why) == (
        "eligible",
        4,
        "#4 of 5; excluding it changes no prize",
    )


def test_queue_priority_creator_falling_out_of_the_top_is_said():
    board = results(
        [
            entry("1", "a", 9_000),
            entry("2", "e", 5_000),
            entry("3", "b", 800),
            entry("4", "b", 700, flags=[SPIKE]),
            entry("5", "c", 1_000),
            entry("6", "d", 900),
        ]
    )
    [item] = queue_priority(board, top=3)
    assert (item.impact, item.why) == (
        "changes_top",
        "excluding it: @b would fall from #3 out of the top 3 creators "
        "(800 views, against 1,000 for #4)",
    )


def test_queue_priority_discover_winner_losing_the_lead_changes_the_winner():
    board = results(
        [
            entry("1", "a", 9_000),
            entry("2", "b", 800),
            entry("3", "b", 700, flags=[SPIKE]),
            entry("4", "c", 1_000),
        ]
    )
    [item] = queue_priority(board)
    assert (item.impact, item.why) == (
        "changes_winner",
        "excluding it: the discover prize would go to @c",
    )


def test_queue_priority_unflagged_entries_are_not_queued():
    assert queue_priority(results([entry("1", "a", 10), entry("2", "b", 5)])) == []


def test_queue_priority_more_views_first_within_a_level():
    board = results(
        [
            entry("1", "a", 9_000),
            *many_small(20, views=1_000),
            entry("2", "b", 30, flags=[DUPLICATE]),
            entry("3", "c", 60, flags=[SPIKE]),
        ]
    )
    assert [i.video_id for i in queue_priority(board, top=5)] == ["3", "2"]


def test_queue_priority_place_in_the_best_video_top_alone_counts():
    board = results(
        [
            entry("1", "a", 9_000),
            entry("2", "b", 5_000, flags=[SPIKE]),
            entry("3", "b", 4_000),
            *many_small(10, views=1_000),
        ]
    )
    [item] = queue_priority(board, top=3)
    assert (item.impact, item.why) == (
        "changes_top",
        "excluding it: it is #2 of the best-video ranking, so the top 3 would change",
    )


def with_topic(e, topic, confidence):
    return Entry(**{**{n: getattr(e, n) for n in Entry.__slots__}, "topic": topic,
                    "topic_confidence": confidence})  # fmt: skip


def soft(video_id, username, views):
    e = entry(video_id, username, views, eligible=False)
    return Entry(**{**{n: getattr(e, n) for n in Entry.__slots__}, "reasons": ("region_unknown",)})


def test_review_queue_orders_prize_changing_flags_soft_reasons_flags_topics_then_the_rest():
    board = results(
        [
            entry("1", "top", 9_000, flags=[SPIKE]),
            soft("2", "unknown_region", 8_000),
            with_topic(entry("3", "dance", 3_000), None, 0.8),
            with_topic(entry("6", "sure", 2_900), "cooking", 0.9),
            *many_small(20),
            entry("5", "far", 10, flags=[DUPLICATE]),
            entry("4", "late", 50_000, flags=[SPIKE], eligible=False),
        ]
    )
    queue = review_queue(board, top=10)
    assert [(r.entry.video_id, r.why) for r in queue] == [
        ("1", "flagged"),
        ("2", "soft_reasons"),
        ("5", "flagged"),
        ("3", "topic"),
        ("4", "flagged"),
    ]
    assert queue[1].detail == "an inclusion would let it count: region_unknown"
    assert queue[3].detail == "may not be educational (confidence 0.80): check its theme"


def test_review_queue_leaves_out_decided_entries():
    board = results([entry("1", "top", 9_000, flags=[SPIKE]), soft("2", "x", 10)])
    assert review_queue(board, decided=frozenset({"1", "2"})) == []


def test_awaits_person_says_of_each_entry_whether_the_queue_lists_it():
    hard = entry("7", "short", 700, eligible=False)  # kept out by a reason no person clears
    board = results(
        [
            entry("1", "top", 9_000, flags=[SPIKE]),
            soft("2", "unknown_region", 8_000),
            with_topic(entry("3", "dance", 3_000), None, 0.8),
            with_topic(entry("6", "sure", 2_900), "cooking", 0.9),
            with_topic(entry("8", "edge", 2_800), "cooking", LOW_CONFIDENCE),
            with_topic(entry("9", "low", 2_700), "cooking", LOW_CONFIDENCE / 2),
            with_topic(hard, None, 0.1),
            entry("5", "far", 10, flags=[DUPLICATE]),
            entry("4", "late", 50_000, flags=[SPIKE], eligible=False),
            *many_small(5),
        ]
    )
    listed = {r.entry.video_id for r in review_queue(board, top=10)}
    said = {
        e.video_id
        for e in board.entries
        if awaits_person(
            eligible=e.eligible,
            reasons=e.reasons,
            flagged=bool(e.flags),
            doubtful_topic=doubtful_topic(e.topic, e.topic_confidence),
        )
    }
    assert said == listed == {"1", "2", "3", "9", "5", "4"}
