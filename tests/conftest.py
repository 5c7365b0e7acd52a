"""Shared fixtures: the shipped campaign and builders for observations and input files."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import orjson
import pytest

from oyren.campaign import Campaign, load_campaign
from oyren.observations import Observation, observation_from_record

ROOT = Path(__file__).resolve().parent.parent
CAMPAIGN_FILE = ROOT / "campaigns" / "tiktokdan-oyren-2024.toml"


@pytest.fixture(scope="session")
def campaign() -> Campaign:
    """The shipped #TikTokdanÖyrən campaign (cutoff 2024-04-21T23:59:59+04:00)."""
    return load_campaign(CAMPAIGN_FILE)


@pytest.fixture
def campaign_file() -> Path:
    """Path of the shipped campaign file."""
    return CAMPAIGN_FILE


def record(campaign: Campaign, **overrides: Any) -> dict[str, Any]:
    """An observation record in API field names: an eligible video seen an hour before the cutoff."""
    base: dict[str, Any] = {
        "id": 7340000000000000001,
        "username": "aysel_teaches",
        "create_time": campaign.cutoff_ts - 10 * 86400,
        "region_code": "AZ",
        "video_description": "Fotosintez nədir? #TikTokdanÖyrən #elm",
        "video_duration": 45,
        "view_count": 1000,
        "like_count": 100,
        "comment_count": 10,
        "share_count": 5,
        "collected_at": campaign.cutoff_ts - 3600,
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


@pytest.fixture
def make_record(campaign: Campaign) -> Callable[..., dict[str, Any]]:
    """Build an observation record; keyword arguments override fields (None removes one)."""
    return lambda **kw: record(campaign, **kw)


@pytest.fixture
def make_obs(campaign: Campaign) -> Callable[..., Observation]:
    """Build a validated :class:`Observation`; keyword arguments override API fields."""
    return lambda **kw: observation_from_record(record(campaign, **kw))


@pytest.fixture
def write_jsonl(tmp_path: Path) -> Callable[..., Path]:
    """Write records (dicts, or raw strings written as they are) to a JSONL file."""

    def write(records: Iterable[dict[str, Any] | str], name: str = "observations.jsonl") -> Path:
        path = tmp_path / name
        with path.open("wb") as handle:
            for item in records:
                handle.write(item.encode() if isinstance(item, str) else orjson.dumps(item))
                handle.write(b"\n")
        return path

    return write


# --- Databases: every store test runs on SQLite and, when OYREN_TEST_POSTGRES_URL names a
# server, on PostgreSQL too. Each test starts from an empty database at the newest schema:
# on SQLite a copy of a file migrated once; on PostgreSQL a database that each test process
# creates and migrates once, emptied before each test (a database per test costs half a
# second). Tests of migrations get a database without tables: a new file, or a new schema.

POSTGRES_URL_ENV = "OYREN_TEST_POSTGRES_URL"
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An SQLite file migrated to the newest schema, to copy for each test."""
    from oyren.db import create_db_engine, upgrade

    path = tmp_path_factory.mktemp("template") / "oyren.db"
    engine = create_db_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


class PostgresServer:
    """The PostgreSQL server under test: a database of this test process, migrated once, and
    empty schemas in it on demand."""

    def __init__(self, url: str) -> None:
        import uuid

        from sqlalchemy import create_engine
        from sqlalchemy.pool import NullPool

        from oyren.db import create_db_engine, normalize_url, upgrade

        self.name = f"oyren_test_{uuid.uuid4().hex[:10]}"
        admin_url = normalize_url(url)
        self.admin = create_engine(admin_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
        with self.admin.connect() as connection:
            connection.exec_driver_sql(f"CREATE DATABASE {self.name}")
        self.url = admin_url.set(database=self.name)
        self.engine = create_db_engine(self.url)
        upgrade(self.engine)
        self.schemas = 0

    def empty_migrated(self) -> Any:
        """Delete every row of the migrated database (the audit log's guard off meanwhile)."""
        from oyren.models import Base

        guard = "TRIGGER audit_log_append_only"
        with self.engine.begin() as connection:
            connection.exec_driver_sql(f"ALTER TABLE audit_log DISABLE {guard}")
            for table in reversed(Base.metadata.sorted_tables):
                connection.exec_driver_sql(f"DELETE FROM {table.name}")
            connection.exec_driver_sql(f"ALTER TABLE audit_log ENABLE {guard}")
        return self.url

    def create_schema(self) -> tuple[str, Any]:
        """Create an empty schema; return its name and a URL whose tables live in it."""
        self.schemas += 1
        schema = f"empty_{self.schemas}"
        with self.engine.begin() as connection:
            connection.exec_driver_sql(f"CREATE SCHEMA {schema}")
        return schema, self.url.set(query={"options": f"-csearch_path={schema}"})

    def drop_schema(self, schema: str) -> None:
        """Drop a schema made by :meth:`create_schema`, with all it holds."""
        with self.engine.begin() as connection:
            connection.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")

    def close(self) -> None:
        """Drop the test database and let go of the server."""
        self.engine.dispose()
        with self.admin.connect() as connection:
            connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")
        self.admin.dispose()


@pytest.fixture(scope="session")
def postgres() -> Iterable[PostgresServer]:
    """The server named by OYREN_TEST_POSTGRES_URL (tests fail when it cannot be reached)."""
    import os

    from sqlalchemy.exc import OperationalError

    url = os.environ.get(POSTGRES_URL_ENV)
    if not url:
        pytest.skip(f"{POSTGRES_URL_ENV} is not set (e.g. postgresql://postgres@127.0.0.1/test)")
    try:
        server = PostgresServer(url)
    except OperationalError as exc:
        pytest.fail(f"{POSTGRES_URL_ENV}={url}: cannot reach PostgreSQL: {exc.orig}")
    yield server
    server.close()


def _database(request: pytest.FixtureRequest, tmp_path: Path, *, migrated: bool) -> Iterable[Any]:
    import shutil

    from oyren.db import create_db_engine

    schema = None
    if request.param == "sqlite":
        path = tmp_path / "oyren.db"
        if migrated:
            shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        else:
            path.touch()  # an empty file is an empty SQLite database
        url: Any = f"sqlite:///{path}"
    else:
        server: PostgresServer = request.getfixturevalue("postgres")
        if migrated:
            url = server.empty_migrated()
        else:
            schema, url = server.create_schema()
    engine = create_db_engine(url)
    yield engine
    engine.dispose()
    if schema is not None:
        server.drop_schema(schema)


@pytest.fixture(params=BACKENDS)
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterable[Any]:
    """An engine on an empty database at the newest schema (SQLite, then PostgreSQL)."""
    yield from _database(request, tmp_path, migrated=True)


@pytest.fixture(params=BACKENDS)
def empty_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterable[Any]:
    """An engine on a database without any tables (SQLite, then a PostgreSQL schema)."""
    yield from _database(request, tmp_path, migrated=False)


@pytest.fixture
def stored_db(db: Any, campaign: Campaign) -> Any:
    """``db`` with the shipped campaign registered (a day before it opened, by 'organizer')."""
    from oyren.db import transaction
    from oyren.store import register_campaign

    with transaction(db) as session:
        register_campaign(session, campaign=campaign, by="organizer",
                          at=campaign.window_start_ts - 86400)  # fmt: skip
    return db


@pytest.fixture
def snapshot() -> Callable[[Any], dict[str, list[tuple[Any, ...]]]]:
    """Take every row of every table of an engine, to show a failed operation changed nothing."""
    from sqlalchemy import select

    from oyren.models import Base

    def take(engine: Any) -> dict[str, list[tuple[Any, ...]]]:
        with engine.connect() as connection:
            return {
                t.name: [tuple(r) for r in connection.execute(select(t).order_by(*t.c))]
                for t in Base.metadata.sorted_tables
            }

    return take


@pytest.fixture
def cli(db: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Any]:
    """Run ``oyren ARGS`` in-process on the ``db`` database, from an empty working folder.

    Returns click's result (``exit_code``, ``stdout``, ``stderr``); ``env`` sets variables
    (None removes one).
    """
    from click.testing import CliRunner

    from oyren.cli import cli as group

    url = db.url.render_as_string(hide_password=False)
    workdir = tmp_path / "work"
    workdir.mkdir()
    monkeypatch.chdir(workdir)

    def invoke(*args: object, env: dict[str, str | None] | None = None) -> Any:
        variables = {"OYREN_DATABASE_URL": url, "OYREN_USER": "tester", **(env or {})}
        return CliRunner().invoke(group, [str(a) for a in args], env=variables,
                                  catch_exceptions=False)  # fmt: skip

    return invoke
