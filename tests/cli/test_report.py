"""Terminal rendering: standings, winners, campaigns, imports, the queue, the audit log, bundles."""

from __future__ import annotations

import dataclasses
import io

from rich.console import Console

from oyren.batch.bundle import Verification
from oyren.batch.evaluate import evaluate_observations
from oyren.cli.report import (
    render_audit,
    render_campaigns,
    render_ingest,
    render_queue,
    render_results,
    render_verification,
    render_winners,
)
from oyren.rules.campaign import Text
from oyren.rules.results import Flag
from oyren.store.audit import AuditEntry, AuditPage
from oyren.store.campaigns import CampaignInfo
from oyren.store.ingest import IngestSummary
from oyren.store.moderation import QueueChoice, QueueItem, page_of_queue
from oyren.store.rows import AwardRecord

HOSTILE = "[bold red]x[/] <script>"


def console() -> Console:
    return Console(file=io.StringIO(), width=160, record=True)


def text_of(render, *args, **kwargs) -> str:
    out = console()
    render(*args, out, **kwargs)
    return out.export_text()


def standings(campaign, make_obs):
    return evaluate_observations(
        campaign,
        [
            make_obs(id=1, username="aysel", view_count=3_000_000),
            make_obs(id=2, username="nigar", view_count=2000),
            make_obs(id=3, username="nigar", view_count=500, region_code=None),
            make_obs(id=4, username="rauf", view_count=70, video_duration=5),
        ],
    )


def test_render_results_shows_winners_tops_and_reasons(campaign, make_obs):
    text = text_of(render_results, standings(campaign, make_obs))
    assert "Winners — tiktokdan-oyren-2024" in text
    assert "@aysel" in text and "3,000,000" in text and "video 1" in text
    assert "decided by the jury" in text
    assert "region_unknown" in text and "too_short" in text
    assert "4 videos, 2 eligible, 2 eligible creators." in text


def test_render_results_top_limits_the_tables(campaign, make_obs):
    text = text_of(render_results, standings(campaign, make_obs), top=1)
    assert "Top 1 videos" in text and "Top 1 creators" in text
    ranks = [line.split("│")[1].strip() for line in text.splitlines() if line.startswith("│ ")]
    assert "1" in ranks and "2" not in ranks


def test_render_results_without_entries_says_there_are_no_winners(campaign):
    text = text_of(render_results, evaluate_observations(campaign, []))
    assert "no eligible video" in text and "no eligible creator" in text
    assert "0 videos, 0 eligible, 0 eligible creators." in text


def test_render_winners_one_line_per_prize(campaign, make_obs):
    lines = text_of(render_winners, standings(campaign, make_obs)).splitlines()
    assert lines[0].split() == ["best_video", "@aysel,", "video", "1,", "3,000,000", "views"]
    assert lines[1].startswith("discover")
    assert lines[2].split() == ["most_creative", "—"]


def test_user_text_is_printed_as_it_is_not_as_markup(campaign, make_obs):
    results = evaluate_observations(campaign, [make_obs(id=1, username=HOSTILE)])
    assert HOSTILE in text_of(render_winners, results)


def test_queue_table_prints_user_text_as_it_is_not_as_markup(campaign, make_obs):
    results = evaluate_observations(campaign, [make_obs(id=1, username=HOSTILE)])
    entry = dataclasses.replace(results.entries[0], flags=(Flag("view_spike", 0.7, "x"),))
    item = QueueItem(entry=entry, why="flagged", detail=HOSTILE)
    assert HOSTILE in text_of(render_queue, page_of_queue([item]))


def test_render_campaigns_lists_each_with_its_award(campaign):
    award = AwardRecord(campaign.id, 2, 1714000000, "organizer", None, "r", "s")
    infos = [
        CampaignInfo("a", Text("A", "Contest A"), "d", "v1", 0, 0, 12345, None),
        CampaignInfo("b", Text("B", "Contest B"), "d", "v2", 0, 0, 0, award),
    ]
    text = text_of(render_campaigns, infos)
    assert "Contest A" in text and "12,345" in text
    assert "#2 2024-04-24 23:06:40Z" in text


