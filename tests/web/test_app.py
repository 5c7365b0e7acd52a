"""The app: built from settings, its error pages in both forms, and errors mapped to statuses."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import anyio
import httpx
import pytest
from fastapi import APIRouter, FastAPI
from sqlalchemy import Engine

from oyren.rules.campaign import Campaign
from tests.web.conftest import Clock
from tests.web.test_security import BASE

ORG = "/organizer/campaigns/sandbox-2024"


def test_unknown_page_is_a_404_page(client: httpx.Client) -> None:
    page = client.get("/no/such/page?lang=en")
    twin = client.get("/no/such/page.json")
    assert (page.status_code, twin.status_code) == (404, 404)
    assert "Page not found" in page.text
    assert '<html lang="en">' in page.text
    assert twin.json() == {
        "error": {
            "status": 404,
            "title": "Səhifə tapılmadı",
            "message": "Bu ünvanda heç nə yoxdur. Ola bilsin, başqa yerə köçürülüb.",
            "retry_after": None,
        }
    }


def test_unknown_campaign_is_a_404_that_names_the_stored_ones(client: httpx.Client) -> None:
    page = client.get("/campaigns/no-such-contest")
    assert page.status_code == 404
    assert "no campaign &#39;no-such-contest&#39;" in page.text
    assert "sandbox-2024" in page.text


def test_wrong_method_is_a_405_page(client: httpx.Client) -> None:
    assert client.post(BASE).status_code == 405


def test_server_error_shows_a_page_not_a_traceback(
    make_client: Callable[..., httpx.Client],
) -> None:
    with make_client(raise_server_exceptions=False) as c:
        boom = APIRouter()

        @boom.get("/boom")
        def explode() -> None:
            raise RuntimeError("secret detail in a traceback")

        c._transport._asgi.app.include_router(boom)  # type: ignore[attr-defined]
        page = c.get("/boom?lang=en")
        twin = c.get("/boom", headers={"Accept": "application/json"})
    assert page.status_code == 500
    assert "Something went wrong on our side" in page.text
    assert "secret detail" not in page.text + twin.text
    assert "Traceback" not in page.text
    assert twin.json()["error"]["status"] == 500


def test_a_write_kept_waiting_past_the_busy_timeout_is_a_503_then_goes_through(
    sandbox_db: Engine, clock: Clock
) -> None:
    """Another writer holds SQLite's write lock longer than the busy timeout: the organizer's
    decision is a 503 with Retry-After (never a 500), and the same request goes through once the
    lock is free."""
    import sqlite3

    from oyren.settings import Settings
    from oyren.store.db import create_db_engine
    from oyren.web.app import WebOptions, create_app
    from tests.web.conftest import InProcess, csrf_of, log_in
    from tests.web.test_organizer import DECIDE

    engine = create_db_engine(f"{sandbox_db.url}?timeout=0.2")
    app = create_app(
        Settings(database_url="sqlite://"),
        options=WebOptions(clock=clock, secure_cookies=False),
        engine=engine,
    )
    transport = InProcess(app, raise_app_exceptions=False)
    path, data = DECIDE
    with httpx.Client(transport=transport, base_url="http://testserver") as organizer:
        log_in(organizer, "olga")
        form = {**data, "csrf_token": csrf_of(organizer, ORG + "/queue")}
        other = sqlite3.connect(str(sandbox_db.url.database), isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # another writer, holding the lock
        try:
            busy = organizer.post(path, data=form, headers={"Accept": "application/json"})
        finally:
            other.execute("ROLLBACK")
            other.close()
        done = organizer.post(path, data=form)
    engine.dispose()
    assert (busy.status_code, busy.headers.get("retry-after")) == (503, "5")
    assert busy.json()["error"]["retry_after"] == 5
    assert done.status_code == 303


def _app(engine: Engine, clock: Clock, **options: object) -> FastAPI:
    from oyren.settings import Settings
    from oyren.web.app import WebOptions, create_app

    return create_app(
        Settings(database_url="sqlite://"),
        options=WebOptions(clock=clock, **options),  # type: ignore[arg-type]
        engine=engine,
    )


def test_warm_up_reads_each_campaigns_busiest_pages_before_serving(
    sandbox_db: Engine, clock: Clock, sandbox: Campaign
) -> None:
    from oyren.web.app import warm_up

    app = _app(sandbox_db, clock)
    # The overview, leaderboard and winners, in both languages and as JSON.
    assert anyio.run(warm_up, app) == 9
    # The pages a visitor may be sent as rendered are ready for the warm-up's own address.
    assert len(app.state.web.answers) == 6


def test_after_warm_up_the_first_visitor_at_the_public_address_gets_a_ready_page(
    sandbox_db: Engine, clock: Clock, sandbox: Campaign, monkeypatch: pytest.MonkeyPatch
) -> None:
    from oyren.web import public
    from oyren.web.app import warm_up

    app = _app(sandbox_db, clock)
    assert anyio.run(partial(warm_up, app, base_url="http://oyren.example")) == 9

    def unread(*_: object, **__: object) -> None:
        raise AssertionError("the page's data was read again")

    monkeypatch.setattr(public.publishing, "leaderboard", unread)

    async def visit(path: str) -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://oyren.example") as c:
            return await c.get(path)

    for path in ("", ".json", "?lang=en"):
        response = anyio.run(visit, f"/campaigns/{sandbox.id}/leaderboard{path}")
        assert response.status_code == 200, path


def test_warm_up_runs_at_start_up_and_a_failing_page_does_not_stop_it(
    sandbox_db: Engine, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    from oyren.web import public

    def broken(*_: object, **__: object) -> None:
        raise RuntimeError("broken")

    monkeypatch.setattr(public.publishing, "leaderboard", broken)
    app = _app(sandbox_db, clock)
    quiet = _app(sandbox_db, clock, warm_up=False)

    async def start(app: FastAPI) -> int:
        async with app.router.lifespan_context(app):  # the start-up a server runs first
            return len(app.state.web.answers)

    assert anyio.run(start, app) == 3  # the winners in three forms; the leaderboard failed
    assert anyio.run(start, quiet) == 0
