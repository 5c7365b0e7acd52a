"""Discovering a campaign's entries through the Research API, one date span at a time.

:func:`crawl` finds entries: one video query per date span, by region and by every literal
spelling of the campaign hashtags, paged with ``cursor`` and ``search_id``. The API's dates are
UTC while the window is local (Baku is UTC+4, so the window's first four hours fall on the UTC
day before ``starts``); :func:`campaign_dates` converts. Every page is stored as it arrives,
together with the span's checkpoint, so a crawl killed at any moment resumes where it stood. A
UTC date is *final* once a pass that started ``settle_s`` after the date ended has covered it
(the API is known to lag about two days); until then each run crawls it again, which also
refreshes the counts of the newest entries.

Tracking the counts of the entries found is :mod:`oyren.collect.track`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from oyren.clock import DAY
from oyren.collect.checkpoints import Checkpoint, CrawlStore, span_key
from oyren.collect.connectors.tiktok import MAX_COUNT, MAX_SPAN_DAYS, TikTokClient, VideoQuery
from oyren.errors import ConnectorError, QuotaExhausted, SearchExpired
from oyren.rules.campaign import Campaign
from oyren.rules.hashtags import spellings

__all__ = [
    "CrawlReport",
    "CrawlSettings",
    "Progress",
    "ProgressFn",
    "campaign_dates",
    "campaign_query",
    "crawl",
    "plan_spans",
    "query_hashtags",
    "span_dates",
]

log = logging.getLogger("oyren.collect.discover")

QUOTA_MARGIN_S = 60  # wake this long after the quota's reset, for clocks that disagree a little
SPELLING_LIMIT = 4096  # spellings per hashtag; 2 ** (foldable letters), so far below this


@dataclass(frozen=True, slots=True)
class CrawlSettings:
    """How discovery pages through the API."""

    span_days: int = MAX_SPAN_DAYS  # dates per query (the API allows 30 between the two dates)
    max_count: int = MAX_COUNT
    settle_s: int = 2 * DAY  # a UTC date is complete in the API this long after it ends
    max_restarts: int = 5  # search restarts of one span in one run before giving up
    max_stalls: int = 3  # empty pages in a row that leave the cursor where it was
    wait_for_quota: bool = True  # on a spent quota, wait for 00:00 UTC; else stop


@dataclass(frozen=True, slots=True)
class Progress:
    """Where collection stands, for progress bars."""

    stage: str
    requests: int  # sent by this client so far
    videos: int  # known in the store
    observations: int  # stored by this run
    quota_left: int  # requests left today


ProgressFn = Callable[[Progress], None]


@dataclass(slots=True)
class CrawlReport:
    """What one discovery run did."""

    spans_planned: int = 0
    spans_done: int = 0
    pages: int = 0
    requests: int = 0
    observations: int = 0  # new observations stored
    new_videos: int = 0
    skipped: int = 0  # video objects in answers that did not validate
    skipped_examples: list[str] = field(default_factory=list)
    restarts: int = 0  # searches restarted after an expired search_id or a stall
    quota_waits: int = 0
    stopped: str | None = None  # "quota" (the day's is spent) or "budget" (max_requests reached)


def query_hashtags(campaign: Campaign) -> list[str]:
    """Every literal spelling to ask for: the API matches names literally, ö is not o."""
    names: dict[str, None] = {}
    for tag in campaign.hashtags:
        for spelling in spellings(tag, limit=SPELLING_LIMIT):
            names.setdefault(spelling, None)
    for extra in campaign.query_spellings:
        names.setdefault(extra.strip().lstrip("#＃"), None)
    return [name for name in names if name]


def campaign_query(campaign: Campaign) -> dict[str, Any]:
    """The query condition tree: the campaign's regions and hashtag spellings."""
    return {
        "and": [
            {
                "field_name": "region_code",
                "operation": "IN",
                "field_values": sorted(campaign.regions),
            },
            {
                "field_name": "hashtag_name",
                "operation": "IN",
                "field_values": query_hashtags(campaign),
            },
        ]
    }