def test_render_ingest_counts_what_the_import_did():
    summary = IngestSummary("obs.jsonl", "f" * 64, 1200, 3, 1100, 90, 10)
    text = text_of(render_ingest, summary)
    assert "Imported obs.jsonl" in text
    for label, value in (("observations read", "1,200"), ("new observations", "1,100"),
                         ("duplicates", "90"), ("skipped lines", "10")):  # fmt: skip
        assert any(label in line and value in line for line in text.splitlines()), label


def test_render_queue_says_why_each_video_waits(campaign, make_obs):
    [entry] = evaluate_observations(campaign, [make_obs(id=3, region_code=None)]).entries
    items = [
        QueueItem(entry, "soft_reasons"),
        QueueItem(entry, "topic", "off topic: football"),
    ]
    text = text_of(render_queue, page_of_queue(items))
    assert "Waiting for a moderator: 2" in text
    assert "region_unknown" in text and "off topic: football" in text
    assert "1–2 of 2\n" in text
    assert "by why: soft_reasons 1, topic 1" in text


def test_render_queue_says_where_the_page_is_and_what_the_filters_keep(campaign, make_obs):
    entries = [
        dataclasses.replace(e, topic=None, topic_confidence=None)
        for e in evaluate_observations(
            campaign, [make_obs(id=n, region_code=None) for n in range(1, 6)]
        ).entries
    ]
    items = [QueueItem(e, "soft_reasons") for e in entries]
    doubtful = dataclasses.replace(entries[0], video_id="9", topic="science", topic_confidence=0.2)
    items.append(QueueItem(doubtful, "topic", "doubtful"))
    out = io.StringIO()
    page = page_of_queue(items, QueueChoice(why="soft_reasons"), offset=1, limit=2)
    render_queue(page, Console(file=out, width=200), offset=1)
    text = out.getvalue()
    assert "Waiting for a moderator: 6" in text
    assert "2–3 of 5 kept by the filters (the next: --offset 3)" in text
    assert "by why: soft_reasons 5, topic 1" in text
    assert "by topic: none 5, science 1" in text
    assert [line.split("│")[1].strip() for line in text.splitlines() if "@" in line] == [
        entries[1].video_id,
        entries[2].video_id,
    ]
    out = io.StringIO()
    render_queue(page_of_queue(items, offset=6), Console(file=out, width=200), offset=6)
    assert "none here of 6\n" in out.getvalue()


def test_render_audit_prints_details_and_the_next_page():
    page = AuditPage(
        entries=(
            AuditEntry(7, "c", 1714000000, "m", "moderation.exclude", {"video_id": "1", "n": 2}),
            AuditEntry(6, "c", 1713000000, "o", "campaign.register", {}),
        ),
        next_before=6,
    )
    lines = text_of(render_audit, page).splitlines()
    assert lines[0].split() == ["#7", "2024-04-24", "23:06:40Z", "m", "moderation.exclude"]
    assert lines[1].strip() == 'video_id="1", n=2'
    assert lines[2].split()[-1] == "campaign.register"
    assert lines[3] == "(older entries: --before 6)"
    assert "older entries" not in text_of(render_audit, AuditPage((), None))


def test_render_verification_ok_and_every_problem():
    ok = text_of(render_verification, Verification("b.zip", "abc", "c", ()))
    assert ok.startswith("verified: b.zip") and "bundle digest  abc" in ok
    bad = text_of(render_verification, Verification("b.zip", None, None, ("one", "two")))
    assert bad.splitlines() == ["NOT verified: b.zip", "  - one", "  - two"]


def test_progress_bars_show_counts_and_totals_with_thousands_separators():
    from rich.progress import Progress

    from oyren.cli import _Counts

    with Progress(disable=True) as bars:
        known = bars.add_task("collecting: videos found", total=3000, completed=312)
        open_ended = bars.add_task("fetching", total=None, completed=1234)
        tasks = {task.id: task for task in bars.tasks}
        column = _Counts()
        assert column.render(tasks[known]).plain == "312/3,000"
        assert column.render(tasks[open_ended]).plain == "1,234"
