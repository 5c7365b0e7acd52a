"""The sandbox's Login Kit and Display API: the authorize page, tokens, limits and grants."""

from __future__ import annotations

import dataclasses
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

from oyren.collect.connectors.display import DisplayClient
from oyren.collect.connectors.login import (
    GrantInvalid,
    LoginClient,
    LoginRefused,
    authorize_url,
    new_pkce,
    new_state,
)
from oyren.rules.campaign import Campaign
from oyren.sandbox.api import SandboxConfig
from oyren.sandbox.login import CODE_TTL_S, LoginConfig, open_id_of
from tests.creatorsupport import FAST, LOGIN, Sandbox, authorize, sandbox_box

AUTHORIZE = "http://sandbox/v2/auth/authorize/"


def _form(**overrides: str) -> dict[str, str]:
    url = urlsplit(authorize_url(LOGIN, state="st-1", pkce=new_pkce()))
    form = {k: v[0] for k, v in parse_qs(url.query).items()}
    form.update(overrides)
    return form


def _post(box: Sandbox, form: dict[str, str]) -> httpx.Response:
    return box.http.post(
        AUTHORIZE,
        content=urlencode(form),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )


def test_the_sandbox_per_minute_limit_answers_429_and_the_client_waits_it_out(
    sandbox: Campaign,
) -> None:
    config = SandboxConfig(login=LoginConfig(per_minute=2))
    with sandbox_box(sandbox, config) as box:
        code, _, verifier = authorize(box, "samir.explains")
        token = box.login.exchange(code, verifier).access_token
        display = DisplayClient(box.http, "http://sandbox", clock=box.clock)  # default back-off
        start = box.clock.now()
        for _ in range(3):
            assert len(display.query(token, ["7399000000000000004"])) == 1
        assert box.api.login.stats["429"] >= 1
        assert box.clock.now() > start  # the third request waited for the next minute


def test_the_authorize_page_lists_the_scopes_and_creators_and_escapes_what_it_echoes(
    sandbox: Campaign,
) -> None:
    with sandbox_box(sandbox) as box:
        hostile = '"><script>alert(1)</script>'
        page = box.http.get(AUTHORIZE, params=_form(state=hostile))
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        for scope in ("user.info.basic", "user.info.profile", "video.list"):
            assert f"<li>{scope}</li>" in page.text
        assert "@lala.learns" in page.text and "@samir.explains" in page.text
        assert "<script>" not in page.text and "&lt;script&gt;" in page.text


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"client_key": "someone-else"}, "Unknown client_key"),
        ({"redirect_uri": "javascript:alert(1)"}, "redirect_uri"),
        ({"redirect_uri": "https://oyren.test/cb?next=evil"}, "redirect_uri"),
        ({"response_type": "token"}, "response_type"),
        ({"username": "<b>nobody</b>", "decision": "allow"}, "No sandbox creator @&lt;b&gt;"),
    ],
)
def test_a_bad_authorize_request_gets_a_clear_page_and_no_code(
    sandbox: Campaign, overrides: dict[str, str], message: str
) -> None:
    with sandbox_box(sandbox) as box:
        answer = _post(box, _form(**overrides))
        assert answer.status_code == 400 and message in answer.text
        assert "location" not in answer.headers and box.api.login.stats["authorized"] == 0


def test_a_creator_who_cancels_is_sent_back_with_access_denied_and_the_state(
    sandbox: Campaign,
) -> None:
    with sandbox_box(sandbox) as box:
        answer = _post(box, _form(username="lala.learns", decision="deny"))
        assert answer.status_code == 302
        back = urlsplit(answer.headers["location"])
        assert f"{back.scheme}://{back.netloc}{back.path}" == LOGIN.redirect_uri
        query = parse_qs(back.query)
        assert query["error"] == ["access_denied"] and query["state"] == ["st-1"]
        assert "code" not in query


