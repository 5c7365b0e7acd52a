"""What a request needs: the shared :class:`WebState` and a per-request :class:`Ctx`.

``Ctx`` knows the reader's language, the signed-in user (if any), the CSRF token for forms and
the current time, and turns a handler's data into the HTML page or its JSON twin. The
dependencies at the bottom are how routes ask for it: :func:`page_ctx` for public pages (rate
limited per client), :func:`staff_ctx` and :func:`organizer_ctx` for signed-in roles, and
:func:`csrf_protected` for every form post and API call that changes something.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import Enum
from http import HTTPStatus
from typing import Any, TypeVar
from urllib.parse import urlencode

import orjson
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.concurrency import run_in_threadpool

from oyren.rules.campaign import Campaign
from oyren.store.accounts import User, get_user
from oyren.store.db import Engine, Session, transaction
from oyren.store.freshness import campaign_version, site_version
from oyren.web import words
from oyren.web.conditional import (
    PRIVATE,
    CachePolicy,
    NotModified,
    RenderedAnswers,
    Validator,
    headers_for,
    is_not_modified,
    make_validator,
)
from oyren.web.i18n import DEFAULT_LANGUAGE, LANGUAGE_NAMES, LANGUAGES, Translator
from oyren.web.render import Pages, jsonable, wants_json
from oyren.web.security import SharedRateLimiter, csrf_token, csrf_valid, new_csrf_cookie

__all__ = [
    "CSRF_COOKIE",
    "LANG_COOKIE",
    "SESSION_COOKIE",
    "Ctx",
    "WebState",
    "add_page",
    "csrf_protected",
    "error_response",
    "juror_ctx",
    "organizer_ctx",
    "page_ctx",
    "safe_next",
    "staff_ctx",
]

Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])
SESSION_COOKIE = "oyren_session"
CSRF_COOKIE = "oyren_csrf"
LANG_COOKIE = "oyren_lang"
CSRF_HEADER = "x-csrf-token"
STAFF_ROLES = frozenset({"organizer", "moderator"})


@dataclass(slots=True)
class WebState:
    """Everything the app's requests share."""

    engine: Engine
    pages: Pages
    limiter: SharedRateLimiter
    secret: bytes
    clock: Callable[[], float]
    secure_cookies: bool | None
    session_max_age_s: int
    page_size: int
    player_origin: str = "https://www.tiktok.com"
    cache_policy: CachePolicy = field(default_factory=CachePolicy)
    # Public answers this process rendered, by validator (see oyren.web.conditional).
    answers: RenderedAnswers = field(default_factory=RenderedAnswers)

    @property
    def sessions(self) -> URLSafeTimedSerializer:
        """Signs and reads session cookies."""
        return URLSafeTimedSerializer(self.secret, salt="oyren-session")


def _state(request: Request) -> WebState:
    state: WebState = request.app.state.web
    return state


def _client(request: Request) -> str:
    # The direct peer, or the visitor's address a trusted proxy forwarded (the app's proxy
    # middleware replaces the peer only for addresses in the trusted_proxies setting).
    return request.client.host if request.client else "unknown"


def _language(request: Request) -> str:
    asked = request.query_params.get("lang") or request.cookies.get(LANG_COOKIE)
    return asked if asked in LANGUAGES else DEFAULT_LANGUAGE


