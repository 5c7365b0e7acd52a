"""Collector leases: one ``oyren crawl`` or ``oyren track`` of a campaign at a time.

Two collectors of one campaign would page through the same spans and overwrite each other's
checkpoints. So a collector first takes the campaign's lease, a row of ``collector_leases``
naming it (a random token per run, its command, host and process id) and until when it holds
it. While it runs, a background thread renews the lease every :data:`RENEW_EVERY_S`; it is
released when the run ends, however it ends short of the process being killed.

A second collector of the same campaign is refused with :class:`~oyren.errors.CollectorBusy`,
which names the holder, or waits its turn (``wait=True``). A lease whose holder died is taken
over: at once when the holder ran on this host and its process is gone, else once it has gone
:data:`LEASE_TTL_S` without renewal. Taking over is safe even if the old holder was only
stalled, not dead: every page a collector stores checks, in the page's own transaction, that
the lease is still its own (:func:`check_lease`), so a holder that lost its lease stops before
it writes a checkpoint.

Times are the collectors' own clocks (Unix seconds); hosts sharing a database should keep their
clocks in step (NTP), well within the lease's lifetime.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import Engine, Table, delete, select, update
from sqlalchemy.orm import Session

from oyren.errors import CollectorBusy
from oyren.store.db import insert_ignoring_duplicates, transaction
from oyren.store.models import CollectorLeaseRow
from oyren.store.rows import require_campaign

__all__ = [
    "LEASE_TTL_S",
    "RENEW_EVERY_S",
    "Lease",
    "check_lease",
    "collector_lease",
    "release_lease",
    "renew_lease",
    "take_lease",
]

log = logging.getLogger("oyren.store.leases")

LEASE_TTL_S = 90  # a lease not renewed for this long is taken over
RENEW_EVERY_S = 20  # how often a running collector renews its lease
WAIT_POLL_S = 5.0  # how often a waiting collector tries again
LEASES: Table = CollectorLeaseRow.__table__  # type: ignore[assignment]


@dataclass(slots=True)
class Lease:
    """A campaign's lease as held by this process."""

    campaign_id: str
    holder: str
    command: str
    host: str
    pid: int
    acquired_at: int
    expires_at: int
    took_over: str | None = None  # the holder it replaced, when it took over a dead one
    lost: threading.Event = field(default_factory=threading.Event, repr=False)


def _now() -> int:
    return int(time.time())


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def _holder_dead(row: CollectorLeaseRow, host: str) -> bool:
    """True when the holder ran on this host and its process is gone."""
    return row.host == host and row.pid != os.getpid() and not _pid_alive(row.pid)


def _iso(ts: int) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).isoformat().replace("+00:00", "Z")


def _busy_message(row: CollectorLeaseRow, at: int) -> str:
    return (
        f"campaign '{row.campaign_id}' is already being collected: `oyren {row.command}` "
        f"(process {row.pid} on {row.host}) holds its lease since {_iso(row.acquired_at)}, "
        f"renewed {max(0, at - row.renewed_at)} s ago; wait for it to finish, or run with "
        "--wait-lease to start when it does (a lease whose holder died is taken over "
        f"{LEASE_TTL_S} s after its last renewal, at once on the same host)"
    )


def take_lease(
    session: Session,
    *,
    campaign_id: str,
    command: str,
    at: int | None = None,
    ttl_s: int = LEASE_TTL_S,
    host: str | None = None,
    pid: int | None = None,
) -> Lease:
    """Take the campaign's lease, or raise :class:`CollectorBusy` naming who holds it."""
    require_campaign(session, campaign_id)
    at = _now() if at is None else at
    host = socket.gethostname() if host is None else host
    pid = os.getpid() if pid is None else pid
    lease = Lease(campaign_id, secrets.token_hex(16), command, host, pid, at, at + ttl_s)
    values = {
        "holder": lease.holder,
        "command": command,
        "host": host,
        "pid": pid,
        "acquired_at": at,
        "renewed_at": at,
        "expires_at": lease.expires_at,
    }
    table = LEASES
    query = select(CollectorLeaseRow).where(CollectorLeaseRow.campaign_id == campaign_id)
    # On PostgreSQL the row lock orders two collectors; SQLite's write transaction already has.
    row = session.scalar(query.with_for_update())
    if row is None:
        # Two collectors may both find no row: the primary key lets one insert, the other fails.
        # RETURNING says whether a row was written (psycopg reports no rowcount for these).
        inserted = session.scalar(
            insert_ignoring_duplicates(session, LEASES)
            .values(campaign_id=campaign_id, **values)
            .returning(table.c.holder)
        )
        if inserted is not None:
            return lease
        row = session.scalar(query.with_for_update())
        assert row is not None
        raise CollectorBusy(_busy_message(row, at))
    if row.expires_at > at and not _holder_dead(row, host):
        raise CollectorBusy(_busy_message(row, at))
    lease.took_over = f"`oyren {row.command}` (process {row.pid} on {row.host})"
    session.execute(
        update(table)
        .where(table.c.campaign_id == campaign_id, table.c.holder == row.holder)
        .values(**values)
    )
    return lease