def test_the_token_endpoint_checks_the_secret_the_redirect_and_the_code_s_age(
    sandbox: Campaign,
) -> None:
    with sandbox_box(sandbox) as box:
        code, _, verifier = authorize(box, "lala.learns")
        settings = dataclasses.replace(LOGIN, client_secret="not-the-secret")
        wrong = LoginClient(box.http, settings, clock=box.clock, backoff=FAST)
        with pytest.raises(LoginRefused, match="invalid_client"):
            wrong.exchange(code, verifier)
        code, _, verifier = authorize(box, "lala.learns")
        settings = dataclasses.replace(LOGIN, redirect_uri="https://elsewhere.test/cb")
        elsewhere = LoginClient(box.http, settings, clock=box.clock, backoff=FAST)
        with pytest.raises(LoginRefused, match="redirect_uri"):
            elsewhere.exchange(code, verifier)
        code, _, verifier = authorize(box, "lala.learns")
        box.clock.sleep(CODE_TTL_S)
        with pytest.raises(GrantInvalid, match="expired"):
            box.login.exchange(code, verifier)


def test_a_refresh_without_rotation_keeps_the_refresh_token_and_revoking_ends_both(
    sandbox: Campaign,
) -> None:
    config = SandboxConfig(login=LoginConfig(rotate_refresh=False))
    with sandbox_box(sandbox, config) as box:
        code, _, verifier = authorize(box, "samir.explains")
        first = box.login.exchange(code, verifier)
        box.clock.sleep(60)
        second = box.login.refresh(first.refresh_token)
        assert second.refresh_token == first.refresh_token
        assert second.access_token != first.access_token
        assert second.refresh_expires_at == first.refresh_expires_at  # the same grant's end
        assert box.display.user_info(first.access_token).open_id == open_id_of("samir.explains")
        box.login.revoke(second.access_token)
        with pytest.raises(GrantInvalid):
            box.login.refresh(first.refresh_token)
        assert box.api.login.stats["revoked"] == 1


def test_a_token_without_the_video_scope_cannot_list_videos(sandbox: Campaign) -> None:
    with sandbox_box(sandbox) as box:
        pkce, state = new_pkce(), new_state()
        form = {k: v[0] for k, v in parse_qs(urlsplit(authorize_url(LOGIN, state=state,
                pkce=pkce)).query).items()}  # fmt: skip
        form.update(scope="user.info.basic", username="lala.learns", decision="allow")
        answer = _post(box, form)
        code = parse_qs(urlsplit(answer.headers["location"]).query)["code"][0]
        tokens = box.login.exchange(code, pkce.verifier)
        assert tokens.scope == ("user.info.basic",)
        info = box.display.user_info(tokens.access_token)
        assert info.open_id == open_id_of("lala.learns") and info.username == ""
        listed = box.http.post(
            "http://sandbox/v2/video/list/",
            headers={"authorization": f"Bearer {tokens.access_token}"},
            json={"max_count": 5},
        )
        assert listed.json()["error"]["code"] == "scope_not_authorized"


def test_oembed_and_covers_point_at_the_sandboxs_own_expiring_images(sandbox: Campaign) -> None:
    from oyren.inputs.images import read_image
    from oyren.sandbox.login import THUMB_TTL_S, thumbnail_png

    with sandbox_box(sandbox) as box:
        now = int(box.clock.now())
        answer = box.http.get(
            "http://sandbox/oembed",
            params={"url": "https://www.tiktok.com/@samir.explains/video/7399000000000000004"},
        ).json()
        url = answer["thumbnail_url"]
        assert url.startswith("http://sandbox/thumbs/7399000000000000004.png?x-expires=")
        assert int(parse_qs(urlsplit(url).query)["x-expires"][0]) == now + THUMB_TTL_S
        image = box.http.get(url)
        assert image.headers["content-type"] == "image/png"
        assert image.content == thumbnail_png("7399000000000000004")
        assert read_image(image.content).width == 72
        assert thumbnail_png("1") != thumbnail_png("2")  # each video its own colours
        code, _, verifier = authorize(box, "samir.explains")
        token = box.login.exchange(code, verifier).access_token
        display = DisplayClient(box.http, "http://sandbox", clock=box.clock)
        cover = display.query(token, ["7399000000000000004"])[0].cover_image_url
        assert cover is not None and cover.startswith("http://sandbox/thumbs/7399000000000000004")
        expired = url.replace(f"x-expires={now + THUMB_TTL_S}", f"x-expires={now - 1}")
        assert box.http.get(expired).status_code == 403
        assert box.http.get("http://sandbox/thumbs/123.png?x-expires=9999999999").status_code == 404
        assert box.http.get("http://sandbox/thumbs/abc.svg").status_code == 404