def campaign_dates(campaign: Campaign) -> tuple[date, date]:
    """The first and last UTC dates the window touches (the API's dates are UTC)."""
    return _utc_date(campaign.window_start_ts), _utc_date(campaign.cutoff_ts)


def span_dates(first: date, last: date, *, days: int = MAX_SPAN_DAYS) -> list[tuple[date, date]]:
    """Cover the UTC dates ``first``..``last`` with (start_date, end_date) pairs.

    Whether the API's ``end_date`` is inclusive is not documented, so each pair's end is the day
    after its last date and the next pair starts there: every date is asked for at least once
    either way, and an inclusive API only sees a boundary day twice (deduplicated by id).
    """
    if not 1 <= days <= MAX_SPAN_DAYS:
        raise ValueError(f"days must be between 1 and {MAX_SPAN_DAYS}")
    spans = []
    start = first
    while start <= last:
        end = min(start + timedelta(days=days), last + timedelta(days=1))
        spans.append((start, end))
        start = end
    return spans


def plan_spans(
    campaign: Campaign,
    checkpoints: dict[str, Checkpoint],
    *,
    now: float,
    settings: CrawlSettings | None = None,
) -> list[Checkpoint]:
    """The spans to crawl now: unfinished passes first, then the dates not yet final."""
    s = settings or CrawlSettings()
    first, last = campaign_dates(campaign)
    last = min(last, _utc_date(int(now)))
    unfinished = sorted((c for c in checkpoints.values() if not c.done), key=lambda c: c.span)
    busy = {d for c in unfinished for d in _dates(c.start_date, c.end_date)}
    final = {
        d
        for c in checkpoints.values()
        if c.done and c.started_at is not None
        for d in _dates(c.start_date, c.end_date)
        if c.started_at >= _day_end(d) + s.settle_s
    }
    needed = [d for d in _dates(first, last + timedelta(days=1)) if d not in final | busy]
    plan = list(unfinished)
    for run_first, run_last in _runs(needed):
        for start, end in span_dates(run_first, run_last, days=s.span_days):
            # A finished span crawled again starts a new pass from the first page.
            plan.append(Checkpoint(span_key(start, end)))
    return plan


def crawl(
    client: TikTokClient,
    store: CrawlStore,
    campaign: Campaign,
    *,
    settings: CrawlSettings | None = None,
    max_requests: int | None = None,
    progress: ProgressFn | None = None,
) -> CrawlReport:
    """Discover the campaign's entries, storing every page as it arrives.

    ``max_requests`` caps this run (the rest resumes next time), so that discovery between
    tracking cycles never eats the requests held back for the deadline.
    """
    s = settings or CrawlSettings()
    report = CrawlReport()
    # The count of known videos is only for progress bars; building the list is not free.
    known = len(store.videos(campaign.id, cutoff=campaign.cutoff_ts)) if progress else 0
    requests_before = client.requests
    client.token()  # also learns the server's clock, which the plan and checkpoints follow
    plan = plan_spans(campaign, store.checkpoints(campaign.id), now=client.server_now(), settings=s)
    report.spans_planned = len(plan)
    limit = None if max_requests is None else requests_before + max_requests
    run = _Run(client, store, campaign, campaign_query(campaign), s, report, known, progress, limit)
    for checkpoint in plan:
        try:
            _crawl_span(run, checkpoint)
        except _Stop:
            break
        report.spans_done += 1
    report.requests = client.requests - requests_before
    return report


class _Stop(Exception):
    """The day's quota is spent and the crawl does not wait."""


@dataclass(slots=True)
class _Run:
    """One discovery run's collaborators and running totals."""

    client: TikTokClient
    store: CrawlStore
    campaign: Campaign
    query: dict[str, Any]
    settings: CrawlSettings
    report: CrawlReport
    known: int
    progress: ProgressFn | None
    limit: int | None  # the client's request count at which this run stops


