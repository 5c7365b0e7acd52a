"""The job queue: Öyrən's jobs registered with procrastinate, on PostgreSQL or in-process.

Four jobs, each about one campaign:

- ``crawl``: discover entries through the Research API
  (:func:`oyren.collect.dbstore.crawl_campaign`);
- ``track``: one tracking cycle (:func:`oyren.collect.dbstore.track_campaign`); with
  ``every_s``, the job puts its next run on the queue when it ends;
- ``screen``: the campaign-wide integrity flags and the charts' daily views
  (:func:`oyren.store.refresh_flags`); every crawl or track job that ends queues one a minute
  later, so the flags follow the writes once they settle, never in a request;
- ``rebuild``: every decided row after a change of the rules (:func:`oyren.store.rebuild`),
  a batch per transaction while pages keep serving the last complete rows.

Sharing the work safely. Every job of a campaign carries procrastinate's ``lock`` named after the
campaign and the kind of work (``collect:ID`` for crawl and track, which share the API quota),
so two workers never run them at once; and a ``queueing_lock`` so a job already waiting is not
queued twice. Crawl and track also take the campaign's collector lease
(:mod:`oyren.store.leases`), which keeps out a collector started by hand, and spend the Research
API quota through the ledger in the database, which every machine reads: several workers on
several machines never spend the same day's quota twice. A job that finds another collector
holding the lease ends without doing anything (the other one is doing the work).

On SQLite (the embedded default) there is no queue table: :meth:`JobQueue.enqueue` runs the job
at once in the calling process, through procrastinate's in-memory connector and a worker that
stops when the queue is empty, so the same job code runs either way.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from procrastinate import App, JobContext, PsycopgConnector
from procrastinate.exceptions import AlreadyEnqueued
from procrastinate.testing import InMemoryConnector

from oyren.errors import CollectorBusy, OyrenError, StoreError
from oyren.settings import Settings
from oyren.store import rebuild, refresh_flags
from oyren.store.db import Engine, open_database
from oyren.store.queue import ensure_queue_schema

__all__ = [
    "JOBS",
    "QUEUES",
    "Enqueued",
    "JobQueue",
    "Runtime",
    "open_queue",
    "rebuild_job",
    "retry_stalled",
    "screen_job",
]

log = logging.getLogger("oyren.jobs")

QUEUES = {"crawl": "collect", "track": "collect", "screen": "screening", "rebuild": "rebuild"}
"""Each job's queue: workers may serve some queues only (collectors near the API, say). A
fifth queue, ``maintenance``, holds the periodic :func:`retry_stalled`."""
JOBS = tuple(QUEUES)
"""The jobs' names, as ``oyren enqueue`` takes them."""
_LOCKS = {"crawl": "collect", "track": "collect", "screen": "screen", "rebuild": "rebuild"}


@dataclass(slots=True)
class Runtime:
    """What jobs need from the process running them: the settings and the open database."""

    settings: Settings
    engine: Engine
    daily_requests: int = 1000
    environ: dict[str, str] = field(default_factory=lambda: dict(os.environ))
    # What the jobs run by this process reported, and the errors they stopped on, oldest first.
    results: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def _runtime(context: JobContext) -> Runtime:
    runtime = context.additional_context.get("oyren")
    if not isinstance(runtime, Runtime):
        raise StoreError("a job ran without its runtime (start workers with `oyren worker`)")
    return runtime


def _finish(runtime: Runtime, result: dict[str, Any]) -> dict[str, Any]:
    runtime.results.append(result)
    log.info("job done: %s", result)
    return result


# --- The jobs ---------------------------------------------------------------------------------


def _collect(runtime: Runtime, kind: str, campaign_id: str, by: str, every_s: int) -> Any:
    from oyren.collect.connectors import QuotaLimits, connect, tiktok_settings
    from oyren.collect.dbstore import DbCrawlStore, crawl_campaign, track_campaign
    from oyren.collect.discover import CrawlSettings
    from oyren.collect.plan import PlannerSettings
    from oyren.collect.track import TrackSettings

    api = tiktok_settings(
        {**runtime.environ, "OYREN_TIKTOK_API_BASE": runtime.settings.tiktok_api_base}
    )
    store = DbCrawlStore(runtime.engine)
    limits = QuotaLimits(requests=runtime.daily_requests)
    # A job never sleeps until midnight for quota: it stops, and the next run resumes.
    crawl_settings = CrawlSettings(wait_for_quota=False)
    with connect(api, book=store, limits=limits) as client:
        if kind == "crawl":
            return crawl_campaign(
                client, store, campaign_id=campaign_id, by=by, settings=crawl_settings
            )
        planner = PlannerSettings(every_s=every_s) if every_s else PlannerSettings()
        return track_campaign(
            client,
            store,
            campaign_id=campaign_id,
            by=by,
            settings=TrackSettings(planner=planner),
            crawl_settings=crawl_settings,
        )


