"""Exports: the standings as CSV rows, with spreadsheet formulas defused, or as JSON."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable

import pytest

from oyren.batch.evaluate import evaluate_observations
from oyren.batch.exports import CSV_COLUMNS, export_results, results_csv
from oyren.rules.campaign import Campaign
from oyren.rules.observations import Observation
from oyren.rules.results import Results, results_json


@pytest.fixture
def results(campaign: Campaign, make_obs: Callable[..., Observation]) -> Results:
    return evaluate_observations(
        campaign,
        [
            make_obs(id=1, username='=HYPERLINK("http://x")', view_count=900),
            make_obs(id=2, username="aysel", view_count=500),
            make_obs(id=3, username="aysel", view_count=400),
            make_obs(id=4, username="@nigar", view_count=100, video_duration=5),
        ],
    )


def rows(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8"))))


def test_results_csv_one_row_per_video_in_rank_order(results: Results) -> None:
    table = rows(results_csv(results))
    assert list(table[0]) == list(CSV_COLUMNS)
    assert [
        (r["rank"], r["video_id"], r["creator_rank"], r["creator_views"], r["prizes"])
        for r in table
    ] == [
        ("1", "1", "1", "900", "best_video"),
        ("2", "2", "2", "900", "discover"),  # creator 1 already holds a prize
        ("3", "3", "2", "900", "discover"),
        ("", "4", "", "", ""),
    ]
    assert table[3]["reasons"] == "too_short"


def test_results_csv_defuses_formulas(results: Results) -> None:
    usernames = [r["username"] for r in rows(results_csv(results))]
    assert usernames == ['\'=HYPERLINK("http://x")', "aysel", "aysel", "'@nigar"]


def test_export_results_json_is_the_published_json(results: Results) -> None:
    assert export_results(results, "json") == results_json(results)


def test_export_results_unknown_format_refused(results: Results) -> None:
    with pytest.raises(ValueError, match="csv, json"):
        export_results(results, "xlsx")
