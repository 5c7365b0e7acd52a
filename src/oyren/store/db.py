"""The database: an engine from a URL, transactions, and the schema's migrations.

SQLite (the default, a file) and PostgreSQL (production) are both supported by the same code.
``postgresql://`` URLs are driven by psycopg 3. On SQLite the driver's own transaction handling
is switched off and SQLAlchemy issues ``BEGIN IMMEDIATE`` itself (the pysqlite recipe in
SQLAlchemy's documentation), so a transaction covers reads and schema changes too, as it does on
PostgreSQL: an import that fails half-way leaves nothing behind. Taking the write lock when the
transaction begins is what lets writers wait their turn: a deferred transaction that reads and
then writes cannot wait for another writer (SQLite answers "database is locked" at once, to avoid
a deadlock), while one that begins immediately waits up to the busy timeout (30 s, or
``?timeout=SECONDS`` in the URL) for the writer before it. A writer still waiting after that gets
:class:`~oyren.errors.StoreBusy`, a message, never a traceback. Read-only work may ask for a
deferred transaction (``transaction(engine, write=False)``), which never waits for writers.

The schema is created and upgraded only by the Alembic migrations shipped in
``oyren/migrations`` (:func:`upgrade`); :func:`open_database` refuses a database that is
missing or behind, and says which command mends it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    ColumnElement,
    Engine,
    Select,
    Table,
    bindparam,
    create_engine,
    event,
    func,
    inspect,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError
from sqlalchemy.orm import InstrumentedAttribute, Session
from sqlalchemy.sql.dml import Insert

from oyren.errors import StoreBusy, StoreError

if TYPE_CHECKING:
    from alembic.config import Config

__all__ = [
    "MIGRATIONS",
    "SCHEMA_REVISION",
    "BulkInsert",
    "Engine",
    "Session",
    "analyze_after_commit",
    "create_db_engine",
    "current_revision",
    "head_revision",
    "insert_ignoring_duplicates",
    "is_busy",
    "migrate",
    "normalize_url",
    "open_database",
    "plain_batches",
    "probe_each",
    "show_url",
    "transaction",
    "upgrade",
]

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# The newest migration, which this version of Öyrən needs (a test keeps it equal to Alembic's
# head). Named here so opening the store does not load Alembic.
SCHEMA_REVISION = "live0001"
SQLITE_BUSY_TIMEOUT_S = 30.0  # how long a writer waits for the one before it, unless the URL says
READ_ONLY = "oyren_read_only"  # execution option: a deferred transaction on SQLite
ANALYZE = "oyren_analyze"  # session info: the tables to analyze once the transaction commits

log = logging.getLogger("oyren.store.db")


def normalize_url(url: str | URL) -> URL:
    """Parse ``url``, routing ``postgresql://`` (and ``postgres://``) to psycopg 3."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise StoreError(
            f"'{url}' is not a database URL: give one like sqlite:///oyren.db or "
            "postgresql://user@host/dbname"
        ) from None
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def show_url(url: str | URL) -> str:
    """Return ``url`` fit to print: the password hidden."""
    return normalize_url(url).render_as_string(hide_password=True)


