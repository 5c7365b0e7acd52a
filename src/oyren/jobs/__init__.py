"""Background work: crawl, track, screening and rebuild as jobs of a task queue (procrastinate).

On PostgreSQL, jobs wait in the database's queue and ``oyren worker`` processes on any number of
machines take them; on the embedded SQLite store, a job runs in the process that asks for it
(no extra process). See :mod:`oyren.jobs.queue` and docs/deploy.md. Beside the web shell in the
layers: may import collection, the store and everything below; nothing imports it but the CLI.
"""

from oyren.jobs.queue import JOBS, Enqueued, JobQueue, open_queue

__all__ = ["JOBS", "Enqueued", "JobQueue", "open_queue"]