def safe_next(value: str | None, default: str = "/") -> str:
    """Return ``value`` if it is a path on this site, else ``default`` (no open redirects)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return default
    if any(ord(ch) < 32 for ch in value):
        return default
    return value


class Ctx:
    """One request's language, user, CSRF token and clock, and the way to answer it."""

    def __init__(self, state: WebState, request: Request, *, user: User | None = None) -> None:
        self.state = state
        self.request = request
        self.lang = _language(request)
        self.t: Translator = state.pages.catalogs.translator(self.lang)
        self.now = int(state.clock())
        self.user = user
        cookie = request.cookies.get(CSRF_COOKIE)
        self._new_csrf = not cookie
        self.csrf_cookie = cookie or new_csrf_cookie()
        self.validator: Validator | None = None
        self.private = False
        self._answer_key: tuple[str, str] | None = None
        self._claimed = False  # this request renders a page other requests wait for

    @property
    def client(self) -> str:
        """The visitor's address (as a trusted proxy forwarded it, else the peer's)."""
        return _client(self.request)

    @property
    def csrf_token(self) -> str:
        """The token this reader's forms must carry."""
        return csrf_token(self.state.secret, self.csrf_cookie)

    @contextmanager
    def session(self, *, write: bool = True) -> Iterator[Session]:
        """A database session in a transaction (committed when the block succeeds).

        ``write=False`` for a page that only reads: on SQLite it then neither waits for a
        writer's lock nor holds other readers back.
        """
        with transaction(self.state.engine, write=write) as session:
            yield session

    def _secure(self) -> bool:
        if self.state.secure_cookies is not None:
            return self.state.secure_cookies
        return self.request.url.scheme == "https"

    def conditional(
        self,
        campaign_id: str | None = None,
        *,
        session: Session | None = None,
        reuse: bool = False,
    ) -> Response | None:
        """Make this answer a public one with a validator, or stop with ``304`` if unchanged.

        The version is read from the store (the same in every process), in ``session`` when
        given (the page's own read); ``campaign_id`` None means a page about every campaign.
        Someone signed in gets a private answer instead.

        ``reuse``: the page's bytes depend only on what its validator digests (not on the
        moment within the validator's time step), so an answer this process already rendered
        for the same validator is returned, for the handler to send as it is; else None, and
        the answer the handler renders is kept for the next reader.
        """
        if self.user is not None:
            self.private = True
            return None
        if session is None:
            with self.session(write=False) as own:
                return self.conditional(campaign_id, session=own, reuse=reuse)
        if campaign_id is None:
            version = site_version(session)
        else:
            found = campaign_version(session, campaign_id)
            if found is None:
                return None  # no such campaign: the handler answers 404
            version = found
        query = self.request.url.query
        variant = "|".join(
            (
                "json" if self.wants_json else "html",
                self.lang,
                self.request.url.path + (f"?{query}" if query else ""),
            )
        )
        validator = make_validator(
            version, variant=variant, now=self.now, policy=self.state.cache_policy
        )
        if is_not_modified(self.request.headers, validator):
            raise NotModified(validator, self.state.cache_policy)
        self.validator = validator
        if not reuse:
            return None
        self._answer_key = (validator.etag, str(self.request.base_url))
        kept, self._claimed = self.state.answers.get_or_claim(self._answer_key)
        if kept is None:
            return None
        body, media_type = kept
        return self._cookies(Response(body, 200, media_type=media_type))

    def _keep(self, response: Response) -> Response:
        if self._answer_key is not None and response.status_code == 200:
            self.state.answers.put(self._answer_key, bytes(response.body), str(response.media_type))
            self._claimed = False
        return self._cookies(response)

    def release(self) -> None:
        """Give up this request's claim to render a page others wait for (it ended without it)."""
        if self._claimed and self._answer_key is not None:
            self.state.answers.release(self._answer_key)
            self._claimed = False

    def _cookies(self, response: Response) -> Response:
        if self.validator is not None and response.status_code == 200:
            # A public answer a shared cache may keep: its headers, and never a cookie.
            response.headers.update(headers_for(self.validator, self.state.cache_policy))
            return response
        if self.private:
            response.headers["Cache-Control"] = PRIVATE
        if self._new_csrf:
            response.set_cookie(
                CSRF_COOKIE,
                self.csrf_cookie,
                httponly=True,
                samesite="lax",
                secure=self._secure(),
                path="/",
            )
        return response

    def path_with_lang(self, lang: str) -> str:
        """This page's address in another language."""
        query = {k: v for k, v in self.request.query_params.items() if k != "lang"}
        query["lang"] = lang
        return f"{self.request.url.path}?{urlencode(query)}"

    def player_url(self, video_id: str) -> str | None:
        """The address of the platform's embeddable player for a video (None for a bad id)."""
        if not video_id.isdigit() or len(video_id) > 32:
            return None
        return f"{self.state.player_origin}/embed/v2/{video_id}"

    def template_context(self, extra: Mapping[str, Any]) -> dict[str, Any]:
        """The names every template can use, plus ``extra``."""
        query = {k: v for k, v in self.request.query_params.items() if k != "lang"}
        next_path = self.request.url.path + (f"?{urlencode(query)}" if query else "")
        context: dict[str, Any] = {
            "lang": self.lang,
            "languages": LANGUAGES,
            "language_names": LANGUAGE_NAMES,
            "t": self.t,
            "words": words,
            "user": self.user,
            "csrf_token": self.csrf_token,
            "next_path": next_path,
            "path_with_lang": self.path_with_lang,
            "json_url": None,
            "nav_campaign": None,
            "current": None,
            "now": self.now,
            "player_url": self.player_url,
            # Absolute addresses for pages shared elsewhere (Open Graph wants them).
            "site_url": str(self.request.base_url).rstrip("/"),
        }
        context.update(extra)
        return context

    def respond(
        self,
        template: str,
        data: Any,
        *,
        campaign: Campaign | None = None,
        current: str | None = None,
        status: int = 200,
        twin: bool = True,
        extra: Mapping[str, Any] | None = None,
    ) -> Response:
        """Answer with the page ``template`` showing ``data``, or ``data`` as its JSON twin."""
        if twin and wants_json(self.request):
            return self.json(data, status=status)
        json_url = None
        if twin:
            path = self.request.url.path.rstrip("/") or "/"
            query = self.request.url.query
            json_url = path + ".json" + (f"?{query}" if query else "")
        html = self.state.pages.render(
            template,
            self.template_context(
                {
                    "data": data,
                    "nav_campaign": campaign,
                    "current": current,
                    "json_url": json_url,
                    **(extra or {}),
                }
            ),
        )
        return self._keep(HTMLResponse(html, status))

    @property
    def wants_json(self) -> bool:
        """True when the caller asked for JSON rather than a page."""
        return wants_json(self.request)

    def json(self, data: Any, *, status: int = 200) -> Response:
        """Answer an API call with ``data`` as JSON."""
        body = orjson.dumps(jsonable(data), option=orjson.OPT_NON_STR_KEYS)
        return self._keep(Response(body, status, media_type="application/json"))

    def redirect(self, url: str, *, status: int = 303) -> Response:
        """Send the browser to ``url`` (a path on this site) after a form post."""
        return self._cookies(RedirectResponse(safe_next(url), status_code=status))

    def start_session(self, response: Response, user: User) -> Response:
        """Sign ``user`` in on ``response``, with a fresh CSRF cookie (no fixation)."""
        token = self.state.sessions.dumps({"u": user.id, "e": user.session_epoch})
        response.set_cookie(
            SESSION_COOKIE,
            token,
            max_age=self.state.session_max_age_s,
            httponly=True,
            samesite="lax",
            secure=self._secure(),
            path="/",
        )
        response.set_cookie(
            CSRF_COOKIE,
            new_csrf_cookie(),
            httponly=True,
            samesite="lax",
            secure=self._secure(),
            path="/",
        )
        return response

    def end_session(self, response: Response) -> Response:
        """Sign out on ``response``."""
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response


