"""The tracking workflow: known entries refreshed by id, cycle after cycle, under the quota.

:func:`track` asks for known entries again by id, in batches of up to 100 whose posts fall within
30 days (an id query needs its videos' dates too), as :mod:`oyren.collect.plan` plans under the
daily
quota. With ``keep_running`` it runs a cycle every ``every_s`` and on both sides of the deadline,
discovering new entries (:func:`oyren.collect.discover.crawl`) after each cycle with what the plan
leaves,
until every entry's views at the deadline are bracketed. A cycle the API keeps failing is logged
and the next one tries again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace

from oyren.clock import next_utc_midnight
from oyren.collect.checkpoints import CrawlStore
from oyren.collect.connectors.tiktok import MAX_COUNT, TikTokClient, VideoQuery
from oyren.collect.discover import CrawlSettings, Progress, ProgressFn, crawl, plan_spans
from oyren.collect.plan import (
    Batch,
    Coverage,
    PlannerSettings,
    QuotaState,
    RefreshPlan,
    TrackedVideo,
    could_win,
    coverage,
    next_run_at,
    plan_refresh,
    plan_round_robin,
)
from oyren.errors import ApiUnavailable, QuotaExhausted, SearchExpired
from oyren.rules.campaign import Campaign
from oyren.rules.eligibility import RuleSet
from oyren.rules.videos import Video

__all__ = ["TrackReport", "TrackSettings", "track"]

log = logging.getLogger("oyren.collect.track")


@dataclass(frozen=True, slots=True)
class TrackSettings:
    """How tracking spends the quota."""

    planner: PlannerSettings = field(default_factory=PlannerSettings)
    strategy: str = "priority"  # or "round_robin", the naive baseline
    discover: bool = True  # after each cycle, crawl for new entries
    discover_every_s: int = 2 * 3600  # but no more often than this


@dataclass(slots=True)
class TrackReport:
    """What tracking did, and how the deadline is covered at the end."""

    cycles: int = 0
    requests: int = 0
    batches: int = 0
    observations: int = 0  # new observations stored by refreshes
    missing: int = 0  # ids asked for and not returned (deleted, private)
    skipped: int = 0
    discovered: int = 0  # new videos found by the crawls between cycles
    stopped: str | None = None  # "quota" if the last cycle ran out of quota
    outages: int = 0  # cycles abandoned because the API kept failing
    finished: bool = False  # every entry's views at the deadline are bracketed
    phases: dict[str, int] = field(default_factory=dict)
    coverage: Coverage | None = None


def track(
    client: TikTokClient,
    store: CrawlStore,
    campaign: Campaign,
    *,
    settings: TrackSettings | None = None,
    crawl_settings: CrawlSettings | None = None,
    keep_running: bool = False,
    until: float | None = None,
    progress: ProgressFn | None = None,
) -> TrackReport:
    """Refresh known entries once, or every ``planner.every_s`` until done with ``keep_running``."""
    s = settings or TrackSettings()
    cs = replace(crawl_settings or CrawlSettings(), wait_for_quota=False)
    report = TrackReport()
    requests_before = client.requests
    rules = RuleSet.of(campaign)
    memo = _Memo()
    last_discovery = -float("inf")
    while True:
        try:
            plan = _track_cycle(client, store, campaign, rules, s, report, progress, memo)
            crawled_all = False
            now = client.server_now()
            # Right before and after the deadline the crawl of the newest dates finds the last
            # entries and observes the newest ones; it never takes what the sweeps need.
            # What the refresh did not spend may be less than the plan left (retries cost too).
            spare = min(plan.spare, client.quota_left()[0] - plan.reserve)
            due = plan.phase in ("pre", "post") or now - last_discovery >= s.discover_every_s
            if s.discover and due and spare > 0:
                last_discovery = now
                found = crawl(
                    client, store, campaign, settings=cs, max_requests=spare, progress=progress
                )
                report.discovered += found.new_videos
                crawled_all = found.stopped is None and not plan_spans(
                    campaign, store.checkpoints(campaign.id), now=client.server_now(), settings=cs
                )
        except ApiUnavailable as exc:
            # Hours of 500s happen; a scheduled tracker tries again next cycle.
            if not keep_running:
                raise
            report.outages += 1
            log.warning("cycle abandoned: %s", exc)
        else:
            report.finished = plan.done and (crawled_all or not s.discover)
        if not keep_running or report.finished:
            break
        now = client.server_now()
        wake = next_run_at(now, campaign.cutoff_ts, s.planner)
        if until is not None and wake > until:
            break
        client.clock.sleep(wake - now)
    report.requests = client.requests - requests_before
    report.coverage = coverage(campaign, store.videos(campaign.id, cutoff=campaign.cutoff_ts))
    return report


def _track_cycle(
    client: TikTokClient,
    store: CrawlStore,
    campaign: Campaign,
    rules: RuleSet,
    s: TrackSettings,
    report: TrackReport,
    progress: ProgressFn | None,
    memo: _Memo,
) -> RefreshPlan:
    cutoff = campaign.cutoff_ts
    client.token()  # also learns the server's clock, which the plan follows
    videos = store.videos(campaign.id, cutoff=cutoff)
    tracked = [memo.tracked(video, rules) for video in videos]
    now = client.server_now()
    requests_left, records_left = client.quota_left()
    quota = QuotaState(requests_left, records_left, next_utc_midnight(now))
    planner = plan_round_robin if s.strategy == "round_robin" else plan_refresh
    plan = planner(tracked, now=now, cutoff=cutoff, quota=quota, settings=s.planner)
    report.cycles += 1
    report.phases[plan.phase] = report.phases.get(plan.phase, 0) + 1
    for batch in plan.batches:
        try:
            _refresh(client, store, campaign, batch, report)
        except QuotaExhausted:
            report.stopped = "quota"
            break
        report.batches += 1
        if progress is not None:
            left = client.quota_left()[0]
            stage = f"track ({plan.phase})"
            progress(Progress(stage, client.requests, len(videos), report.observations, left))
    return plan


class _Memo:
    """What the planner needs of each stored video, kept between cycles while it is unchanged."""

    def __init__(self) -> None:
        self.videos: dict[str, tuple[Video, TrackedVideo]] = {}
        self.verdicts: dict[tuple[object, ...], bool] = {}

    def tracked(self, video: Video, rules: RuleSet) -> TrackedVideo:
        known = self.videos.get(video.video_id)
        if known is not None and known[0] is video:
            return known[1]
        meta = video.meta
        # What the rules read rarely changes, so a refresh seldom needs a new verdict.
        key = (meta.username, meta.create_time, meta.region_code, meta.duration_s, meta.hashtags)
        can_win = self.verdicts.get(key)
        if can_win is None:
            can_win = self.verdicts[key] = could_win(meta, rules)
        tracked = TrackedVideo.of(video, rules, can_win=can_win)
        self.videos[video.video_id] = (video, tracked)
        return tracked


def _refresh(
    client: TikTokClient, store: CrawlStore, campaign: Campaign, batch: Batch, report: TrackReport
) -> None:
    """Ask for one batch of ids and store what comes back."""
    ids = list(batch.video_ids)
    tree = {"and": [{"field_name": "video_id", "operation": "IN", "field_values": ids}]}
    query = VideoQuery(tree, batch.start_date, batch.end_date, max_count=MAX_COUNT)
    returned: set[str] = set()
    restarts = pages = 0
    # A batch fits one page; a few more allow for empty pages, then the rest counts as missing.
    max_pages = len(ids) // MAX_COUNT + 1 + CrawlSettings().max_stalls
    while pages < max_pages:
        pages += 1
        try:
            page = client.query_videos(query)
        except SearchExpired:
            restarts += 1
            if restarts > CrawlSettings().max_restarts:
                raise
            query = replace(query, cursor=0, search_id=None)
            continue
        fresh = [o for o in page.observations if o.video_id not in returned]
        returned.update(o.video_id for o in fresh)
        report.skipped += len(page.skipped)
        report.observations += store.add_page(campaign.id, fresh, None).observations
        if not page.has_more or len(returned) >= len(batch.video_ids):
            break
        query = query.following(page)
    missing = set(batch.video_ids) - returned
    report.missing += len(missing)
    if missing:
        # Deleted or made private, or a gap of the API's: the store decides after repeated misses.
        store.note_missing(campaign.id, missing, int(client.server_now()))
