"""Tables keep video ids and counts whole in a narrow terminal and in a file (rich wraps other
columns)."""

from __future__ import annotations

import io

from rich.console import Console

from oyren.batch.evaluate import evaluate_observations
from oyren.cli.report import render_queue, render_results
from oyren.rules.results import Entry
from oyren.store.moderation import QueueItem, page_of_queue

LONG_ID = "7390000000000000001"


def _item(video_id: str, detail: str) -> QueueItem:
    entry = Entry(
        video_id=video_id,
        username="a_creator_with_a_rather_long_name",
        create_time=1_710_000_000,
        eligible=False,
        reasons=("region_unknown",),
        views_at_cutoff=1_234_567,
        views_basis="observed",
        observations=3,
        gap_s=0,
        flags=(),
        topic=None,
        topic_confidence=None,
    )
    return QueueItem(entry, "soft_reasons", detail)


def test_queue_table_keeps_video_ids_whole_when_narrow() -> None:
    for width in (40, 60, 80):
        out = io.StringIO()
        render_queue(page_of_queue([_item(LONG_ID, "x " * 40)]), Console(file=out, width=width))
        text = out.getvalue()
        assert LONG_ID in text, (width, text)
        assert "1,234,567" in text


def test_results_tables_keep_video_ids_and_views_whole_when_narrow(campaign, make_obs) -> None:
    long_name = "a_rather_long_name_of_24"
    results = evaluate_observations(
        campaign,
        [
            make_obs(id=int(LONG_ID), username=long_name, view_count=1_234_567),
            make_obs(id=int(LONG_ID) + 1, username=long_name, view_count=7_654_321),
        ],
    )
    for width in (80, 100):  # a standard terminal and a wider one
        out = io.StringIO()
        render_results(results, Console(file=out, width=width))
        text = out.getvalue()
        # The top videos' table and the best video's detail in the winners' table.
        assert text.count(LONG_ID) == 1, (width, text)
        assert text.count(str(int(LONG_ID) + 1)) == 2, (width, text)
        assert "1,234,567" in text and "7,654,321" in text
        # The creators' table: the sum of both videos' views.
        assert "8,888,888" in text, (width, text)
        # The other columns wrap a long word (the username, the time posted) over lines: nothing
        # is cut short.
        assert "…" not in text, (width, text)
