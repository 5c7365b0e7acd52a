"""Exports of the standings: JSON (the published results) or CSV for spreadsheets.

The CSV has one row per video, in rank order (eligible videos first), with its creator's rank
and total for the creator prize, and the prizes it holds. Cells that a spreadsheet would run as
a formula (starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return) are prefixed with
``'`` — usernames and ids come from the public and are not trusted.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime

from oyren.rules.results import Results, results_json

__all__ = ["CSV_COLUMNS", "FORMATS", "export_results", "results_csv"]

FORMATS = ("csv", "json")
CSV_COLUMNS = (
    "rank",
    "video_id",
    "username",
    "eligible",
    "reasons",
    "views_at_cutoff",
    "views_basis",
    "posted_at",
    "observations",
    "gap_s",
    "creator_rank",
    "creator_views",
    "prizes",
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def results_csv(results: Results) -> bytes:
    """Return the standings as CSV (UTF-8, a header row, one row per video)."""
    creators = {
        u.casefold(): (rank, views) for rank, (u, views, _) in enumerate(results.creators, start=1)
    }
    w = results.winners
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    rank = 0
    for e in results.entries:
        rank += e.eligible
        creator_rank, creator_views = creators.get(e.username.casefold(), (None, None))
        prizes = [
            name
            for name, won in (
                ("best_video", w.best_video is not None and w.best_video.video_id == e.video_id),
                ("discover", w.discover is not None and e.video_id in w.discover.video_ids),
                (
                    "most_creative",
                    w.most_creative is not None and w.most_creative.video_id == e.video_id,
                ),
            )
            if won
        ]
        posted = datetime.fromtimestamp(e.create_time, tz=results.cutoff.tzinfo).isoformat()
        writer.writerow(
            [
                _cell(v)
                for v in (
                    rank if e.eligible else None,
                    e.video_id,
                    e.username,
                    str(e.eligible).lower(),
                    ";".join(e.reasons),
                    e.views_at_cutoff,
                    e.views_basis,
                    posted,
                    e.observations,
                    e.gap_s,
                    creator_rank if e.eligible else None,
                    creator_views if e.eligible else None,
                    ";".join(prizes),
                )
            ]
        )
    return buffer.getvalue().encode("utf-8")


def export_results(results: Results, fmt: str) -> bytes:
    """Return the standings in ``fmt``: ``csv`` or ``json``."""
    if fmt == "json":
        return results_json(results)
    if fmt == "csv":
        return results_csv(results)
    raise ValueError(f"format must be one of {', '.join(FORMATS)}")
