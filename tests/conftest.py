"""Shared fixtures: the shipped campaign and builders for observations and input files."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from oyren.inputs.observations import observation_from_record
from oyren.rules.campaign import Campaign, load_campaign
from oyren.rules.observations import Observation

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
    """An observation record in API field names: an eligible video seen an hour before cutoff."""
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
    from oyren.store.db import create_db_engine, upgrade

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

        from oyren.store.db import create_db_engine, normalize_url, upgrade

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
        from oyren.store.models import Base

        guard = "TRIGGER audit_log_append_only"
        with self.engine.begin() as connection:
            connection.exec_driver_sql(f"ALTER TABLE audit_log DISABLE {guard}")
            for table in reversed(Base.metadata.sorted_tables):
                connection.exec_driver_sql(f"DELETE FROM {table.name}")
            connection.exec_driver_sql(f"ALTER TABLE audit_log ENABLE {guard}")
            # The job queue's tables (procrastinate's, made on first use) empty too: a job one
            # test left waiting must not answer another's request.
            queued = connection.exec_driver_sql("SELECT to_regclass('procrastinate_jobs')")
            if queued.scalar() is not None:
                connection.exec_driver_sql("TRUNCATE procrastinate_jobs CASCADE")
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
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterable[PostgresServer]:
    """The server named by OYREN_TEST_POSTGRES_URL (tests fail when it cannot be reached)."""
    import os

    from sqlalchemy.exc import OperationalError

    url = os.environ.get(POSTGRES_URL_ENV)
    if not url:
        # No server named: start a throwaway one when PostgreSQL's programs are installed, so
        # that `make test` runs the whole suite on a newcomer's machine.
        with throwaway_postgres(tmp_path_factory) as url:
            server = PostgresServer(url)
            yield server
            server.close()
        return
    try:
        server = PostgresServer(url)
    except OperationalError as exc:
        pytest.fail(f"{POSTGRES_URL_ENV}={url}: cannot reach PostgreSQL: {exc.orig}")
    yield server
    server.close()


def _pg_ctl() -> str | None:
    """PostgreSQL's pg_ctl: on the PATH, else where Debian and Ubuntu install the newest."""
    import glob
    import shutil

    found = shutil.which("pg_ctl")
    if found:
        return found

    def major(path: str) -> int:
        version = Path(path).parents[1].name
        return int(version) if version.isdigit() else 0

    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=major)
    return versions[-1] if versions else None