def _load_user(state: WebState, request: Request) -> User | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    try:
        payload = state.sessions.loads(token, max_age=state.session_max_age_s)
    except BadSignature:
        return None
    if not isinstance(payload, dict) or not isinstance(payload.get("u"), int):
        return None
    with transaction(state.engine) as session:
        user = get_user(session, payload["u"])
    # Signing out bumps the epoch, which ends every older session of that account.
    if user is None or not user.active or user.session_epoch != payload.get("e"):
        return None
    return user


async def _limited(request: Request, purpose: str) -> WebState:
    state = _state(request)
    if state.limiter.is_shared(purpose):  # a short write to the database, off the event loop
        wait = await run_in_threadpool(state.limiter.hit, purpose, _client(request))
    else:
        wait = state.limiter.hit(purpose, _client(request))
    if wait > 0:
        retry = str(max(1, round(wait)))
        raise HTTPException(429, headers={"Retry-After": retry})
    return state


async def _user(state: WebState, request: Request) -> User | None:
    # Anonymous readers (most of them) cost no database query and no thread.
    if SESSION_COOKIE not in request.cookies:
        return None
    return await run_in_threadpool(_load_user, state, request)


async def page_ctx(request: Request) -> AsyncIterator[Ctx]:
    """A public page's context, counted against the client's page rate limit."""
    state = await _limited(request, "page")
    ctx = Ctx(state, request, user=await _user(state, request))
    try:
        yield ctx
    finally:
        ctx.release()  # a page that failed before it was rendered: others stop waiting for it


def limited_ctx(purpose: str) -> Callable[[Request], Awaitable[Ctx]]:
    """A dependency like :func:`page_ctx` with its own rate limit (``check``, ``submit``…)."""

    async def dependency(request: Request) -> Ctx:
        state = await _limited(request, purpose)
        return Ctx(state, request, user=await _user(state, request))

    return dependency


