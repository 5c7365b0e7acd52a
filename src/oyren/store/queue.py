"""The task queue's tables: procrastinate's schema, created on PostgreSQL when missing.

Background jobs (:mod:`oyren.jobs`) run on procrastinate, whose queue is a few PostgreSQL
tables, functions and a ``LISTEN/NOTIFY`` channel. Its schema is procrastinate's own (it ships
it with its package and its own migrations for later versions), so it is applied as
procrastinate ships it rather than copied into Öyrən's Alembic history:
:func:`ensure_queue_schema` applies it once, under a transaction-level advisory lock so that
workers starting together on several machines do not race. On SQLite there is no queue table:
the embedded store runs each job in the process that asks for it.
"""

from __future__ import annotations

from sqlalchemy import Engine, text

from oyren.store.db import transaction

__all__ = ["QUEUE_TABLE", "ensure_queue_schema", "has_queue_schema"]

QUEUE_TABLE = "procrastinate_jobs"
# Read from pg_class with the statement's own snapshot: to_regclass() may answer from a catalog
# snapshot taken before the advisory lock was granted, and miss a schema just committed.
_EXISTS = text(
    "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n "
    "ON n.oid = c.relnamespace WHERE c.relname = :t AND n.nspname = ANY(current_schemas(false)))"
)
_LOCK_KEY = 0x6F7972656E  # "oyren": one advisory lock for applying the schema


def has_queue_schema(engine: Engine) -> bool:
    """True when the database holds the task queue's tables (never on SQLite)."""
    if engine.dialect.name != "postgresql":
        return False
    with transaction(engine, write=False) as session:
        return bool(session.scalar(_EXISTS, {"t": QUEUE_TABLE}))


def ensure_queue_schema(engine: Engine) -> bool:
    """Create the task queue's schema on PostgreSQL if missing; True when this call made it."""
    if engine.dialect.name != "postgresql":
        return False
    from procrastinate.schema import SchemaManager

    with transaction(engine) as session:
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})
        if session.scalar(_EXISTS, {"t": QUEUE_TABLE}):
            return False
        # Several statements in one string: psycopg sends them as one simple query.
        raw = session.connection().connection.driver_connection
        assert raw is not None
        raw.execute(SchemaManager.get_schema())
    return True
