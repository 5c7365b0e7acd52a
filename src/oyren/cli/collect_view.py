"""Terminal views of collection: a live progress line, and reports of crawls and tracking.

Kept out of :mod:`oyren.collect.discover` so the workflows stay free of presentation; the CLI passes
:func:`progress_line`'s callback to :func:`~oyren.collect.discover.crawl` or
:func:`~oyren.collect.discover.track` and
prints the report they return.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console, JustifyMethod, RenderableType
from rich.progress import Progress as Bars
from rich.progress import SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from oyren.cli.report import whole_column
from oyren.collect.discover import CrawlReport, Progress, ProgressFn
from oyren.collect.plan import Coverage, CoverageRow
from oyren.collect.track import TrackReport

__all__ = ["progress_line", "render_coverage", "render_crawl", "render_track"]


def _row(table: Table, *cells: RenderableType | None) -> None:
    """Add a row whose text is shown as it is: a username or a reason is never read as markup."""
    table.add_row(*(Text(cell) if isinstance(cell, str) else cell for cell in cells))


@contextmanager
def progress_line(console: Console) -> Iterator[ProgressFn]:
    """Show what collection is doing: stage, requests, videos, observations, quota left."""
    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TextColumn("requests {task.fields[requests]:,}"),
        TextColumn("videos {task.fields[videos]:,}"),
        TextColumn("observations {task.fields[observations]:,}"),
        TextColumn("quota left today {task.fields[quota]:,}"),
        TimeElapsedColumn(),
    )
    with Bars(*columns, console=console, transient=True) as bars:
        task = bars.add_task("starting", total=None, requests=0, videos=0, observations=0, quota=0)

        def update(p: Progress) -> None:
            bars.update(
                task,
                description=p.stage,
                requests=p.requests,
                videos=p.videos,
                observations=p.observations,
                quota=p.quota_left,
            )

        yield update


def render_crawl(report: CrawlReport, console: Console) -> None:
    """Print what a discovery run did."""
    console.print(
        f"crawled {report.spans_done} of {report.spans_planned} date span(s): "
        f"{report.requests:,} request(s), {report.pages:,} page(s), "
        f"{report.new_videos:,} new video(s), {report.observations:,} observation(s)"
    )
    if report.restarts:
        console.print(f"restarted {report.restarts} search(es) the API had dropped")
    if report.skipped:
        console.print(f"skipped {report.skipped:,} invalid video object(s); the first ones:")
        for example in report.skipped_examples:
            console.print(f"  {example}", markup=False, highlight=False)
    if report.stopped == "quota":
        console.print("stopped: the day's quota is spent; run again after 00:00 UTC to resume")


def render_track(report: TrackReport, console: Console) -> None:
    """Print what tracking did and how each prize's top ten are covered at the deadline."""
    console.print(
        f"{report.cycles} cycle(s): {report.requests:,} request(s), {report.batches:,} batch(es), "
        f"{report.observations:,} new observation(s), {report.discovered:,} new video(s)"
    )
    if report.missing:
        console.print(f"{report.missing:,} id(s) asked for were not returned (deleted or private)")
    if report.outages:
        console.print(f"{report.outages} cycle(s) abandoned while the API kept failing")
    if report.stopped == "quota":
        console.print("the last cycle ran out of quota")
    if report.finished:
        console.print("finished: every entry's views at the deadline are bracketed")
    if report.coverage is not None:
        render_coverage(report.coverage, console)


def render_coverage(coverage: Coverage, console: Console) -> None:
    """Print the top of each view prize with how its views at the deadline are known."""
    for title, rows, what in (
        ("Best video: top entries", coverage.best_video, "Video"),
        ("Discover: top creators", coverage.discover, "Creator"),
    ):
        table = Table(title=title, title_justify="left")
        columns: tuple[tuple[str, JustifyMethod], ...] = (
            ("#", "right"),
            (what, "left"),
            ("Views at deadline", "right"),
            ("Videos", "right"),
            ("Basis", "left"),
            ("Gap", "right"),
        )
        for name, justify in columns:
            table.add_column(name, justify=justify, **whole_column(name))
        for row in rows:
            _row(table, *_cells(row, what))
        console.print(table)


def _cells(row: CoverageRow, what: str) -> tuple[str, ...]:
    name = row.name if what == "Video" else f"@{row.name}"
    return (str(row.rank), name, f"{row.views:,}", str(row.videos), row.basis, _gap(row.gap_s))


def _gap(seconds: int | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds / 3600:.1f} h"