def crawl_job(context: JobContext, campaign_id: str, by: str) -> dict[str, Any]:
    """Discover a campaign's entries (one crawl run)."""
    runtime = _runtime(context)
    try:
        report = _collect(runtime, "crawl", campaign_id, by, 0)
    except CollectorBusy as exc:
        return _finish(runtime, {"job": "crawl", "campaign": campaign_id, "skipped": str(exc)})
    result: dict[str, Any] = {"job": "crawl", "campaign": campaign_id}
    result.update(new_videos=report.new_videos, requests=report.requests)
    _screen_after_writes(context, campaign_id)
    return _finish(runtime, result)


def track_job(context: JobContext, campaign_id: str, by: str, every_s: int = 0) -> dict[str, Any]:
    """One tracking cycle; with ``every_s``, queue the next one that many seconds later."""
    runtime = _runtime(context)
    result: dict[str, Any] = {"job": "track", "campaign": campaign_id}
    try:
        report = _collect(runtime, "track", campaign_id, by, every_s)
        result.update(cycles=report.cycles, requests=report.requests)
        _screen_after_writes(context, campaign_id)
    except CollectorBusy as exc:
        result.update(skipped=str(exc))
    app = context.app
    if every_s and app is not None and not isinstance(app.connector, InMemoryConnector):
        with contextlib.suppress(AlreadyEnqueued):  # a run already waits: that one carries on
            _configured(app, "track", campaign_id, schedule_in=every_s).defer(
                campaign_id=campaign_id, by=by, every_s=every_s
            )
    return _finish(runtime, result)


SETTLE_S = 60
"""How long after a collection job its campaign's flags are recomputed: writes settle first, and
the queueing lock folds every collection of that minute into one screening."""


def _screen_after_writes(context: JobContext, campaign_id: str) -> None:
    """Queue the campaign's screening once writes settle (one waiting screening at a time)."""
    app = context.app
    if app is None or isinstance(app.connector, InMemoryConnector):
        return
    with contextlib.suppress(AlreadyEnqueued):  # one is already waiting: it will see these writes
        _configured(app, "screen", campaign_id, schedule_in=SETTLE_S).defer(campaign_id=campaign_id)


def screen_job(context: JobContext, campaign_id: str) -> dict[str, Any]:
    """Recompute the campaign's integrity flags and charts (:func:`oyren.store.refresh_flags`)."""
    runtime = _runtime(context)
    flagged = refresh_flags(runtime.engine, campaign_id)
    return _finish(runtime, {"job": "screen", "campaign": campaign_id, "flagged": flagged})


def rebuild_job(context: JobContext, campaign_id: str) -> dict[str, Any]:
    """Bring the campaign's decided rows to its rules (:func:`oyren.store.rebuild`)."""
    runtime = _runtime(context)

    def progress(done: int, total: int) -> None:
        log.info("rebuild of %s: %d of %d videos", campaign_id, done, total)

    rebuilt = rebuild(runtime.engine, campaign_id, progress=progress)
    return _finish(runtime, {"job": "rebuild", "campaign": campaign_id, "rebuilt": rebuilt})


_TASKS: dict[str, Callable[..., dict[str, Any]]] = {
    "crawl": crawl_job,
    "track": track_job,
    "screen": screen_job,
    "rebuild": rebuild_job,
}


