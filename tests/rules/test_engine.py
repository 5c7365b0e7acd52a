from oyren.batch.evaluate import evaluate_observations
from oyren.rules.decisions import Decision
from oyren.rules.results import results_to_dict


def test_evaluate_observations_ranks_eligible_first_and_settles_prizes(campaign, make_obs):
    cut = campaign.cutoff_ts
    observations = [
        make_obs(id=1, username="a", view_count=100, collected_at=cut - 3600),
        make_obs(id=1, username="a", view_count=300, collected_at=cut + 3600),
        make_obs(id=2, username="b", view_count=500, collected_at=cut, region_code="TR"),
        make_obs(id=3, username="c", view_count=150, collected_at=cut),
        make_obs(id=4, username="c", view_count=100, collected_at=cut),
    ]
    results = evaluate_observations(campaign, observations)
    assert [(e.video_id, e.eligible, e.views_at_cutoff) for e in results.entries] == [
        ("1", True, 200),
        ("3", True, 150),
        ("4", True, 100),
        ("2", False, 500),
    ]
    data = results_to_dict(results)
    assert data["campaign"] == "tiktokdan-oyren-2024"
    assert data["cutoff"] == "2024-04-21T23:59:59+04:00"
    assert data["winners"]["best_video"] == {"video_id": "1", "username": "a", "views": 200}
    assert data["winners"]["discover"] == {"username": "c", "views": 250, "video_ids": ["3", "4"]}
    assert data["winners"]["most_creative"] is None
    assert data["entries"][3]["reasons"] == ["outside_region"]


def test_evaluate_observations_moderation_and_removal_change_the_winner(campaign, make_obs):
    cut = campaign.cutoff_ts
    observations = [
        make_obs(id=1, username="a", view_count=900, collected_at=cut),
        make_obs(id=2, username="b", view_count=100, collected_at=cut),
    ]
    excluded = {"1": Decision("1", "exclude", "bought views", "mod", 5)}
    results = evaluate_observations(campaign, observations, decisions=excluded)
    assert results.winners.best_video.video_id == "2"
    results = evaluate_observations(campaign, observations, removed=frozenset({"2", "1"}))
    assert results.winners.best_video is None
    assert [e.reasons for e in results.entries] == [("removed",), ("removed",)]


def test_evaluate_observations_empty_input_has_no_winners(campaign):
    data = results_to_dict(evaluate_observations(campaign, []))
    assert (data["entries"], data["winners"]["best_video"], data["winners"]["discover"]) == (
        [],
        None,
        None,
    )


def test_evaluate_observations_flags_inform_but_do_not_exclude(campaign, make_obs):
    cut = campaign.cutoff_ts
    observations = [
        make_obs(id=1, username="a", view_count=5_000, collected_at=cut - 7200),
        make_obs(id=1, username="a", view_count=3_000, collected_at=cut),
        make_obs(id=2, username="b", view_count=1_000, collected_at=cut),
    ]
    results = evaluate_observations(campaign, observations)
    assert [(e.video_id, e.eligible, [f.code for f in e.flags]) for e in results.entries] == [
        ("1", True, ["views_decreased"]),
        ("2", True, []),
    ]
    assert results.winners.best_video.video_id == "1"
    flag = results_to_dict(results)["entries"][0]["flags"][0]
    assert (flag["code"], flag["score"]) == ("views_decreased", 0.994)
    assert flag["explanation"].startswith("view count went down from 5,000")


def test_evaluate_observations_screening_adds_topics_and_never_changes_prizes(campaign, make_obs):
    cut = campaign.cutoff_ts
    observations = [
        make_obs(id=1, username="a", view_count=900, collected_at=cut,
                 video_description="Qutab resepti: xəmir və ət #TikTokdanÖyrən #resept"),
        make_obs(id=2, username="b", view_count=100, collected_at=cut,
                 video_description="Dance challenge #TikTokdanÖyrən #fyp"),
    ]  # fmt: skip
    screened = evaluate_observations(campaign, observations)
    plain = evaluate_observations(campaign, observations, screen=False)
    assert screened.winners == plain.winners
    assert [(e.topic, e.topic_confidence) for e in plain.entries] == [(None, None), (None, None)]
    assert screened.entries[0].topic == "cooking"
    assert screened.entries[0].topic_confidence is not None
    assert screened.entries[1].topic is None
