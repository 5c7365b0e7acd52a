"""Fixtures for the web app: clients on the sandbox database, anonymous or signed in by role.

Clients call the ASGI app in this process through an httpx transport (no server, no network);
the app's clock is a :class:`Clock` a test can move. The database (``sandbox_db``) comes from
the root conftest: a copy per test, so tests may write to it freely.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import anyio
import httpx
import pytest
from sqlalchemy import Engine
from starlette.types import ASGIApp

from oyren.rules.campaign import Campaign
from tests.conftest import PASSWORD


class InProcess(httpx.BaseTransport):
    """A synchronous httpx transport that calls an ASGI app in this process (no network)."""

    def __init__(self, app: ASGIApp, *, raise_app_exceptions: bool = True) -> None:
        self._asgi = httpx.ASGITransport(app, raise_app_exceptions=raise_app_exceptions)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()

        async def call() -> httpx.Response:
            forwarded = httpx.Request(
                request.method, request.url, headers=request.headers, content=body
            )
            response = await self._asgi.handle_async_request(forwarded)
            content = b"".join([chunk async for chunk in response.stream])  # type: ignore[union-attr]
            return httpx.Response(
                response.status_code, headers=response.headers, content=content, request=request
            )

        return anyio.run(call)


@dataclass
class Clock:
    """A clock tests can set: Unix seconds."""

    now: float

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(sandbox: Campaign) -> Clock:
    """The app's clock: a week after the deadline unless a test moves it."""
    return Clock(float(sandbox.cutoff_ts + 7 * 86400))


@pytest.fixture
def make_client(sandbox_db: Engine, clock: Clock) -> Callable[..., httpx.Client]:
    """Build a client on a fresh app; keyword arguments go to WebOptions."""
    from oyren.settings import Settings
    from oyren.web.app import WebOptions, create_app

    def make(*, raise_server_exceptions: bool = True, **options: Any) -> httpx.Client:
        options.setdefault("clock", clock)
        options.setdefault("secure_cookies", False)
        app = create_app(
            Settings(database_url="sqlite://"), options=WebOptions(**options), engine=sandbox_db
        )
        transport = InProcess(app, raise_app_exceptions=raise_server_exceptions)
        return httpx.Client(
            transport=transport, base_url="http://testserver", follow_redirects=False
        )

    return make


@pytest.fixture
def client(make_client: Callable[..., httpx.Client]) -> Iterator[httpx.Client]:
    """An anonymous visitor."""
    with make_client() as c:
        yield c


_TOKEN_RE = re.compile(r'name="csrf_token" value="([0-9a-f]{64})"')


def csrf_of(client: httpx.Client, path: str = "/login") -> str:
    """Load a page with a form and return the CSRF token in it."""
    response = client.get(path)
    match = _TOKEN_RE.search(response.text)
    assert match is not None, f"no CSRF token on {path}"
    return match.group(1)


def log_in(client: httpx.Client, username: str) -> httpx.Client:
    """Sign ``client`` in as ``username`` (whose password is PASSWORD)."""
    token = csrf_of(client)
    response = client.post(
        "/login", data={"username": username, "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 303, response.text
    return client


@pytest.fixture
def organizer(make_client: Callable[..., httpx.Client]) -> Iterator[httpx.Client]:
    """A client signed in as the organizer 'olga'."""
    with make_client() as c:
        yield log_in(c, "olga")


@pytest.fixture
def moderator(make_client: Callable[..., httpx.Client]) -> Iterator[httpx.Client]:
    """A client signed in as the moderator 'murad'."""
    with make_client() as c:
        yield log_in(c, "murad")


@pytest.fixture
def juror(make_client: Callable[..., httpx.Client]) -> Iterator[httpx.Client]:
    """A client signed in as the juror 'jale'."""
    with make_client() as c:
        yield log_in(c, "jale")
