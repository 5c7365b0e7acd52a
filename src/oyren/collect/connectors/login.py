"""TikTok Login Kit: the creator's consent, as OAuth 2.0 with state and PKCE.

A creator is sent to TikTok's authorize page (:func:`authorize_url`) with a random ``state``
and an S256 PKCE challenge; TikTok sends them back to our redirect URI with a one-time ``code``,
which :class:`LoginClient` exchanges at ``POST /v2/oauth/token/`` for an access token and a
refresh token. TikTok spells the client id ``client_key`` and sends form-encoded requests, so the
requests are built here on an injected :class:`httpx.Client`; state and PKCE values come from
Authlib's generators.

Lifetimes are read from each answer (``expires_in``, ``refresh_expires_in``), never assumed:
TikTok's documents have said 24 hours and 365 days, and later 2 hours and 180 days. A refresh may
return a new refresh token that replaces the old one (the old one stops working), so the caller
must store what :meth:`LoginClient.refresh` returns in the same transaction as its use.

Errors are typed: :class:`GrantInvalid` (a code used twice or expired, a refresh token revoked or
expired: the creator must sign in again), :class:`LoginRefused` (our own credentials or request
are wrong), :class:`RateLimited` (429 after the back-off), and
:class:`~oyren.errors.ApiUnavailable` (5xx and network failures through every retry).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import httpx
from authlib.common.security import generate_token  # type: ignore[import-untyped]
from authlib.oauth2.rfc7636 import create_s256_code_challenge  # type: ignore[import-untyped]

from oyren.clock import Clock, SystemClock
from oyren.collect.connectors.answers import json_object, retry_after
from oyren.errors import ApiUnavailable, ConnectorError
from oyren.store.tokens import TokenSet

__all__ = [
    "DEFAULT_AUTH_URL",
    "SCOPES",
    "GrantInvalid",
    "LoginClient",
    "LoginRefused",
    "LoginSettings",
    "Pkce",
    "RateLimited",
    "TokenSet",
    "authorize_url",
    "login_settings",
    "new_pkce",
    "new_state",
]

DEFAULT_AUTH_URL = "https://www.tiktok.com/v2/auth/authorize/"
TOKEN_PATH = "/v2/oauth/token/"
REVOKE_PATH = "/v2/oauth/revoke/"
# What Öyrən asks a creator for: who they are, their username, their public videos. Nothing else.
SCOPES = ("user.info.basic", "user.info.profile", "video.list")
CALLBACK_PATH = "/creators/callback"


class GrantInvalid(ConnectorError):
    """TikTok refused a code or refresh token: used, expired or revoked. Sign in again."""

    def __init__(self, message: str, *, code: str) -> None:
        self.code = code
        super().__init__(message)


class LoginRefused(ConnectorError):
    """TikTok refused our own request: wrong client key or secret, redirect URI, scopes."""


class RateLimited(ConnectorError):
    """TikTok kept answering 429 ``rate_limit_exceeded`` through every back-off."""


@dataclass(frozen=True, slots=True)
class LoginSettings:
    """The Login Kit app's credentials and where TikTok and this site are."""

    client_key: str
    client_secret: str = field(repr=False)
    redirect_uri: str
    auth_url: str = DEFAULT_AUTH_URL
    api_base: str = "https://open.tiktokapis.com"
    oembed_url: str = "https://www.tiktok.com/oembed"


def login_settings(
    *,
    public_url: str,
    auth_url: str = DEFAULT_AUTH_URL,
    api_base: str = "https://open.tiktokapis.com",
    oembed_url: str = "https://www.tiktok.com/oembed",
    environ: Mapping[str, str] | None = None,
) -> LoginSettings | None:
    """The Login Kit settings, or None when ``TIKTOK_LOGIN_CLIENT_KEY``/``_SECRET`` are unset.

    The credentials are read from the environment only, never from a settings file.
    """
    env = os.environ if environ is None else environ
    key = env.get("TIKTOK_LOGIN_CLIENT_KEY", "").strip()
    secret = env.get("TIKTOK_LOGIN_CLIENT_SECRET", "").strip()
    if not key and not secret:
        return None
    if not key or not secret:
        missing = "TIKTOK_LOGIN_CLIENT_KEY" if not key else "TIKTOK_LOGIN_CLIENT_SECRET"
        raise ConnectorError(f"{missing} is not set: give both the Login Kit key and secret")
    return LoginSettings(
        client_key=key,
        client_secret=secret,
        redirect_uri=public_url.rstrip("/") + CALLBACK_PATH,
        auth_url=auth_url,
        api_base=api_base.rstrip("/"),
        oembed_url=oembed_url,
    )


@dataclass(frozen=True, slots=True)
class Pkce:
    """A PKCE pair: the verifier we keep, the challenge we send."""

    verifier: str = field(repr=False)
    challenge: str


def new_pkce() -> Pkce:
    """A fresh PKCE verifier (64 characters of the RFC 7636 alphabet) and its S256 challenge."""
    verifier = str(generate_token(64))
    return Pkce(verifier, str(create_s256_code_challenge(verifier)))


def new_state() -> str:
    """A fresh, unguessable ``state`` value."""
    return str(generate_token(40))


def authorize_url(settings: LoginSettings, *, state: str, pkce: Pkce) -> str:
    """Where to send the creator to consent."""
    query = {
        "client_key": settings.client_key,
        "scope": ",".join(SCOPES),
        "response_type": "code",
        "redirect_uri": settings.redirect_uri,
        "state": state,
        "code_challenge": pkce.challenge,
        "code_challenge_method": "S256",
    }
    return f"{settings.auth_url}?{urlencode(query)}"


