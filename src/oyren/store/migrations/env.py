"""Alembic environment: migrations run on the connection :mod:`oyren.store.db` passes in."""

from __future__ import annotations

from alembic import context

from oyren.store.models import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through oyren.store.db.upgrade (or `oyren migrate`)")
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
