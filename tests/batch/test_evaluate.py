"""The engine with its inputs assembled: evaluate, the jury's order, and the one assembly."""

from __future__ import annotations

import pytest

from oyren.batch.evaluate import decide, evaluate, evaluate_observations, jury_order
from oyren.inputs.grouping import read_videos
from oyren.inputs.judgments import Judgment
from oyren.inputs.removals import Removal
from oyren.rules.decisions import Decision


@pytest.fixture
def videos(campaign, make_obs):
    """Four eligible videos seen at the deadline: 1 (900 views), 2 (500), 3 (100), 4 (50)."""
    cut = campaign.cutoff_ts
    observations = [
        make_obs(id=1, username="a", view_count=900, collected_at=cut),
        make_obs(id=2, username="b", view_count=500, collected_at=cut),
        make_obs(id=3, username="c", view_count=100, collected_at=cut),
        make_obs(id=4, username="d", view_count=50, collected_at=cut),
    ]
    return read_videos(observations, cutoff=cut)


def favours_3():
    """Three jurors who each prefer 3 to every other video."""
    return [
        Judgment(judge, "pair", ("3", other))
        for judge in ("j1", "j2", "j3")
        for other in ("1", "2", "4")
    ] + [Judgment("j1", "pair", ("1", "2"), undone=True)]


def test_decide_without_extra_inputs_is_evaluate(campaign, videos):
    assert decide(campaign, videos) == evaluate(campaign, videos.values())
    assert decide(campaign, videos).winners.best_video.video_id == "1"


def test_evaluate_observations_groups_then_evaluates(campaign, videos, make_obs):
    cut = campaign.cutoff_ts
    seen = ((1, "a", 900), (2, "b", 500), (3, "c", 100), (4, "d", 50))
    observations = [make_obs(id=i, username=u, view_count=v, collected_at=cut) for i, u, v in seen]
    assert evaluate_observations(campaign, observations) == evaluate(campaign, videos.values())


def test_screening_off_settles_the_same_prizes(campaign, videos):
    judged = favours_3()
    screened = decide(campaign, videos, judgments=judged)
    plain = decide(campaign, videos, judgments=judged, screen=False)
    assert plain.winners == screened.winners
    assert all(e.topic is None and e.flags == () for e in plain.entries)


def test_decide_applies_the_latest_decision_and_removals(campaign, videos):
    decisions = [
        Decision("2", "exclude", "re-upload", "m", 10),
        Decision("1", "exclude", "bought views", "m", 10),
        Decision("1", "include", "checked again", "m", 20),
    ]
    removals = [Removal("1", "deleted", 30)]
    results = decide(campaign, videos, decisions=decisions, removals=removals)
    ineligible = {e.video_id: e.reasons for e in results.entries if not e.eligible}
    assert ineligible == {"1": ("removed",), "2": ("excluded_by_moderator",)}
    assert results.winners.best_video.video_id == "3"


def test_jury_order_puts_the_jurys_favourite_first(campaign, videos):
    order = jury_order(campaign, videos, favours_3())
    assert order[0].video_id == "3"
    assert {p.video_id for p in order} == {"1", "2", "3", "4"}
    assert sum(p.probability for p in order) == pytest.approx(1.0, abs=1e-6)
    assert decide(campaign, videos, judgments=favours_3()).winners.most_creative.video_id == "3"


def test_jury_order_without_counted_judgments_is_empty(campaign, videos):
    undone = [Judgment("j1", "pair", ("3", "1"), undone=True), Judgment("j1", "skip", ("2",))]
    assert jury_order(campaign, videos, []) == []
    assert jury_order(campaign, videos, undone) == []
    assert decide(campaign, videos, judgments=undone).winners.most_creative is None


def test_excluded_favourite_takes_no_share_of_the_jurys_certainty(campaign, videos):
    # A moderator excludes the jury's favourite: the order is fitted over the entries that can
    # still win, so the prize and its probability are the same whichever path decides.
    decisions = {"3": Decision("3", "exclude", "not original", "m", 10)}
    order = jury_order(campaign, videos, favours_3(), decisions=decisions)
    assert "3" not in {p.video_id for p in order}
    assert sum(p.probability for p in order) == pytest.approx(1.0, abs=1e-6)
    results = decide(campaign, videos, decisions=decisions.values(), judgments=favours_3())
    creative = results.winners.most_creative
    assert creative is not None and creative.video_id != "3"
    assert creative.probability == pytest.approx(
        next(p.probability for p in order if p.video_id == creative.video_id)
    )


def test_jury_order_when_every_judged_entry_is_out_is_empty(campaign, videos):
    removed = frozenset({"1", "2", "3", "4"})
    assert jury_order(campaign, videos, favours_3(), removed=removed) == []


def test_decide_videos_gives_each_video_the_verdict_decide_gives_it(campaign, make_obs) -> None:
    from oyren.batch.evaluate import decide_videos, settle_ranked
    from oyren.rules.awards import creator_totals
    from oyren.rules.videos import collect_videos

    observations = [
        make_obs(id=1, view_count=500),
        make_obs(id=2, username="nigar", view_count=900, video_duration=5),
        make_obs(id=3, username="nigar", view_count=700),
        make_obs(id=4, username="leyla", view_count=800),
    ]
    videos = collect_videos(observations, cutoff=campaign.cutoff_ts)
    exclude = Decision("4", "exclude", "re-upload", "mod", 1)
    whole = decide(campaign, videos, decisions=[exclude])
    some = decide_videos(campaign, [videos["2"], videos["4"]], decisions=[exclude])
    by_id = {e.video_id: e for e in whole.entries}
    assert some == [by_id["2"], by_id["4"]]  # no flags are raised on four videos
    assert some[1].reasons == ("excluded_by_moderator",)
    ranked = list(whole.eligible)
    # The top of both rankings settles the prizes as the whole ranking does.
    assert settle_ranked(campaign, ranked[:3], creator_totals(ranked)[:3]) == whole.winners
