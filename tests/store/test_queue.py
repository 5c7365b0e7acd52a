"""The task queue's schema: applied once on PostgreSQL, never on SQLite."""

from __future__ import annotations

import threading

from sqlalchemy import Engine

from oyren.store.queue import ensure_queue_schema, has_queue_schema


def test_the_queue_schema_is_applied_once_and_only_on_postgres(empty_db: Engine) -> None:
    from oyren.store.db import upgrade

    upgrade(empty_db)
    if empty_db.dialect.name == "sqlite":
        assert ensure_queue_schema(empty_db) is False
        assert has_queue_schema(empty_db) is False
        return
    assert has_queue_schema(empty_db) is False
    # Workers starting together: the advisory lock lets exactly one apply it.
    made: list[bool] = []
    errors: list[BaseException] = []

    def apply() -> None:
        try:
            made.append(ensure_queue_schema(empty_db))
        except BaseException as exc:  # shown by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=apply) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(made) == [False, False, True]
    assert has_queue_schema(empty_db) is True