@contextlib.contextmanager
def throwaway_postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A PostgreSQL server of this test session in a temporary folder (pytest-postgresql starts
    it on a free port and removes it afterwards); skips when it cannot be started here."""
    import os

    pg_ctl = _pg_ctl()
    if pg_ctl is None:
        pytest.skip(
            f"{POSTGRES_URL_ENV} is not set and PostgreSQL is not installed (pg_ctl not found)"
        )
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        pytest.skip(
            f"{POSTGRES_URL_ENV} is not set, and a throwaway PostgreSQL cannot be started as "
            "root (initdb refuses to run as root)"
        )
    from port_for import get_port
    from pytest_postgresql.executors import PostgreSQLExecutor

    folder = tmp_path_factory.mktemp("postgresql")
    port = get_port(None)
    assert port is not None
    executor = PostgreSQLExecutor(
        executable=pg_ctl,
        host="127.0.0.1",
        port=port,
        datadir=str(folder / "data"),
        unixsocketdir=str(folder),
        logfile=str(folder / "server.log"),
        startparams="-w",
        dbname="test",
        user="postgres",
    )
    with executor:
        executor.wait_for_postgres()
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"


def _database(request: pytest.FixtureRequest, tmp_path: Path, *, migrated: bool) -> Iterable[Any]:
    import shutil

    from oyren.store.db import create_db_engine

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
    from oyren.store import register_campaign
    from oyren.store.db import transaction

    with transaction(db) as session:
        register_campaign(session, campaign=campaign, by="organizer",
                          at=campaign.window_start_ts - 86400)  # fmt: skip
    return db


@pytest.fixture
def snapshot() -> Callable[[Any], dict[str, list[tuple[Any, ...]]]]:
    """Take every row of every table of an engine, to show a failed operation changed nothing."""
    from sqlalchemy import select

    from oyren.store.models import Base

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


# --- The sandbox campaign in a database, for the read side (publishing, oversight, trends) and
# the web app: 300 simulated videos plus hand-made ones that show one case each, some carrying
# hostile text, and three accounts. Built once per session; each test gets its own copy.
import shutil  # noqa: E402
from datetime import datetime  # noqa: E402
from zoneinfo import ZoneInfo  # noqa: E402

from sqlalchemy import Engine  # noqa: E402

# Tables defined outside oyren.store.models (accounts, submissions) belong to the same schema:
# imported
# so that Base.metadata, which tests compare with the migrated database, knows every table.
import oyren.store.accounts  # noqa: E402
import oyren.store.submissions  # noqa: E402, F401
from oyren.inputs.observations import observation_to_record  # noqa: E402
from oyren.sandbox.simulate import observations, sandbox_campaign, simulate  # noqa: E402

BAKU = ZoneInfo("Asia/Baku")
PASSWORD = "correct horse battery"  # every test account's password
HOSTILE = (
    "<script>alert('xss')</script>",
    '"><img src=x onerror=alert(1)>',
    "javascript:alert(2)",
    "</textarea><svg onload=alert(3)>",
    "{{ 7*7 }} {% raw %}",
)
HOSTILE_TEXT = " ".join(HOSTILE)
# Hand-made videos (ids far from the simulator's), each showing one case.
TOP_ID = "7390000000000000001"  # eligible, most viewed, description full of hostile text
LATE_ID = "7390000000000000002"  # posted 01:00 on 22 April, Baku time: after the deadline
SHORT_ID = "7390000000000000003"  # 12 s long
PENDING_ID = "7390000000000000004"  # region not reported: waits for a moderator
PARTNER_ID = "7390000000000000005"  # a partner institution's video, hostile description
SECOND_ID = "7390000000000000006"  # eligible, second most viewed
TOP_USER = "hostile_creator"
HOSTILE_USER = "<b>bold</b>"  # TikTok would not allow it; we must still show it as text


def _made_videos(campaign: Campaign) -> list[Observation]:
    cutoff = campaign.cutoff_ts
    late = int(datetime(2024, 4, 22, 1, 0, tzinfo=BAKU).timestamp())
    tag = "#TikTokdanÖyrən"

    def obs(
        video_id: str, username: str, create: int, views: int, *, seen: int | None = None, **kw: Any
    ) -> Observation:
        base: dict[str, Any] = {
            "region_code": "AZ",
            "description": f"{HOSTILE_TEXT} {tag}",
            "hashtags": ("TikTokdanÖyrən",),
            "duration_s": 60,
        }
        base.update(kw)
        return Observation(
            video_id=video_id,
            username=username,
            create_time=create,
            collected_at=seen if seen is not None else cutoff - 3600,
            view_count=views,
            **base,
        )

    partner = campaign.partners[0].username
    return [
        obs(TOP_ID, TOP_USER, cutoff - 20 * 86400, 90_000_000),
        obs(
            SECOND_ID,
            "aysel_teaches",
            cutoff - 10 * 86400,
            80_000_000,
            description=f"Fotosintez nədir? {tag}",
        ),
        obs(LATE_ID, "late_lale", late, 5_000, seen=late + 7200, description=f"Gec qaldım {tag}"),
        obs(
            SHORT_ID,
            "short_samir",
            cutoff - 5 * 86400,
            7_000,
            duration_s=12,
            description=f"Qısa video {tag}",
        ),
        obs(PENDING_ID, HOSTILE_USER, cutoff - 4 * 86400, 3_000, region_code=None),
        obs(PARTNER_ID, partner, cutoff - 3 * 86400, 60_000),
    ]


@pytest.fixture(scope="session")
def sandbox() -> Campaign:
    """The bundled sandbox campaign (invented partner accounts)."""
    return sandbox_campaign()


@pytest.fixture(scope="session")
def sandbox_db_file(
    sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory, sandbox: Campaign
) -> Path:
    """An SQLite file with the sandbox campaign, 300 simulated and 6 hand-made videos, users."""
    from oyren.store import ingest_observations, register_campaign
    from oyren.store.accounts import create_user
    from oyren.store.db import create_db_engine, transaction
    from oyren.store.decided import refresh_flags

    folder = tmp_path_factory.mktemp("sandbox")
    path = folder / "oyren.db"
    shutil.copyfile(sqlite_template, path)
    sim = simulate(sandbox, videos=300, seed=5, observations_per_video=6)
    data = folder / "observations.jsonl"
    with data.open("wb") as handle:
        for o in [*observations(sim), *_made_videos(sandbox)]:
            handle.write(orjson.dumps(observation_to_record(o)) + b"\n")
    engine = create_db_engine(f"sqlite:///{path}")
    with transaction(engine) as session:
        register_campaign(session, campaign=sandbox, by="setup", at=sandbox.window_start_ts - 86400)
        ingest_observations(session, campaign_id=sandbox.id, path=data, by="setup")
        for name, role in (("olga", "organizer"), ("murad", "moderator"), ("jale", "juror")):
            create_user(session, username=name, password=PASSWORD, role=role, by="setup")
    # The background job after writes settle: integrity flags and the charts' daily views.
    refresh_flags(engine, sandbox.id, at=sandbox.cutoff_ts + 86400)
    engine.dispose()
    return path


@pytest.fixture
def sandbox_db(sandbox_db_file: Path, tmp_path: Path) -> Iterator[Engine]:
    """An engine on this test's own copy of the sandbox database (write to it freely)."""
    from oyren.store.db import create_db_engine

    path = tmp_path / "oyren.db"
    shutil.copyfile(sandbox_db_file, path)
    engine = create_db_engine(f"sqlite:///{path}")
    yield engine
    engine.dispose()


