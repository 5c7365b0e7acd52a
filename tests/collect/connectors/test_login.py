"""Login Kit: the authorize link, code exchange with PKCE, refresh and revoke, and each refusal."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from authlib.oauth2.rfc7636 import create_s256_code_challenge  # type: ignore[import-untyped]

from oyren.clock import VirtualClock
from oyren.collect.connectors.login import (
    SCOPES,
    Backoff,
    GrantInvalid,
    LoginClient,
    LoginRefused,
    LoginSettings,
    authorize_url,
    login_settings,
    new_pkce,
    new_state,
)
from oyren.errors import ApiUnavailable, ConnectorError
from oyren.rules.campaign import Campaign
from oyren.sandbox.api import SandboxConfig
from oyren.sandbox.login import LoginConfig, open_id_of
from tests.creatorsupport import LOGIN, authorize, sandbox_box

DAY = 86400
NOW = 1_713_729_599
Handler = Callable[[httpx.Request], httpx.Response]
TOKENS = {
    "open_id": "o1",
    "scope": "user.info.basic,video.list",
    "access_token": "act.1",
    "expires_in": 7200,
    "refresh_token": "rft.1",
    "refresh_expires_in": "15552000",
    "token_type": "Bearer",
}


@pytest.fixture
def client_for() -> Iterator[Callable[[Handler], LoginClient]]:
    clients: list[httpx.Client] = []

    def make(handler: Handler) -> LoginClient:
        http = httpx.Client(transport=httpx.MockTransport(handler))
        clients.append(http)
        backoff = Backoff(tries=2, first_wait_s=1.0)
        return LoginClient(http, LOGIN, clock=VirtualClock(NOW), backoff=backoff)

    yield make
    for http in clients:
        http.close()


def test_a_code_is_exchanged_once_with_its_pkce_verifier_and_lifetimes_come_from_the_answer(
    sandbox: Campaign,
) -> None:
    config = SandboxConfig(
        login=LoginConfig(access_lifetime_s=3 * 3600, refresh_lifetime_s=90 * DAY)
    )
    with sandbox_box(sandbox, config) as box:
        code, _, verifier = authorize(box, "lala.learns")
        with pytest.raises(LoginRefused, match="Code verifier"):
            box.login.exchange(code, "not-the-verifier-" * 3)
        code, _, verifier = authorize(box, "lala.learns")
        tokens = box.login.exchange(code, verifier)
        now = int(box.clock.now())
        assert tokens.expires_at == now + 3 * 3600
        assert tokens.refresh_expires_at == now + 90 * DAY
        assert tokens.open_id == open_id_of("lala.learns")
        with pytest.raises(GrantInvalid):  # replayed code
            box.login.exchange(code, verifier)
        info = box.display.user_info(tokens.access_token)
        assert (info.username, info.open_id) == ("lala.learns", tokens.open_id)


def test_the_authorize_link_asks_only_for_our_scopes_with_state_and_an_s256_challenge() -> None:
    pkce, state = new_pkce(), new_state()
    assert len(pkce.verifier) == 64 and len(state) == 40 and new_state() != state
    assert pkce.challenge == create_s256_code_challenge(pkce.verifier)
    assert pkce.verifier not in repr(pkce)
    url = urlsplit(authorize_url(LOGIN, state=state, pkce=pkce))
    query = {k: v[0] for k, v in parse_qs(url.query).items()}
    assert f"{url.scheme}://{url.netloc}{url.path}" == LOGIN.auth_url
    assert query == {
        "client_key": LOGIN.client_key,
        "scope": ",".join(SCOPES),
        "response_type": "code",
        "redirect_uri": LOGIN.redirect_uri,
        "state": state,
        "code_challenge": pkce.challenge,
        "code_challenge_method": "S256",
    }
    assert pkce.verifier not in authorize_url(LOGIN, state=state, pkce=pkce)


def test_login_settings_come_from_the_environment_with_both_credentials() -> None:
    assert login_settings(public_url="https://oyren.az", environ={}) is None
    settings = login_settings(
        public_url="https://oyren.az/",
        environ={"TIKTOK_LOGIN_CLIENT_KEY": " k ", "TIKTOK_LOGIN_CLIENT_SECRET": "s"},
    )
    assert settings == LoginSettings("k", "s", "https://oyren.az/creators/callback")
    assert "client_secret" not in repr(settings)
    with pytest.raises(ConnectorError, match="TIKTOK_LOGIN_CLIENT_SECRET"):
        login_settings(public_url="x", environ={"TIKTOK_LOGIN_CLIENT_KEY": "k"})
    with pytest.raises(ConnectorError, match="TIKTOK_LOGIN_CLIENT_KEY"):
        login_settings(public_url="x", environ={"TIKTOK_LOGIN_CLIENT_SECRET": "s"})


def test_an_exchange_sends_our_credentials_as_a_form_and_reads_lifetimes_from_the_answer(
    client_for: Callable[[Handler], LoginClient],
) -> None:
    sent: list[dict[str, list[str]]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/v2/oauth/token/"
        assert request.headers["content-type"] == "application/x-www-form-urlencoded"
        sent.append(parse_qs(request.content.decode()))
        return httpx.Response(200, json=TOKENS)

    tokens = client_for(handler).exchange("code-1", "verifier-1")
    assert sent == [{
        "client_key": [LOGIN.client_key], "client_secret": [LOGIN.client_secret],
        "grant_type": ["authorization_code"], "code": ["code-1"],
        "redirect_uri": [LOGIN.redirect_uri], "code_verifier": ["verifier-1"],
    }]  # fmt: skip
    assert (tokens.open_id, tokens.access_token, tokens.refresh_token) == ("o1", "act.1", "rft.1")
    assert tokens.scope == ("user.info.basic", "video.list")
    assert (tokens.expires_at, tokens.refresh_expires_at) == (NOW + 7200, NOW + 15552000)
    assert "act.1" not in repr(tokens) and "rft.1" not in repr(tokens)


@pytest.mark.parametrize(
    ("answer", "error", "message"),
    [
        (httpx.Response(400, json={"error": "invalid_grant"}), GrantInvalid, "invalid_grant"),
        (
            httpx.Response(401, json={"error": "invalid_client", "error_description": "bad"}),
            LoginRefused,
            "invalid_client: bad",
        ),
        (httpx.Response(200, json={**TOKENS, "error": "invalid_request"}), LoginRefused, "token"),
        (httpx.Response(200, text="<html>login</html>"), ApiUnavailable, "not JSON"),
        (httpx.Response(200, json={**TOKENS, "access_token": ""}), ApiUnavailable, "access_token"),
        (httpx.Response(200, json={**TOKENS, "expires_in": -5}), ApiUnavailable, "expires_in"),
        (httpx.Response(200, json={**TOKENS, "expires_in": True}), ApiUnavailable, "expires_in"),
        (
            httpx.Response(200, json={**TOKENS, "refresh_token": "r" * 4097}),
            ApiUnavailable,
            "refresh_token",
        ),
        (httpx.Response(503), ApiUnavailable, "2 tries"),
    ],
)
def test_a_refused_or_malformed_token_answer_is_told_by_its_own_error(
    client_for: Callable[[Handler], LoginClient],
    answer: httpx.Response,
    error: type[Exception],
    message: str,
) -> None:
    with pytest.raises(error, match=message):
        client_for(lambda r: answer).refresh("rft.1")


def test_revoking_a_token_tiktok_no_longer_knows_is_not_an_error(
    client_for: Callable[[Handler], LoginClient],
) -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(parse_qs(request.content.decode())["token"][0])
        return httpx.Response(400, json={"error": "invalid_grant"})

    client_for(handler).revoke("act.gone")
    assert seen == ["act.gone"]
    with pytest.raises(LoginRefused, match="revoke"):
        client_for(lambda r: httpx.Response(401, json={"error": "invalid_client"})).revoke("a")