def create_db_engine(url: str | URL) -> Engine:
    """Create an engine for ``url`` (no connection is made yet)."""
    parsed = normalize_url(url)
    options: dict[str, Any] = {}
    if parsed.get_backend_name() == "sqlite" and "timeout" not in parsed.query:
        # The sqlite3 module's timeout is SQLite's busy timeout: how long to wait for a lock.
        options["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT_S}
    try:
        engine = create_engine(parsed, **options)
    except (ArgumentError, ImportError) as exc:
        raise StoreError(f"cannot use the database URL {show_url(parsed)}: {exc}") from None
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
    return engine


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy, not the sqlite3 module, decide where transactions begin (see _sqlite_begin).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    # A write transaction takes the write lock first, waiting its turn behind another writer; a
    # deferred one could only fail at its first write (see the module's docstring).
    deferred = connection.get_execution_options().get(READ_ONLY, False)
    connection.exec_driver_sql("BEGIN" if deferred else "BEGIN IMMEDIATE")


def is_busy(exc: OperationalError) -> bool:
    """True when ``exc`` is SQLite's "database is locked" (another writer kept the lock)."""
    message = str(exc.orig or exc).lower()
    return "database is locked" in message or "database table is locked" in message


def _busy(url: URL) -> StoreBusy:
    return StoreBusy(
        f"the database {show_url(url)} stayed busy with another writer for longer than the busy "
        "timeout; nothing was changed: run the command again (a longer wait: add "
        "?timeout=SECONDS to the SQLite URL)"
    )


def _cannot_open(url: URL, exc: OperationalError) -> StoreError:
    reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
    return StoreError(f"cannot open the database {show_url(url)}: {reason}")


def _sqlite_file(url: URL) -> Path | None:
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    if url.database.startswith("file:"):
        return None  # a URI filename: let SQLite interpret it
    return Path(url.database)


def open_database(url: str | URL, *, create: bool = False) -> Engine:
    """Open the database at ``url``, which must exist at the current schema unless ``create``.

    With ``create`` the schema is created or upgraded first (what ``oyren init`` does).
    """
    parsed = normalize_url(url)
    path = _sqlite_file(parsed)
    if path is not None and not create and not path.exists():
        raise StoreError(
            f"no database at {path}: create it with `oyren init --campaign FILE`, "
            "or point OYREN_DATABASE_URL at an existing one"
        )
    if path is not None and create:
        path.parent.mkdir(parents=True, exist_ok=True)
    engine = create_db_engine(parsed)
    try:
        if create:
            upgrade(engine)
        found, head = current_revision(engine), SCHEMA_REVISION
    except OperationalError as exc:
        engine.dispose()
        if is_busy(exc):
            raise _busy(parsed) from None
        raise _cannot_open(parsed, exc) from None
    if found != head:
        engine.dispose()
        if found is None:
            raise StoreError(
                f"the database {show_url(parsed)} has no Öyrən tables: create them with "
                "`oyren init --campaign FILE`"
            )
        raise StoreError(
            f"the database {show_url(parsed)} is at schema revision {found}, this version of "
            f"Öyrən needs {head}: run `oyren migrate` (back it up first)"
        )
    return engine


@contextmanager
def transaction(engine: Engine, *, write: bool = True, snapshot: bool = False) -> Iterator[Session]:
    """Yield a session in a transaction: committed on success, rolled back on any exception.

    On SQLite a write transaction waits its turn for the write lock (up to the busy timeout,
    then :class:`~oyren.errors.StoreBusy`); ``write=False`` reads without taking it.
    ``snapshot`` has every query of the transaction see the database as the first one saw it,
    whatever commits meanwhile: PostgreSQL's REPEATABLE READ (a SQLite transaction always does).
    """
    bind = engine if write else engine.execution_options(**{READ_ONLY: True})
    if snapshot and engine.dialect.name == "postgresql":
        bind = bind.execution_options(isolation_level="REPEATABLE READ")
    try:
        with Session(bind, expire_on_commit=False) as session, session.begin():
            yield session
    except OperationalError as exc:
        if is_busy(exc):
            raise _busy(engine.url) from None
        raise


def analyze_after_commit(session: Session, *tables: Table) -> None:
    """Have PostgreSQL gather the statistics of ``tables`` once this transaction commits.

    After a bulk load the planner still plans for the tables as they were (an empty table's
    rows read by the wrong index, sorted, for every page) until autovacuum gets round to them,
    if it runs at all; PostgreSQL's advice for bulk loads is to ANALYZE after them. It runs
    after the commit, outside the transaction, so no lock is held while the import runs. SQLite
    plans well without statistics: nothing is done there."""
    if session.get_bind().dialect.name == "postgresql":
        session.info.setdefault(ANALYZE, set()).update(t.name for t in tables)


@event.listens_for(Session, "after_commit")
def _analyze(session: Session) -> None:
    tables = session.info.pop(ANALYZE, None)
    if not tables:
        return
    bind = session.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine
    try:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("ANALYZE " + ", ".join(sorted(tables)))
    except DBAPIError as exc:  # the data is committed; the statistics are only a speed-up
        log.warning("could not analyze %s after a bulk load: %s", ", ".join(sorted(tables)), exc)


@event.listens_for(Session, "after_rollback")
def _analyze_nothing(session: Session) -> None:
    session.info.pop(ANALYZE, None)


def _alembic_config(connection: Connection) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS).replace("%", "%%"))
    config.attributes["connection"] = connection
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate the schema to ``revision`` in one transaction."""
    from alembic import command

    with engine.begin() as connection:
        command.upgrade(_alembic_config(connection), revision)


def migrate(url: str | URL) -> tuple[str | None, str]:
    """Create or upgrade the schema of the database at ``url``; return (before, after)."""
    parsed = normalize_url(url)
    path = _sqlite_file(parsed)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    engine = create_db_engine(parsed)
    try:
        before = current_revision(engine)
        upgrade(engine)
        return before, SCHEMA_REVISION
    except OperationalError as exc:
        if is_busy(exc):
            raise _busy(parsed) from None
        raise _cannot_open(parsed, exc) from None
    finally:
        engine.dispose()


def downgrade(engine: Engine, revision: str) -> None:
    """Migrate the schema back to ``revision`` in one transaction (for development)."""
    from alembic import command

    with engine.begin() as connection:
        command.downgrade(_alembic_config(connection), revision)


def current_revision(engine: Engine) -> str | None:
    """Return the schema revision of the database, or None when it has no Öyrən tables."""
    with engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return None
        found = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
        return None if found is None else str(found)


def head_revision() -> str:
    """Return the newest schema revision among the migrations shipped (read by Alembic)."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory(str(MIGRATIONS)).get_current_head()
    assert head is not None
    return head


