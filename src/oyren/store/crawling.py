"""Collection into the database: :class:`DbCrawlStore`, the
:class:`~oyren.collect.checkpoints.CrawlStore`
that ``oyren crawl`` and ``oyren track`` use, and the two runs with their audit entries.

Observations go into the same tables, through the same bulk insert, as ``oyren ingest`` puts them,
so the standings of a crawled campaign are what ``oyren run`` computes from the same observations.
Each page is stored with its span's checkpoint in one transaction: a run killed at any moment
resumes from a checkpoint that matches the stored observations exactly. An observation whose video
and instant are already stored is passed over, as the protocol says. The quota ledger is the whole
installation's, across campaigns, as the API's quota is the organization's.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import Engine, Insert, Table, select
from sqlalchemy.orm import Session

from oyren.collect.checkpoints import Added, Checkpoint
from oyren.collect.connectors.tiktok import TikTokClient
from oyren.collect.discover import CrawlReport, CrawlSettings, ProgressFn, crawl
from oyren.collect.track import TrackReport, TrackSettings, track
from oyren.errors import StoreError
from oyren.inputs.observations import Observation
from oyren.rules.campaign import Campaign
from oyren.rules.videos import Video, collect_videos
from oyren.store.audit import record_event
from oyren.store.campaigns import get_campaign
from oyren.store.db import transaction
from oyren.store.ingest import ObservationWriter
from oyren.store.leases import Lease, check_lease, collector_lease
from oyren.store.models import CrawlCheckpointRow, ObservationRow, QuotaRow, VideoRow
from oyren.store.removals import confirm_removals
from oyren.store.rows import require_campaign, stored_observations

__all__ = ["DbCrawlStore", "crawl_campaign", "track_campaign"]

QUOTA: Table = QuotaRow.__table__  # type: ignore[assignment]


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
            query = select(CrawlCheckpointRow).where(CrawlCheckpointRow.campaign_id == campaign)
            return {r.span: _checkpoint(r) for r in session.scalars(query)}

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
            fresh = _fresh(session, campaign, observations)
            added = Added(0, 0)
            if fresh:
                writer = ObservationWriter(session, campaign)
                before = len(writer.known)
                writer.insert(fresh)
                added = Added(len(fresh), len(writer.known) - before)
            if checkpoint is not None:
                session.merge(_checkpoint_row(campaign, checkpoint))
        return added

    def videos(self, campaign: str, *, cutoff: int) -> list[Video]:
        """Return the known videos as ``collect_videos(all observations, cutoff=cutoff)`` would."""
        with transaction(self.engine) as session:
            require_campaign(session, campaign)
            last = session.scalar(
                select(ObservationRow.id)
                .join(VideoRow, VideoRow.id == ObservationRow.video_pk)
                .where(VideoRow.campaign_id == campaign)
                .order_by(ObservationRow.id.desc())
                .limit(1)
            )
            key = (campaign, cutoff, last or 0)
            if self._videos is not None and self._videos[0] == key:
                return list(self._videos[1])
            videos = list(
                collect_videos(stored_observations(session, campaign), cutoff=cutoff).values()
            )
        self._videos = (key, videos)
        return list(videos)

    def quota_spent(self, day: str) -> tuple[int, int]:
        """Return (requests, records) spent on UTC ``day``."""
        with transaction(self.engine) as session:
            row = session.get(QuotaRow, day)
            return (0, 0) if row is None else (row.requests, row.records)

    def record_quota(self, day: str, requests: int, records: int) -> None:
        """Add requests and records to UTC ``day``'s spending (at once, for every process)."""
        if not requests and not records:
            return
        with transaction(self.engine) as session:
            statement = _upsert(session, QUOTA).values(day=day, requests=requests, records=records)
            session.execute(
                statement.on_conflict_do_update(  # type: ignore[attr-defined]
                    index_elements=["day"],
                    set_={
                        "requests": QUOTA.c.requests + statement.excluded.requests,  # type: ignore[attr-defined]
                        "records": QUOTA.c.records + statement.excluded.records,  # type: ignore[attr-defined]
                    },
                )
            )

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


def _fresh(
    session: Session, campaign: str, observations: Sequence[Observation]
) -> list[Observation]:
    """The observations whose (video, instant) is neither stored nor earlier in the page."""
    if not observations:
        return []
    keys = {(o.video_id, o.collected_at) for o in observations}
    query = (
        select(VideoRow.video_id, ObservationRow.collected_at)
        .join(ObservationRow, ObservationRow.video_pk == VideoRow.id)
        .where(
            VideoRow.campaign_id == campaign,
            VideoRow.video_id.in_({v for v, _ in keys}),
            ObservationRow.collected_at.in_({t for _, t in keys}),
        )
    )
    seen: set[tuple[str, int]] = {(v, t) for v, t in session.execute(query)}
    out: list[Observation] = []
    for obs in observations:
        key = (obs.video_id, obs.collected_at)
        if key not in seen:
            seen.add(key)
            out.append(obs)
    return out


def _checkpoint(row: CrawlCheckpointRow) -> Checkpoint:
    return Checkpoint(
        span=row.span,
        cursor=row.cursor,
        search_id=row.search_id,
        done=row.done,
        started_at=row.started_at,
        finished_at=row.finished_at,
    )


def _checkpoint_row(campaign: str, c: Checkpoint) -> CrawlCheckpointRow:
    return CrawlCheckpointRow(
        campaign_id=campaign,
        span=c.span,
        cursor=c.cursor,
        search_id=c.search_id,
        done=c.done,
        started_at=c.started_at,
        finished_at=c.finished_at,
    )


def _upsert(session: Session, table: Table) -> Insert:
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table)
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        return sqlite_insert(table)
    raise StoreError(f"the {dialect} database is not supported: use SQLite or PostgreSQL")
