import io

from rich.console import Console

from oyren.cli.collect_view import progress_line, render_crawl, render_track
from oyren.collect.discover import CrawlReport, Progress
from oyren.collect.plan import Coverage, CoverageRow
from oyren.collect.track import TrackReport


def console() -> Console:
    return Console(file=io.StringIO(), width=120, record=True)


def test_render_track_shows_each_prizes_top_with_basis_and_gap():
    coverage = Coverage(
        best_video=(CoverageRow(1, "7340000000000000001", 1_925_583, "interpolated", 601, 1),),
        discover=(CoverageRow(1, "kamran_science", 1_963_500, "observed", 0, 7),),
    )
    report = TrackReport(cycles=3, requests=40, batches=30, finished=True, coverage=coverage)
    out = console()
    render_track(report, out)
    text = out.export_text()
    assert "3 cycle(s): 40 request(s), 30 batch(es)" in text
    assert "finished: every entry's views at the deadline are bracketed" in text
    assert "7340000000000000001" in text and "1,925,583" in text and "10 min" in text
    assert "@kamran_science" in text and "observed" in text and "0 s" in text


def test_render_crawl_says_how_to_resume_after_the_quota():
    report = CrawlReport(
        spans_planned=3,
        spans_done=1,
        requests=1000,
        stopped="quota",
        skipped=2,
        skipped_examples=["page, line 3, field 'id': missing"],
    )
    out = console()
    render_crawl(report, out)
    text = out.export_text()
    assert "crawled 1 of 3 date span(s): 1,000 request(s)" in text
    assert "skipped 2 invalid video object(s)" in text
    assert "field 'id': missing" in text
    assert "run again after 00:00 UTC to resume" in text


def test_progress_line_shows_requests_videos_and_quota_left():
    out = Console(file=io.StringIO(), width=160, force_terminal=True)
    with progress_line(out) as update:
        update(Progress("crawl 20240220-20240321", 3, 250, 240, 997))
    text = out.file.getvalue()  # the last refresh, drawn as the line goes away
    assert "crawl 20240220-20240321" in text
    assert "requests 3" in text and "videos 250" in text and "quota left today 997" in text
