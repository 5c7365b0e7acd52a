"""Results: entries, flags and winners, and their published JSON form."""

import dataclasses
from zoneinfo import ZoneInfo

import orjson
import pytest

from oyren.batch.evaluate import evaluate_observations
from oyren.rules.results import (
    Entry,
    Flag,
    id_sort_key,
    results_from_dict,
    results_json,
    results_to_dict,
)


def test_id_sort_key_numbers_before_text_and_numeric_order():
    ids = ["10", "9", "abc", "100", "ab"]
    assert sorted(ids, key=id_sort_key) == ["9", "10", "100", "ab", "abc"]


def test_id_sort_key_puts_leading_zeros_and_huge_ids_in_numeric_order():
    ids = ["7340000000000000010", "007", "7340000000000000009", "", "-1"]
    ordered = sorted(ids, key=id_sort_key)
    assert ordered[:3] == ["007", "7340000000000000009", "7340000000000000010"]
    assert set(ordered[3:]) == {"", "-1"}


def test_results_json_round_trips_through_results_from_dict(campaign, make_obs):
    results = evaluate_observations(
        campaign,
        [
            make_obs(id=1, view_count=3000),
            make_obs(id=2, username="nigar", view_count=2000, region_code=None),
            make_obs(id=3, username="leyla", view_count=900, video_duration=5),
        ],
    )
    data = orjson.loads(results_json(results))
    assert results_json(results).endswith(b"\n")
    assert data == results_to_dict(results)
    again = results_from_dict(data, tz=ZoneInfo("Asia/Baku"))
    assert results_to_dict(again) == data
    assert again.winners == results.winners
    assert [e.video_id for e in again.entries] == [e.video_id for e in results.entries]


def test_results_to_dict_names_times_in_the_campaigns_zone_and_keeps_flags(campaign, make_obs):
    results = evaluate_observations(campaign, [make_obs(id=1)])
    flagged = dataclasses.replace(
        results,
        entries=tuple(
            dataclasses.replace(e, flags=(Flag("view_spike", 0.75, "gained <b>9000</b>"),))
            for e in results.entries
        ),
    )
    [entry] = results_to_dict(flagged)["entries"]
    assert entry["posted_at"].endswith("+04:00")
    assert entry["flags"] == [
        {"code": "view_spike", "score": 0.75, "explanation": "gained <b>9000</b>", "evidence": {}}
    ]
    assert isinstance(results.entries[0], Entry)


def test_results_from_dict_refuses_a_document_missing_its_parts(campaign, make_obs):
    data = results_to_dict(evaluate_observations(campaign, [make_obs(id=1)]))
    for key in ("winners", "entries", "cutoff"):
        broken = {k: v for k, v in data.items() if k != key}
        with pytest.raises(KeyError, match=key):
            results_from_dict(broken, tz=ZoneInfo("Asia/Baku"))