def insert_ignoring_duplicates(session: Session, table: Any) -> Insert:
    """An INSERT of ``table`` that leaves a row whose key is already stored alone (both
    databases' ``ON CONFLICT DO NOTHING``)."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table).on_conflict_do_nothing()
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        return sqlite_insert(table).on_conflict_do_nothing()
    raise StoreError(f"the {dialect} database is not supported: use SQLite or PostgreSQL")


class BulkInsert:
    """An INSERT compiled once and given to the driver's executemany, rows as tuples of
    ``columns``' values.

    For many rows SQLAlchemy's handling of each row's parameters costs more than the database's
    work; the rows given here must be plain values that need no conversion.
    """

    def __init__(self, connection: Connection, statement: Insert, columns: Sequence[str]) -> None:
        self.columns = tuple(columns)
        compiled = statement.compile(dialect=connection.dialect, column_keys=list(self.columns))
        self.connection = connection
        self.sql = str(compiled)
        # Positional drivers (sqlite3) take tuples in the compiled order; named ones, dicts.
        self.named = not compiled.positional
        self.order = [self.columns.index(name) for name in compiled.positiontup or self.columns]
        self.reorder = self.order != list(range(len(self.columns)))

    def __call__(self, rows: Sequence[tuple[Any, ...]]) -> int:
        """Insert ``rows``; return how many the database stored (duplicates passed over: 0)."""
        if not rows:
            return 0
        params: Any = rows
        if self.named:
            params = [dict(zip(self.columns, row, strict=True)) for row in rows]
        elif self.reorder:
            params = [tuple(row[i] for i in self.order) for row in rows]
        # The driver sums the rows each statement stored.
        return int(self.connection.exec_driver_sql(self.sql, params).rowcount)


def plain_batches(
    session: Session, query: Any, size: int = 10_000, *, stream: bool = False
) -> Iterator[Sequence[Any]]:
    """The rows of the select ``query`` as plain rows (no ORM row processing: several times
    cheaper for many rows), ``size`` at a time; ``stream`` reads them from a server-side cursor
    (PostgreSQL). This transaction's pending objects are flushed first, as the session's own
    execute would."""
    session.flush()
    if stream:
        query = query.execution_options(yield_per=size)
    yield from session.connection().execute(query).partitions(size)


def probe_each(
    key: InstrumentedAttribute[str],
    values: Sequence[str],
    out: InstrumentedAttribute[Any],
    *where: ColumnElement[bool],
) -> Select[tuple[str, Any]]:
    """PostgreSQL: each of ``values`` with ``out`` of the row whose ``key`` equals it under
    ``where`` (NULL when there is none), each found by its own probe of the unique index.

    A big import fills its tables inside one transaction, where the planner has no statistics
    of the new rows: for ``key IN (…)`` it scans every row of the campaign for each list (about
    a second each at 100,000 videos), while a probe per value stays a few milliseconds."""
    wanted = (
        func.unnest(bindparam("values", list(values), type_=ARRAY(key.type)))
        .table_valued("value")
        .render_derived()
    )
    found = select(out).where(*where, key == wanted.c.value).scalar_subquery()
    return select(wanted.c.value, found)
