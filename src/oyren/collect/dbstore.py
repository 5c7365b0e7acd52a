"""Collection into the database: :class:`DbCrawlStore`, the
:class:`~oyren.collect.checkpoints.CrawlStore` that ``oyren crawl`` and ``oyren track`` use, and
the two runs with their audit entries.

Each page is stored with its span's checkpoint in one transaction (:mod:`oyren.store.crawling`):
a run killed at any moment resumes from a checkpoint that matches the stored observations exactly.
An observation whose video and instant are already stored is passed over, as the protocol says.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Sequence
from typing import Any

from oyren.collect.checkpoints import Added, Checkpoint
from oyren.collect.connectors.tiktok import TikTokClient
from oyren.collect.discover import CrawlReport, CrawlSettings, ProgressFn, crawl
from oyren.collect.track import TrackReport, TrackSettings, track
from oyren.rules.campaign import Campaign
from oyren.rules.observations import Observation
from oyren.rules.videos import Video
from oyren.store import crawling
from oyren.store.audit import record_event
from oyren.store.campaigns import get_campaign
from oyren.store.db import Engine, transaction
from oyren.store.leases import Lease, check_lease, collector_lease
from oyren.store.removals import confirm_removals
from oyren.store.rows import require_campaign, stored_video_map

__all__ = ["DbCrawlStore", "crawl_campaign", "track_campaign"]


class DbCrawlStore:
    """A :class:`~oyren.collect.checkpoints.CrawlStore` in the database; each call is one
    transaction."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.lease: Lease | None = None  # when held, every page checks it is still ours
        # The last videos() answer, kept while no observation is added: (campaign, cutoff, last
        # observation id) -> videos.
        self._videos: tuple[tuple[str, int, int], list[Video]] | None = None

    def campaign(self, campaign_id: str) -> Campaign:
        """Return the rules of a registered campaign, or raise :class:`StoreError`."""
        with transaction(self.engine) as session:
            return get_campaign(session, campaign_id)

    def checkpoints(self, campaign: str) -> dict[str, Checkpoint]:
        """Return every span's checkpoint, by span key."""
        with transaction(self.engine) as session:
            require_campaign(session, campaign)
            rows = crawling.stored_checkpoints(session, campaign)
            return {row["span"]: Checkpoint(**row) for row in rows}

    def save_checkpoint(self, campaign: str, checkpoint: Checkpoint) -> None:
        """Store a checkpoint on its own."""
        self.add_page(campaign, (), checkpoint)

    def add_page(
        self, campaign: str, observations: Sequence[Observation], checkpoint: Checkpoint | None
    ) -> Added:
        """Store new observations and the checkpoint in one transaction."""
        with transaction(self.engine) as session:
            require_campaign(session, campaign)
            if self.lease is not None:
                check_lease(session, self.lease)
            added = Added(*crawling.add_observations(session, campaign, observations))
            if checkpoint is not None:
                crawling.put_checkpoint(session, campaign, dataclasses.asdict(checkpoint))
        return added

    def videos(self, campaign: str, *, cutoff: int) -> list[Video]:
        """Return the known videos as ``collect_videos(all observations, cutoff=cutoff)`` would."""
        with transaction(self.engine) as session:
            require_campaign(session, campaign)
            key = (campaign, cutoff, crawling.last_observation_id(session, campaign))
            if self._videos is not None and self._videos[0] == key:
                return list(self._videos[1])
            videos = list(stored_video_map(session, campaign, cutoff=cutoff).values())
        self._videos = (key, videos)
        return list(videos)

    def quota_spent(self, day: str) -> tuple[int, int]:
        """Return (requests, records) spent on UTC ``day``."""
        with transaction(self.engine) as session:
            return crawling.quota_spent(session, day)

    def record_quota(self, day: str, requests: int, records: int) -> None:
        """Add requests and records to UTC ``day``'s spending (at once, for every process)."""
        if not requests and not records:
            return
        with transaction(self.engine) as session:
            crawling.record_quota(session, day, requests, records)

    def note_missing(self, campaign: str, video_ids: Collection[str], at: int) -> None:
        """Count a miss for each video; confirm removal after repeated misses in a row."""
        with transaction(self.engine) as session:
            confirm_removals(
                session, campaign_id=campaign, missing_video_ids=video_ids, crawled_at=at
            )

    def record_run(self, campaign: str, *, action: str, by: str, details: dict[str, Any]) -> None:
        """Append a run's summary to the campaign's audit log."""
        with transaction(self.engine) as session:
            record_event(session, campaign_id=campaign, action=action, by=by, details=details)


def crawl_campaign(
    client: TikTokClient,
    store: DbCrawlStore,
    *,
    campaign_id: str,
    by: str,
    settings: CrawlSettings | None = None,
    progress: ProgressFn | None = None,
    wait_for_lease: bool = False,
) -> CrawlReport:
    """Discover a registered campaign's entries into the database; log the run's summary."""
    campaign = store.campaign(campaign_id)
    lease = collector_lease(store.engine, campaign_id=campaign_id, command="crawl",
                            wait=wait_for_lease)  # fmt: skip
    with lease as store.lease:
        report = crawl(client, store, campaign, settings=settings, progress=progress)
    details = dataclasses.asdict(report)
    details.pop("skipped_examples")
    store.record_run(campaign_id, action="crawl", by=by, details=details)
    return report


def track_campaign(
    client: TikTokClient,
    store: DbCrawlStore,
    *,
    campaign_id: str,
    by: str,
    settings: TrackSettings | None = None,
    crawl_settings: CrawlSettings | None = None,
    keep_running: bool = False,
    progress: ProgressFn | None = None,
    wait_for_lease: bool = False,
) -> TrackReport:
    """Refresh a registered campaign's known entries (and keep at it); log the run's summary."""
    campaign = store.campaign(campaign_id)
    lease = collector_lease(store.engine, campaign_id=campaign_id, command="track",
                            wait=wait_for_lease)  # fmt: skip
    with lease as store.lease:
        report = track(
            client,
            store,
            campaign,
            settings=settings,
            crawl_settings=crawl_settings,
            keep_running=keep_running,
            progress=progress,
        )
    details = {
        f.name: getattr(report, f.name)
        for f in dataclasses.fields(report)
        if f.name not in ("coverage", "phases")
    }
    details["phases"] = dict(report.phases)
    store.record_run(campaign_id, action="track", by=by, details=details)
    return report
