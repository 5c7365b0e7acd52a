"""Rendering results for a terminal: rich tables of standings and winners.

Kept apart from :mod:`oyren.results` (which defines the data and its JSON form) so the core
stays free of presentation; the CLI calls :func:`render_results`.
"""

from __future__ import annotations

from collections import Counter

from rich.console import Console, Group
from rich.table import Table

from oyren.results import Results

__all__ = ["render_results"]


def render_results(results: Results, console: Console, *, top: int = 20) -> None:
    """Print the winners, the top ``top`` videos and creators, and why others were not counted."""
    tz = results.cutoff.tzinfo
    w = results.winners
    winners = Table(title=f"Winners — {results.campaign}", title_justify="left")
    winners.add_column("Prize")
    winners.add_column("Winner")
    winners.add_column("Views", justify="right")
    winners.add_column("Detail")
    if w.best_video:
        winners.add_row(
            "best_video",
            f"@{w.best_video.username}",
            f"{w.best_video.views:,}",
            f"video {w.best_video.video_id}",
        )
    else:
        winners.add_row("best_video", "—", "", "no eligible video")
    if w.discover:
        winners.add_row(
            "discover",
            f"@{w.discover.username}",
            f"{w.discover.views:,}",
            f"{len(w.discover.video_ids)} video(s)",
        )
    else:
        winners.add_row("discover", "—", "", "no eligible creator")
    if w.most_creative:
        winners.add_row(
            "most_creative",
            f"@{w.most_creative.username}",
            "",
            f"video {w.most_creative.video_id}, P(best) {w.most_creative.probability:.2f}",
        )
    else:
        winners.add_row("most_creative", "—", "", "decided by the jury")

    videos = Table(
        title=f"Top {top} videos (views at {results.cutoff.isoformat()})", title_justify="left"
    )
    for name, justify in (
        ("#", "right"),
        ("Video", "left"),
        ("Creator", "left"),
        ("Posted (local)", "left"),
        ("Views", "right"),
        ("Basis", "left"),
        ("Flags", "left"),
    ):
        videos.add_column(name, justify=justify)  # type: ignore[arg-type]
    from datetime import datetime

    for rank, entry in enumerate(results.eligible[:top], start=1):
        posted = datetime.fromtimestamp(entry.create_time, tz=tz).strftime("%Y-%m-%d %H:%M")
        videos.add_row(
            str(rank),
            entry.video_id,
            f"@{entry.username}",
            posted,
            f"{entry.views_at_cutoff:,}",
            entry.views_basis,
            ", ".join(f.code for f in entry.flags),
        )

    creators = Table(title=f"Top {top} creators", title_justify="left")
    for name, justify in (
        ("#", "right"),
        ("Creator", "left"),
        ("Videos", "right"),
        ("Views", "right"),
    ):
        creators.add_column(name, justify=justify)  # type: ignore[arg-type]
    for rank, (username, views, ids) in enumerate(results.creators[:top], start=1):
        creators.add_row(str(rank), f"@{username}", str(len(ids)), f"{views:,}")

    reasons: Counter[str] = Counter(r for e in results.entries for r in e.reasons)
    summary = Table(title="Not counted, by reason", title_justify="left")
    summary.add_column("Reason")
    summary.add_column("Videos", justify="right")
    for reason, count in reasons.most_common():
        summary.add_row(reason, f"{count:,}")
    eligible = len(results.eligible)
    console.print(Group(winners, videos, creators, summary))
    console.print(
        f"{len(results.entries):,} videos, {eligible:,} eligible, "
        f"{len(results.creators):,} eligible creators."
    )