# --- At the end of a run: which groups were skipped, and the one command that runs them. --------

_GROUPS = {
    "postgres": (
        "PostgreSQL",
        "OYREN_TEST_POSTGRES_URL=postgresql://postgres@127.0.0.1:5432/test make test",
        "(or install PostgreSQL's server programs and run `make test` as a user other than root: "
        "it then starts a throwaway server itself)",
    ),
    "browser": (
        "browser (Chromium)",
        "sudo apt-get install chromium && make test",
        "",
    ),
}
_skipped: dict[str, list[str]] = {}


NOT_APPLICABLE = "does not apply"
"""How a test's skip begins when the case is for the other database, not a missing program: such
skips are no reason to run anything else, and the summary leaves them out."""


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if not report.skipped:
        return
    reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else ""
    reason = str(reason).removeprefix("Skipped: ")
    if reason.startswith(NOT_APPLICABLE):
        return
    for group in _GROUPS:
        if group in report.keywords:
            _skipped.setdefault(group, []).append(reason)
            break


def pytest_unconfigure(config: pytest.Config) -> None:
    # After the summary line, so that it is the last thing a newcomer reads.
    terminalreporter = config.pluginmanager.get_plugin("terminalreporter")
    if not _skipped or terminalreporter is None:
        return
    terminalreporter.section("skipped groups")
    for group, reasons in _skipped.items():
        name, command, note = _GROUPS[group]
        terminalreporter.write_line(f"{len(reasons)} {name} tests were skipped: {reasons[0]}")
        terminalreporter.write_line(f"  to run them: {command} {note}".rstrip())


@pytest.fixture
def creators_db(sqlite_template: Path, tmp_path: Path, sandbox: Any) -> Iterable[Any]:
    """The sandbox campaign registered in an SQLite store, for the creators' tests."""
    from tests.creatorsupport import campaign_db

    engine = campaign_db(sqlite_template, tmp_path, sandbox)
    yield engine
    engine.dispose()
