"""Rendering results for a terminal: rich tables of standings and winners.

Kept apart from :mod:`oyren.rules.results` (which defines the data and its JSON form) so the core
stays free of presentation; the CLI calls :func:`render_results`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import orjson
from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from oyren.batch.stream import Summary, summarize
from oyren.rules.results import Results

if TYPE_CHECKING:
    from oyren.batch.bundle import Verification
    from oyren.store import CampaignInfo, IngestSummary
    from oyren.store.audit import AuditPage
    from oyren.store.moderation import QueuePage

__all__ = [
    "render_audit",
    "render_campaigns",
    "render_ingest",
    "render_queue",
    "render_results",
    "render_summary",
    "render_verification",
    "render_winners",
    "whole_column",
]


def _row(table: Table, *cells: RenderableType | None) -> None:
    """Add a row whose text is shown as it is: a username or a reason is never read as markup."""
    table.add_row(*(Text(cell) if isinstance(cell, str) else cell for cell in cells))


def render_results(results: Results, console: Console, *, top: int = 20) -> None:
    """Print the winners, the top ``top`` videos and creators, and why others were not counted."""
    render_summary(summarize(results, top), console)


def render_summary(results: Summary, console: Console) -> None:
    """Print a summary of results: the winners, the top videos and creators, and why others
    were not counted."""
    top = results.limit
    tz = results.cutoff.tzinfo
    w = results.winners
    winners = Table(title=f"Winners — {results.campaign}", title_justify="left")
    winners.add_column("Prize", **whole_column("Prize"))
    winners.add_column("Winner", **whole_column("Winner"))
    winners.add_column("Views", justify="right", **whole_column("Views"))
    winners.add_column("Detail", min_width=19)  # "video <id>" wraps before the id
    if w.best_video:
        _row(
            winners,
            "best_video",
            f"@{w.best_video.username}",
            f"{w.best_video.views:,}",
            f"video {w.best_video.video_id}",
        )
    else:
        _row(winners, "best_video", "—", "", "no eligible video")
    if w.discover:
        _row(
            winners,
            "discover",
            f"@{w.discover.username}",
            f"{w.discover.views:,}",
            f"{len(w.discover.video_ids)} video(s)",
        )
    else:
        _row(winners, "discover", "—", "", "no eligible creator")
    if w.most_creative:
        _row(
            winners,
            "most_creative",
            f"@{w.most_creative.username}",
            "",
            f"video {w.most_creative.video_id}, P(best) {w.most_creative.probability:.2f}",
        )
    else:
        _row(winners, "most_creative", "—", "", "decided by the jury")

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
        videos.add_column(name, justify=justify, **whole_column(name))  # type: ignore[arg-type]
    for rank, entry in enumerate(results.top, start=1):
        posted = datetime.fromtimestamp(entry.create_time, tz=tz).strftime("%Y-%m-%d %H:%M")
        _row(
            videos,
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
        creators.add_column(name, justify=justify, **whole_column(name))  # type: ignore[arg-type]
    for rank, (username, views, ids) in enumerate(results.top_creators, start=1):
        _row(creators, str(rank), f"@{username}", str(len(ids)), f"{views:,}")

    summary = Table(title="Not counted, by reason", title_justify="left")
    summary.add_column("Reason")
    summary.add_column("Videos", justify="right")
    for reason, count in results.reasons:
        _row(summary, reason, f"{count:,}")
    console.print(Group(winners, videos, creators, summary))
    console.print(f"{results.videos:,} videos, {results.eligible:,} eligible, "
                  f"{results.creators:,} eligible creators.")  # fmt: skip


def _utc(ts: int) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def render_winners(results: Results, console: Console) -> None:
    """Print one line per prize."""
    w = results.winners
    best, discover, creative = w.best_video, w.discover, w.most_creative
    lines = {
        "best_video": best and f"@{best.username}, video {best.video_id}, {best.views:,} views",
        "discover": discover and f"@{discover.username}, {discover.views:,} views",
        "most_creative": creative and f"@{creative.username}, video {creative.video_id}",
    }
    for prize, text in lines.items():
        _line(console, f"{prize:<14} {text or '—'}")


def render_campaigns(campaigns: Sequence[CampaignInfo], console: Console) -> None:
    """Print the stored campaigns."""
    table = Table(title="Campaigns", title_justify="left")
    for name in ("Id", "Name", "Rules", "Videos", "Award"):
        table.add_column(name, justify="right" if name == "Videos" else "left")
    for c in campaigns:
        award = f"#{c.award.number} {_utc(c.award.awarded_at)}" if c.award else "—"
        _row(table, c.id, c.name.en, c.rules_version, f"{c.videos:,}", award)
    console.print(table)


def render_ingest(summary: IngestSummary, console: Console) -> None:
    """Print what an import did."""
    _line(console, f"Imported {summary.path}")
    table = Table(show_header=False)
    table.add_column()
    table.add_column(justify="right")
    rows = {
        "observations read": summary.read,
        "new videos": summary.new_videos,
        "new observations": summary.new_observations,
        "duplicates": summary.duplicates,
        "skipped lines": summary.skipped,
    }
    for label, value in rows.items():
        _row(table, label, f"{value:,}")
    console.print(table)


# Columns whose cells must stay whole however narrow the terminal or file: a video id broken over
# two lines cannot be copied into a command; the other columns wrap instead.
WHOLE = {"#", "Video", "Views", "Views at deadline", "Videos"}


def whole_column(name: str) -> dict[str, Any]:
    if name not in WHOLE:
        # Wrapped, and a word longer than the column (a username, a flag's code) broken over
        # lines rather than cut short.
        return {"overflow": "fold"}
    return {"no_wrap": True, "min_width": 19 if name == "Video" else None}


def render_queue(page: QueuePage, console: Console, *, offset: int = 0) -> None:
    """Print one page of the videos waiting for a moderator (``offset``: where it starts), then
    how many the filters keep and what the whole queue holds, by why they wait, flag and topic."""
    table = Table(title=f"Waiting for a moderator: {page.total:,}", title_justify="left")
    for name in ("Video", "Creator", "Views", "Why"):
        table.add_column(name, justify="right" if name == "Views" else "left", **whole_column(name))
    for item in page.items:
        e = item.entry
        if item.why == "soft_reasons":
            why = ", ".join(e.reasons)
        elif item.why == "flagged":
            why = ", ".join(f.code for f in e.flags) + f" — {item.detail}"
        else:
            why = item.detail
        _row(table, e.video_id, f"@{e.username}", f"{e.views_at_cutoff:,}", why)
    console.print(table)
    shown = len(page.items)
    kept = "" if page.matching == page.total else " kept by the filters"
    if shown:
        line = f"{offset + 1:,}–{offset + shown:,} of {page.matching:,}{kept}"
        if offset + shown < page.matching:
            line += f" (the next: --offset {offset + shown})"
    else:
        line = f"none here of {page.matching:,}{kept}"
    _line(console, line)
    for label, counts in (
        ("by why", page.whys),
        ("by flag", page.flags),
        ("by topic", page.themes),
    ):
        if counts:
            _line(console, f"{label}: " + ", ".join(f"{k} {n:,}" for k, n in counts))


def render_audit(page: AuditPage, console: Console) -> None:
    """Print a page of the audit log: one line per entry, its details indented below."""
    for e in page.entries:
        _line(console, f"#{e.id}  {_utc(e.at)}  {e.by}  {e.action}")
        details = ", ".join(f"{k}={orjson.dumps(v).decode()}" for k, v in e.details.items())
        if details:
            _line(console, f"    {details}")
    if page.next_before is not None:
        _line(console, f"(older entries: --before {page.next_before})")


def render_verification(v: Verification, console: Console) -> None:
    """Print whether a bundle verified, and every problem when it did not."""
    if v.ok:
        _line(console, f"verified: {v.path}")
        _line(console, f"  campaign       {v.campaign_id}")
        _line(console, f"  bundle digest  {v.digest}" + ("  (as expected)" if v.expected else ""))
        if v.signed_by is None:
            _line(console, "  signature      none: the bundle is not signed")
        elif v.trusted:
            _line(console, f"  signature      valid, by key {v.signed_by}, a key you trust")
        else:
            inside = "the key inside the bundle: pass --key with the organizer's published key"
            _line(console, f"  signature      valid, by key {v.signed_by} ({inside} to trust it)")
        _line(console, "  every file matches its digest, and results.json matches the results")
        _line(console, "  recomputed from the bundle alone")
        if not v.expected and not v.trusted:
            _line(console, "  anyone can make a bundle that checks out like this: compare the "
                           "digest with the published one (--expect) or check the signature's "
                           "key (--key)")  # fmt: skip
        return
    _line(console, f"NOT verified: {v.path}")
    for problem in v.problems:
        _line(console, f"  - {problem}")


def _line(console: Console, text: str) -> None:
    console.print(text, markup=False, highlight=False, soft_wrap=True)
