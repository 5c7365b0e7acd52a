"""Tables keep video ids whole in a narrow terminal and in a file (rich wraps other columns)."""

from __future__ import annotations

import io

from rich.console import Console

from oyren.cli.report import render_queue
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