def _role_ctx(roles: frozenset[str]) -> Callable[[Request], Awaitable[Ctx]]:
    async def dependency(request: Request) -> Ctx:
        state = _state(request)
        user = await _user(state, request)
        if user is None:
            raise HTTPException(401)
        if user.role not in roles:
            raise HTTPException(403)
        return Ctx(state, request, user=user)

    return dependency


staff_ctx = _role_ctx(STAFF_ROLES)
"""Signed in as an organizer or a moderator."""
organizer_ctx = _role_ctx(frozenset({"organizer"}))
"""Signed in as an organizer."""
juror_ctx = _role_ctx(frozenset({"juror"}))
"""Signed in as a juror."""


async def csrf_protected(request: Request) -> None:
    """Refuse a state-changing request whose CSRF token does not match the browser's cookie."""
    token = request.headers.get(CSRF_HEADER)
    if token is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        value = form.get("csrf_token")
        token = value if isinstance(value, str) else None
    if not csrf_valid(_state(request).secret, request.cookies.get(CSRF_COOKIE), token):
        raise HTTPException(403, detail="csrf")


def error_response(
    state: WebState,
    request: Request,
    status: int,
    *,
    detail: Any = None,
    headers: Mapping[str, str] | None = None,
    explained: bool = False,
) -> Response:
    """The error page (or JSON) for ``status``; a 401 on a page sends the browser to log in.

    ``explained``: ``detail`` is the library's own message naming what is wrong (an
    :class:`~oyren.errors.OyrenError`), shown as it is.
    """
    ctx = Ctx(state, request)
    t = ctx.t
    if status == 401 and not wants_json(request):
        target = safe_next(
            request.url.path + (f"?{request.url.query}" if request.url.query else "")
        )
        return ctx.redirect("/login?" + urlencode({"next": target}))
    titles = {
        400: t.gettext("That request could not be understood"),
        401: t.gettext("Please log in"),
        403: t.gettext("Not allowed"),
        404: t.gettext("Page not found"),
        405: t.gettext("Not allowed"),
        429: t.gettext("Too many requests"),
        500: t.gettext("Something went wrong on our side"),
    }
    messages = {
        400: t.gettext("Check what you entered and try again."),
        401: t.gettext("This page is for the contest's organizers. Please log in."),
        403: t.gettext("Your account may not do this."),
        404: t.gettext("There is nothing at this address. It may have moved."),
        405: t.gettext("This address does not accept that kind of request."),
        429: t.gettext("You have sent many requests in a short time."),
        500: t.gettext("The error has been logged. Please try again in a moment."),
    }
    if status == 403 and detail == "csrf":
        message = t.gettext(
            "The form had expired or did not come from this site. Go back, reload the page "
            "and send it again."
        )
    elif (
        status in (400, 403, 404)
        and isinstance(detail, str)
        and detail
        and detail != HTTPStatus(status).phrase  # Starlette's default, not our words
    ):
        message = detail  # our own message naming what is wrong, shown as text
    else:
        message = messages.get(status, "")
    title = titles.get(status) or HTTPStatus(status).phrase
    retry = (headers or {}).get("Retry-After")
    error = {
        "status": status,
        "title": title,
        "message": message,
        "retry_after": int(retry) if retry else None,
    }
    if wants_json(request):
        response: Response = Response(
            orjson.dumps({"error": error}), status, media_type="application/json"
        )
    else:
        html = state.pages.render("error.html", ctx.template_context({"error": error}))
        response = HTMLResponse(html, status)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def add_page(
    router: APIRouter, path: str, *, tags: list[str | Enum]
) -> Callable[[Endpoint], Endpoint]:
    """Register a GET page at ``path`` and its JSON twin at ``path + '.json'``.

    Both run the same handler; :meth:`Ctx.respond` picks the form. Only the twin is listed in
    the OpenAPI description, since it is the API.
    """

    def register(endpoint: Endpoint) -> Endpoint:
        # The twin first: '/campaigns/{id}' would otherwise take 'x.json' as an id.
        router.add_api_route(
            path.rstrip("/") + ".json",
            endpoint,
            methods=["GET"],
            name=f"{endpoint.__name__}_json",
            tags=tags,
        )
        router.add_api_route(
            path,
            endpoint,
            methods=["GET"],
            name=endpoint.__name__,
            include_in_schema=False,
            response_class=HTMLResponse,
        )
        return endpoint

    return register