def _crawl_span(run: _Run, checkpoint: Checkpoint) -> None:
    """Page through one span from its checkpoint to its end."""
    client, store, campaign = run.client, run.store, run.campaign
    s, report = run.settings, run.report
    cp = checkpoint
    if cp.started_at is None:
        cp = replace(cp, started_at=int(client.server_now()))
        store.save_checkpoint(campaign.id, cp)
    query = VideoQuery(
        run.query,
        cp.start_date,
        cp.end_date,
        cursor=cp.cursor,
        search_id=cp.search_id,
        max_count=s.max_count,
    )
    seen: set[str] = set()  # the same video on two pages of one pass is stored once
    restarts = stalls = 0
    while True:
        if run.limit is not None and client.requests >= run.limit:
            report.stopped = "budget"
            raise _Stop
        try:
            page = client.query_videos(query)
        except SearchExpired as exc:
            restarts += 1
            report.restarts += 1
            if restarts > s.max_restarts:
                raise ConnectorError(
                    f"span {cp.span} keeps losing its search ({exc}); run the crawl again later"
                ) from None
            # Restart from the stored cursor under a new search; if the API will not take that
            # cursor without its search, start the span over (repeats are deduplicated).
            cursor = cp.cursor if query.search_id else 0
            log.info("span %s: search lost (%s); restarting at cursor %d", cp.span, exc, cursor)
            cp = replace(cp, cursor=cursor, search_id=None)
            store.save_checkpoint(campaign.id, cp)
            query = replace(query, cursor=cursor, search_id=None)
            continue
        except QuotaExhausted as exc:
            _wait_for_quota(client, exc, s, report)
            continue
        report.pages += 1
        report.skipped += len(page.skipped)
        room = max(0, 5 - len(report.skipped_examples))
        report.skipped_examples.extend(str(e) for e in page.skipped[:room])
        fresh = [o for o in page.observations if o.video_id not in seen]
        seen.update(o.video_id for o in fresh)
        if page.has_more:
            cp = replace(cp, cursor=page.cursor, search_id=page.search_id or query.search_id)
        else:
            done_at = page.collected_at
            cp = replace(cp, cursor=page.cursor, search_id=None, done=True, finished_at=done_at)
        added = store.add_page(campaign.id, fresh, cp)
        report.observations += added.observations
        report.new_videos += added.videos
        run.known += added.videos
        if run.progress is not None:
            left = client.quota_left()[0]
            stage = f"crawl {cp.span}"
            run.progress(Progress(stage, client.requests, run.known, report.observations, left))
        if not page.has_more:
            return
        if page.cursor <= query.cursor:
            stalls += 1
            if stalls >= s.max_stalls:
                # A cached search that keeps answering empty pages: ask for a new one.
                stalls = 0
                restarts += 1
                report.restarts += 1
                if restarts > s.max_restarts:
                    raise ConnectorError(
                        f"span {cp.span} keeps answering empty pages at cursor {cp.cursor}; "
                        "run the crawl again later"
                    )
                cp = replace(cp, search_id=None)
                store.save_checkpoint(campaign.id, cp)
                query = replace(query, search_id=None)
                continue
        else:
            stalls = 0
        query = query.following(page)


def _wait_for_quota(
    client: TikTokClient, exc: QuotaExhausted, s: CrawlSettings, report: CrawlReport
) -> None:
    if not s.wait_for_quota:
        report.stopped = "quota"
        raise _Stop from None
    report.quota_waits += 1
    wait = exc.reset_at - client.server_now() + QUOTA_MARGIN_S
    log.info("quota spent; waiting %.0f s for 00:00 UTC", wait)
    client.clock.sleep(max(wait, QUOTA_MARGIN_S))


def _utc_date(ts: int) -> date:
    return datetime.fromtimestamp(ts, tz=UTC).date()


def _day_end(d: date) -> int:
    return int(datetime(d.year, d.month, d.day, tzinfo=UTC).timestamp()) + DAY


def _dates(first: date, end: date) -> list[date]:
    """The dates from ``first`` up to, not including, ``end``."""
    return [first + timedelta(days=i) for i in range((end - first).days)]


def _runs(days: Sequence[date]) -> list[tuple[date, date]]:
    """Group sorted dates into runs of consecutive days: (first, last) pairs."""
    runs: list[tuple[date, date]] = []
    for d in days:
        if runs and d == runs[-1][1] + timedelta(days=1):
            runs[-1] = (runs[-1][0], d)
        else:
            runs.append((d, d))
    return runs