def _reporting(function: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
    """``function``, keeping the message of an error it stops on (then raising it again)."""

    @functools.wraps(function)
    def run(context: JobContext, **arguments: Any) -> dict[str, Any]:
        try:
            return function(context, **arguments)
        except OyrenError as exc:
            _runtime(context).errors.append(str(exc))
            raise

    return run


STALLED_AFTER_S = 120
"""A job whose worker has sent no heartbeat for this long is put back on the queue."""


async def retry_stalled(context: JobContext, timestamp: int) -> None:
    """Put back the jobs of workers that died mid-job (run every 5 minutes by some worker)."""
    app = context.app
    assert app is not None
    manager = app.job_manager
    for job in await manager.get_stalled_jobs(seconds_since_heartbeat=STALLED_AFTER_S):
        log.warning("retrying job %s, whose worker stopped answering", job.id)
        await manager.retry_job(job)


def _app(connector: Any, *, persistent: bool = False) -> App:
    app = App(connector=connector)
    for name, function in _TASKS.items():
        app.task(name=f"oyren.{name}", queue=QUEUES[name], pass_context=True)(_reporting(function))
    if persistent:
        # Without this, a job whose worker was killed would keep its campaign's lock.
        task = app.task(
            name="oyren.retry_stalled",
            queue="maintenance",
            queueing_lock="retry_stalled",
            pass_context=True,
        )(retry_stalled)
        app.periodic(cron="*/5 * * * *")(task)
    return app


def _configured(app: App, job: str, campaign_id: str, *, schedule_in: int = 0) -> Any:
    options: dict[str, Any] = {
        "lock": f"{_LOCKS[job]}:{campaign_id}",
        "queueing_lock": f"{job}:{campaign_id}",
    }
    if schedule_in:
        options["schedule_in"] = {"seconds": schedule_in}
    return app.configure_task(f"oyren.{job}", **options)


# --- The queue ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Enqueued:
    """What asking for a job did: queued (with its id), already waiting, or run here."""

    job: str
    campaign_id: str
    state: str  # "queued", "waiting" (one was already queued) or "done" (run in this process)
    job_id: int | None = None
    result: dict[str, Any] | None = None


class JobQueue:
    """The queue of an installation: PostgreSQL's, or jobs run in-process on SQLite."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.persistent = runtime.engine.dialect.name == "postgresql"

    def _conninfo(self) -> str:
        url = self.runtime.engine.url.set(drivername="postgresql")
        return url.render_as_string(hide_password=False)

    @contextmanager
    def app(self) -> Iterator[App]:
        """The procrastinate app on this installation's PostgreSQL queue, open (SQLite has none:
        its jobs run in :meth:`_run_here`)."""
        ensure_queue_schema(self.runtime.engine)
        app = _app(PsycopgConnector(conninfo=self._conninfo()), persistent=True)
        with app.open():
            yield app

    def enqueue(self, job: str, campaign_id: str, **arguments: Any) -> Enqueued:
        """Queue ``job`` for ``campaign_id`` (on SQLite: run it now, here)."""
        if job not in _TASKS:
            raise StoreError(f"no job '{job}': the jobs are {', '.join(JOBS)}")
        if not self.persistent:
            return self._run_here(job, campaign_id, arguments)
        with self.app() as app:
            try:
                job_id = _configured(app, job, campaign_id).defer(
                    campaign_id=campaign_id, **arguments
                )
            except AlreadyEnqueued:
                return Enqueued(job, campaign_id, "waiting")
        return Enqueued(job, campaign_id, "queued", job_id=job_id)

    def _run_here(self, job: str, campaign_id: str, arguments: dict[str, Any]) -> Enqueued:
        connector = InMemoryConnector()
        app = _app(connector)
        before = len(self.runtime.results)
        _configured(app, job, campaign_id).defer(campaign_id=campaign_id, **arguments)
        app.run_worker(
            wait=False,
            install_signal_handlers=False,
            listen_notify=False,
            additional_context={"oyren": self.runtime},
        )
        failed = [row for row in connector.jobs.values() if row["status"] != "succeeded"]
        if failed:
            why = self.runtime.errors[-1] if self.runtime.errors else "see the log above"
            raise StoreError(f"the {job} job of {campaign_id} failed: {why}")
        result = self.runtime.results[before] if len(self.runtime.results) > before else None
        return Enqueued(job, campaign_id, "done", result=result)

    def work(
        self,
        *,
        queues: list[str] | None = None,
        concurrency: int = 1,
        burst: bool = False,
        name: str | None = None,
    ) -> None:
        """Take jobs from the queue until stopped (``burst``: until it is empty)."""
        if not self.persistent:
            raise StoreError(
                "the embedded SQLite store has no job queue: `oyren enqueue` runs each job in "
                "its own process; workers need PostgreSQL (setting database_url)"
            )
        with self.app() as app:
            app.run_worker(
                queues=queues or None,
                concurrency=concurrency,
                wait=not burst,
                name=name or f"oyren-{os.getpid()}",
                additional_context={"oyren": self.runtime},
                delete_jobs="successful",
            )


def open_queue(settings: Settings, *, daily_requests: int = 1000) -> JobQueue:
    """The queue of the installation the settings name (its database opened)."""
    engine = open_database(settings.database_url)
    return JobQueue(Runtime(settings=settings, engine=engine, daily_requests=daily_requests))