def check_lease(session: Session, lease: Lease) -> None:
    """Raise :class:`CollectorBusy` unless ``lease`` is still held (call it in a write)."""
    holder = session.scalar(
        select(CollectorLeaseRow.holder)
        .where(CollectorLeaseRow.campaign_id == lease.campaign_id)
        .with_for_update()
    )
    if holder != lease.holder:
        lease.lost.set()
        raise CollectorBusy(
            f"this `oyren {lease.command}` lost the lease of campaign '{lease.campaign_id}' "
            "(it went unrenewed and another collector took it over); it stopped without "
            "storing its last page: run it again once the other one is done"
        )


def renew_lease(
    session: Session, lease: Lease, *, at: int | None = None, ttl_s: int = LEASE_TTL_S
) -> bool:
    """Extend ``lease``; False (and ``lease.lost`` set) when another collector took it over."""
    at = _now() if at is None else at
    table = LEASES
    renewed = session.scalar(
        update(table)
        .where(table.c.campaign_id == lease.campaign_id, table.c.holder == lease.holder)
        .values(renewed_at=at, expires_at=at + ttl_s)
        .returning(table.c.holder)
    )
    if renewed is None:
        lease.lost.set()
        return False
    lease.expires_at = at + ttl_s
    return True


def release_lease(session: Session, lease: Lease) -> None:
    """Give the lease back (nothing happens if another collector has taken it over)."""
    table = LEASES
    session.execute(
        delete(table).where(
            table.c.campaign_id == lease.campaign_id, table.c.holder == lease.holder
        )
    )


@contextmanager
def collector_lease(
    engine: Engine,
    *,
    campaign_id: str,
    command: str,
    wait: bool = False,
    ttl_s: int = LEASE_TTL_S,
    renew_every_s: float = RENEW_EVERY_S,
    poll_s: float = WAIT_POLL_S,
    on_wait: Callable[[str], None] | None = None,
) -> Iterator[Lease]:
    """Hold the campaign's lease for the block: taken (or waited for), renewed, released."""
    while True:
        try:
            with transaction(engine) as session:
                lease = take_lease(session, campaign_id=campaign_id, command=command, ttl_s=ttl_s)
            break
        except CollectorBusy as exc:
            if not wait:
                raise
            if on_wait is not None:
                on_wait(str(exc))
                on_wait = None  # say it once
            time.sleep(poll_s)
    if lease.took_over:
        log.warning("took over the lease of %s from %s", campaign_id, lease.took_over)
    stop = threading.Event()
    renewer = threading.Thread(
        target=_renew_until, args=(engine, lease, stop, ttl_s, renew_every_s), daemon=True
    )
    renewer.start()
    try:
        yield lease
    finally:
        stop.set()
        renewer.join()
        with transaction(engine) as session:
            release_lease(session, lease)


def _renew_until(
    engine: Engine, lease: Lease, stop: threading.Event, ttl_s: int, every_s: float
) -> None:
    while not stop.wait(every_s):
        try:
            with transaction(engine) as session:
                if not renew_lease(session, lease, ttl_s=ttl_s):
                    log.error("lost the lease of %s to another collector", lease.campaign_id)
                    return
        except Exception as exc:  # a busy database now is no reason to stop renewing later
            log.warning("could not renew the lease of %s: %s", lease.campaign_id, exc)
