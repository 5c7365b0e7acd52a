"""The web application: :func:`create_app` builds it from the settings.

One :class:`WebState` per app holds what requests share — the database engine, the compiled
catalogs and templates, the rate limiter and the session secret — so the CLI,
the tests and a server process each build their own app and nothing is built at import time.
Routes live in :mod:`oyren.web.public`, :mod:`oyren.web.organizer` and :mod:`oyren.web.jury`;
this module adds the security headers, the error pages (never a traceback) and the static files.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from importlib.resources import files
from typing import Any

import httpx
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from oyren import __version__
from oyren.errors import NotAllowed, NotFound, OyrenError, StoreBusy
from oyren.settings import Settings
from oyren.store.accounts import session_secret
from oyren.store.db import Engine, open_database, transaction
from oyren.store.reads import campaign_ids
from oyren.web.conditional import CachePolicy, HeadAsGet, NotModified, headers_for
from oyren.web.context import WebState, error_response
from oyren.web.render import shared_pages
from oyren.web.responses import document_refusals
from oyren.web.security import PLAYER_ORIGIN, RateLimit, SecurityHeaders, SharedRateLimiter

__all__ = ["DEFAULT_RATE_LIMITS", "WARM_CAMPAIGNS", "WebOptions", "create_app", "warm_up"]

log = logging.getLogger("oyren.web")

# Per client address. Pages are cheap to read but not free; a submission writes to the database
# and a login attempt is what a password guesser makes, so those are much tighter.
DEFAULT_RATE_LIMITS = {
    "page": RateLimit(per_minute=120, burst=60),
    "check": RateLimit(per_minute=30, burst=10),
    "submit": RateLimit(per_minute=6, burst=3),
    "login": RateLimit(per_minute=5, burst=5),
    # A creator's consent, sign-in, picks and withdrawals: each calls TikTok or writes.
    "creator": RateLimit(per_minute=30, burst=15),
    # Thumbnails: a page of 50 videos asks for 50 at once; browsers keep them a day.
    "thumb": RateLimit(per_minute=1200, burst=400),
}


@dataclass(frozen=True, slots=True)
class WebOptions:
    """How the web app behaves beyond the installation's settings (tests and benchmarks tune it).

    ``clock`` gives the current time in Unix seconds; ``secure_cookies`` None means "when the
    request arrived over HTTPS"; a rate of 0 per minute switches that limit off.
    """

    rate_limits: dict[str, RateLimit] = field(default_factory=lambda: dict(DEFAULT_RATE_LIMITS))
    clock: Callable[[], float] = time.time
    secure_cookies: bool | None = None
    session_max_age_s: int = 12 * 3600
    page_size: int = 50
    # Creators' sign-in (oyren.web.creators.CreatorServices); None: from the environment.
    creators: Any = None
    # Where the platform's embeddable player lives (the sandbox's stand-in in tests and demos).
    player_origin: str = PLAYER_ORIGIN
    # How long shared caches may keep public pages (ETag, Last-Modified, 304s).
    cache_policy: CachePolicy = field(default_factory=CachePolicy)
    # Serve the busiest pages once to itself when the server starts (see warm_up).
    warm_up: bool = True


WARM_CAMPAIGNS = 5
"""How many campaigns' pages :func:`warm_up` reads (the first of the campaigns' list)."""
# Pages that read a page of rows, never a whole campaign: warming must cost the same whatever
# the campaign's size. (The charts read every entry and are left out.)
_WARM_PAGES = ("", "/leaderboard", "/winners")


async def warm_up(app: FastAPI, *, base_url: str = "http://127.0.0.1:8000") -> int:
    """Read the busiest public pages through ``app`` itself, in every language and as JSON.

    A fresh process otherwise pays on its first requests for what it does once: opening
    database connections, compiling each SQL statement (SQLAlchemy keeps them by shape, for
    every campaign), loading locale data and running each template the first time. The server
    calls this before it accepts connections, so the first visitor waits for none of it.

    The campaigns are the first :data:`WARM_CAMPAIGNS` by id; each one's pages are read at
    once, which also opens the connections concurrent readers use. Each page is one page of
    rows, whatever the campaign's size. The pages are asked for at ``base_url`` (the site's
    public address), so those that may be sent as rendered are ready for visitors who reach the
    site there, until the store changes. Returns how many pages answered; a page that fails is
    logged and skipped (the server starts all the same).
    """
    from oyren.web.i18n import DEFAULT_LANGUAGE, LANGUAGES

    # The addresses visitors ask for: the page itself (the default language, or the one their
    # cookie names), each other language by its query, and the JSON twin.
    forms = ("", *(f"?lang={lang}" for lang in LANGUAGES if lang != DEFAULT_LANGUAGE), ".json")

    transport = httpx.ASGITransport(app=app, client=("warm-up", 0))
    async with httpx.AsyncClient(transport=transport, base_url=base_url) as client:

        async def get(path: str) -> bool:
            try:
                await client.get(path)
            except Exception:
                log.warning("warming %s failed", path, exc_info=True)
                return False
            return True

        read = 0
        for campaign_id in await run_in_threadpool(_first_campaigns, app.state.web.engine):
            base = f"/campaigns/{campaign_id}"
            paths = [f"{base}{page}{form}" for page in _WARM_PAGES for form in forms]
            read += sum(await asyncio.gather(*(get(path) for path in paths)))
    return read


def _first_campaigns(engine: Engine) -> list[str]:
    try:
        with transaction(engine, write=False) as session:
            return campaign_ids(session, limit=WARM_CAMPAIGNS)
    except Exception:
        log.warning("warming: the campaigns could not be listed", exc_info=True)
        return []


def create_app(
    settings: Settings, *, options: WebOptions | None = None, engine: Engine | None = None
) -> FastAPI:
    """Build the web app on the database the settings name (or on ``engine``)."""
    from oyren.web import creators, jury, organizer, public

    options = options or WebOptions()
    engine = engine if engine is not None else open_database(settings.database_url)
    with transaction(engine) as session:
        secret = session_secret(session)
    state = WebState(
        engine=engine,
        pages=shared_pages(),
        # The same clock as the pages, so a test that holds time still holds the buckets too.
        limiter=SharedRateLimiter(engine, options.rate_limits, clock=options.clock),
        secret=secret,
        clock=options.clock,
        secure_cookies=options.secure_cookies,
        session_max_age_s=options.session_max_age_s,
        page_size=options.page_size,
        player_origin=options.player_origin,
        cache_policy=options.cache_policy,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # uvicorn runs this before the process accepts connections.
        if options.warm_up:
            started = time.perf_counter()
            pages = await warm_up(app, base_url=settings.public_url)
            log.info("warmed %d pages in %.2f s", pages, time.perf_counter() - started)
        yield

    app = FastAPI(
        lifespan=lifespan,
        title="Öyrən",
        version=__version__,
        description=(
            "Public results of hashtag video contests and the organizer's tools. Every page "
            "has a JSON twin: the same path with `.json`, or `Accept: application/json`."
        ),
        # The interactive docs load scripts from a CDN; the API is described at /openapi.json
        # and listed on the /api page instead.
        docs_url=None,
        redoc_url=None,
    )
    app.state.web = state
    app.state.creators = (
        options.creators if options.creators is not None else creators.services_from_env(settings)
    )
    described = app.openapi
    app.openapi = lambda: document_refusals(described())  # type: ignore[method-assign]
    app.add_middleware(SecurityHeaders, player_origin=options.player_origin)
    app.add_middleware(HeadAsGet)
    if settings.proxies:
        # Outermost, so every layer (HSTS, Secure cookies, rate limits) sees the visitor's
        # scheme and address; forwarded headers from any other peer are left untouched.
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.proxies)
    app.mount(
        "/static", StaticFiles(directory=str(files("oyren.web").joinpath("static"))), "static"
    )
    app.include_router(public.router)
    app.include_router(organizer.router)
    app.include_router(jury.router)
    app.include_router(creators.router)
    _install_error_pages(app, state)
    return app


def _install_error_pages(app: FastAPI, state: WebState) -> None:
    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        headers = dict(exc.headers or {})
        return error_response(state, request, exc.status_code, detail=exc.detail, headers=headers)

    async def invalid_request(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        return error_response(state, request, 400, detail=_first_problem(exc))

    async def user_error(request: Request, exc: Exception) -> Response:
        # The store names what is wrong ("no campaign 'x'…"); a visitor may see that. Asking
        # for something that is not there is a 404, for what the account may not do a 403,
        # anything else the request's fault.
        if isinstance(exc, StoreBusy):  # another writer kept the database: try again shortly
            return error_response(
                state, request, 503, detail=str(exc), headers={"Retry-After": "5"}
            )
        if isinstance(exc, NotFound):
            status = 404
        elif isinstance(exc, NotAllowed):
            status = 403
        else:
            status = 400
        return error_response(state, request, status, detail=str(exc), explained=True)

    async def server_error(request: Request, exc: Exception) -> Response:
        log.exception("error on %s %s", request.method, request.url.path, exc_info=exc)
        return error_response(state, request, 500)

    async def not_modified(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, NotModified)
        return Response(status_code=304, headers=headers_for(exc.validator, exc.policy))

    app.add_exception_handler(NotModified, not_modified)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, invalid_request)
    app.add_exception_handler(OyrenError, user_error)
    app.add_exception_handler(Exception, server_error)


def _first_problem(exc: RequestValidationError) -> str:
    errors: list[Any] = list(exc.errors())
    if not errors:
        return ""
    first = errors[0]
    where = ".".join(str(part) for part in first.get("loc", ()) if part != "body")
    return f"{where}: {first.get('msg', '')}" if where else str(first.get("msg", ""))