@dataclass(frozen=True, slots=True)
class Backoff:
    """How long to keep trying: 429s wait ``Retry-After`` or doubling waits; 5xx the same."""

    tries: int = 6
    first_wait_s: float = 2.0
    max_wait_s: float = 60.0


def send(
    http: httpx.Client,
    clock: Clock,
    backoff: Backoff,
    method: str,
    url: str,
    **kwargs: Any,
) -> httpx.Response:
    """Send a request, waiting out 429s and retrying 5xx and network errors.

    Returns the first answer that is neither; raises :class:`RateLimited` or
    :class:`~oyren.errors.ApiUnavailable` when every try failed.
    """
    wait = backoff.first_wait_s
    last = ""
    limited = False
    for attempt in range(backoff.tries):
        if attempt:
            clock.sleep(wait)
            wait = min(wait * 2, backoff.max_wait_s)
        try:
            response = http.request(method, url, **kwargs)
        except httpx.TransportError as exc:
            last, limited = f"{type(exc).__name__}: {exc}", False
            continue
        if response.status_code == 429:
            limited = True
            last = "429 rate_limit_exceeded"
            after = retry_after(response.headers.get("retry-after"))
            if after is not None:
                wait = min(after, backoff.max_wait_s)
            continue
        if response.status_code >= 500:
            last, limited = f"HTTP {response.status_code}", False
            continue
        return response
    if limited:
        raise RateLimited(
            f"TikTok kept answering 429 rate_limit_exceeded after {backoff.tries} tries; "
            "the per-minute limit is spent, try again in a minute"
        )
    raise ApiUnavailable(f"TikTok did not answer after {backoff.tries} tries ({last})")


class LoginClient:
    """Exchanges codes, refreshes and revokes tokens at TikTok's OAuth endpoints."""

    def __init__(
        self,
        http: httpx.Client,
        settings: LoginSettings,
        *,
        clock: Clock | None = None,
        backoff: Backoff | None = None,
    ) -> None:
        self.http = http
        self.settings = settings
        self.clock = clock or SystemClock()
        self.backoff = backoff or Backoff()

    def exchange(self, code: str, pkce_verifier: str) -> TokenSet:
        """Trade a one-time authorization code for the creator's tokens."""
        return self._token(
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": self.settings.redirect_uri,
                "code_verifier": pkce_verifier,
            }
        )

    def refresh(self, refresh_token: str) -> TokenSet:
        """A new access token (and maybe a new refresh token, which replaces the old one)."""
        return self._token({"grant_type": "refresh_token", "refresh_token": refresh_token})

    def revoke(self, access_token: str) -> None:
        """End the creator's grant at TikTok. A token TikTok no longer knows counts as revoked."""
        response = send(
            self.http,
            self.clock,
            self.backoff,
            "POST",
            self.settings.api_base + REVOKE_PATH,
            data={
                "client_key": self.settings.client_key,
                "client_secret": self.settings.client_secret,
                "token": access_token,
            },
        )
        body = json_object(response) or {}
        error = body.get("error")
        if response.status_code == 200 and (not error or error == "ok"):
            return
        if error in ("invalid_grant", "access_token_invalid", "invalid_token"):
            return  # already gone
        raise LoginRefused(f"TikTok refused to revoke the token: {_describe(response, body)}")

    def _token(self, form: dict[str, str]) -> TokenSet:
        now = int(self.clock.now())
        response = send(
            self.http,
            self.clock,
            self.backoff,
            "POST",
            self.settings.api_base + TOKEN_PATH,
            data={
                "client_key": self.settings.client_key,
                "client_secret": self.settings.client_secret,
                **form,
            },
            headers={"Cache-Control": "no-cache"},
        )
        body = json_object(response)
        if body is None:
            raise ApiUnavailable(
                f"TikTok's token endpoint answered {response.status_code}, not JSON"
            )
        error = body.get("error")
        if response.status_code != 200 or (error and error != "ok"):
            if error == "invalid_grant":
                raise GrantInvalid(
                    f"TikTok refused the grant: {_describe(response, body)}", code=str(error)
                )
            raise LoginRefused(f"TikTok refused the token request: {_describe(response, body)}")
        return _token_set(body, now)


def _token_set(body: dict[str, Any], now: int) -> TokenSet:
    def text(key: str) -> str:
        value = body.get(key)
        if not isinstance(value, str) or not value or len(value) > 4096:
            raise ApiUnavailable(f"TikTok's token answer has no valid '{key}'")
        return value

    def seconds(key: str) -> int:
        value = body.get(key)
        if isinstance(value, str) and value.isdigit():
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            raise ApiUnavailable(f"TikTok's token answer has no valid '{key}'")
        return value

    scope = body.get("scope", "")
    return TokenSet(
        open_id=text("open_id"),
        scope=tuple(s for s in str(scope).split(",") if s),
        access_token=text("access_token"),
        expires_at=now + seconds("expires_in"),
        refresh_token=text("refresh_token"),
        refresh_expires_at=now + seconds("refresh_expires_in"),
    )


def _describe(response: httpx.Response, body: dict[str, Any]) -> str:
    error = body.get("error")
    if isinstance(error, dict):  # the Display API's envelope
        return f"HTTP {response.status_code} {error.get('code')}: {error.get('message', '')}"
    description = str(body.get("error_description", ""))[:200]
    return f"HTTP {response.status_code} {error}: {description}".rstrip(": ")
