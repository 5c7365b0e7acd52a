"""Creators taking part on the site: consent, sign in with TikTok (sandbox), entries, withdrawal.

The app talks to the sandbox Login Kit and Display API in process; the browser's side of the
authorize page is played by posting the sandbox's form. Every hostile request ends with a clear
answer and nothing stored.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterator
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from sqlalchemy import Engine, func, select

from oyren.clock import VirtualClock
from oyren.collect.connectors.login import LoginSettings
from oyren.rules.campaign import Campaign
from oyren.sandbox.api import SandboxAPI
from oyren.sandbox.login import SANDBOX_LOGIN_KEY, SANDBOX_LOGIN_SECRET, creator_videos
from oyren.store.db import transaction
from oyren.store.models import (
    CreatorEntryRow,
    CreatorParticipationRow,
    CreatorRow,
    CreatorTokenRow,
    CreatorWithdrawalRow,
)
from oyren.web.creators import CreatorServices
from tests.creatorsupport import cipher
from tests.web.conftest import Clock, csrf_of

BASE = "/campaigns/sandbox-2024"
TAGGED, CUT, UNTAGGED, SAMIR = (f"739900000000000000{i}" for i in (1, 2, 3, 4))


@pytest.fixture
def api(sandbox: Campaign) -> SandboxAPI:
    return SandboxAPI(creator_videos(sandbox), VirtualClock(sandbox.window_start_ts + 20 * 86400))


@pytest.fixture
def services(api: SandboxAPI) -> Iterator[CreatorServices]:
    login = LoginSettings(
        client_key=SANDBOX_LOGIN_KEY,
        client_secret=SANDBOX_LOGIN_SECRET,
        redirect_uri="http://testserver/creators/callback",
        auth_url="http://sandbox/v2/auth/authorize/",
        api_base="http://sandbox",
        oembed_url="http://sandbox/oembed",
    )
    with httpx.Client(transport=api.transport()) as http:
        yield CreatorServices(login, cipher(), http)


@pytest.fixture
def during(sandbox: Campaign) -> Clock:
    return Clock(float(sandbox.window_start_ts + 20 * 86400))


@pytest.fixture
def visitor(
    make_client: Callable[..., httpx.Client], services: CreatorServices, during: Clock
) -> Iterator[httpx.Client]:
    with make_client(creators=services, clock=during) as c:
        yield c


def _consent(client: httpx.Client, **overrides: str) -> httpx.Response:
    form = {
        "rules": "yes",
        "age": "adult",
        "region": "AZ",
        "csrf_token": csrf_of(client, f"{BASE}/take-part"),
    }
    form.update(overrides)
    lang = form.pop("lang", "en")
    return client.post(f"{BASE}/take-part?lang={lang}", data=form)


def _authorize(
    api: SandboxAPI, page: httpx.Response, username: str, decision: str = "allow"
) -> str:
    match = re.search(r'id="to-tiktok" href="([^"]+)"', page.text)
    assert match is not None, page.text
    url = urlsplit(html.unescape(match.group(1)))
    form = {k: v[0] for k, v in parse_qs(url.query).items()}
    form.update(username=username, decision=decision)
    with httpx.Client(transport=api.transport()) as http:
        answer = http.post(
            "http://sandbox" + url.path, content=urlencode(form),
            headers={"content-type": "application/x-www-form-urlencoded"},
        )  # fmt: skip
    assert answer.status_code == 302
    back = urlsplit(answer.headers["location"])
    return f"{back.path}?{back.query}"


def _sign_in(
    client: httpx.Client, api: SandboxAPI, username: str = "lala.learns", **consent: str
) -> str:
    page = _consent(client, **consent)
    assert page.status_code == 200, page.text
    callback = _authorize(api, page, username)
    answer = client.get(callback)
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == f"{BASE}/me/videos"
    return callback


def _count(engine: Engine, table: type) -> int:
    with transaction(engine) as session:
        return int(session.scalar(select(func.count()).select_from(table)) or 0)


def _nothing_stored(engine: Engine) -> None:
    assert [
        _count(engine, t)
        for t in (CreatorRow, CreatorTokenRow, CreatorEntryRow, CreatorParticipationRow)
    ] == [0, 0, 0, 0]


def test_take_part_page_says_what_is_read_and_never_done_in_both_languages(
    visitor: httpx.Client,
) -> None:
    en = visitor.get(f"{BASE}/take-part?lang=en")
    assert en.status_code == 200
    for text in ("What Öyrən will read", "never", "password", "withdraw", "Under 18"):
        assert text in en.text
    az = visitor.get(f"{BASE}/take-part?lang=az")
    assert "Öyrən nəyi oxuyacaq" in az.text and "18-dən az" in az.text
    assert f'href="{BASE}/take-part"' in visitor.get(BASE).text


def test_a_minor_takes_part_with_a_guardian_picks_two_videos_and_erases_everything(
    visitor: httpx.Client, api: SandboxAPI, sandbox_db: Engine
) -> None:
    _sign_in(visitor, api, age="minor", guardian_name="Aynur Məmmədova",
             guardian_contact="+994 50 123 45 67", guardian_consent="yes")  # fmt: skip
    videos = visitor.get(f"{BASE}/me/videos?lang=en")
    assert videos.status_code == 200
    text = videos.text
    assert "Carries the contest hashtag" in text and "Caption cut short" in text
    assert "Does not carry the contest hashtag" in text
    token = csrf_of(visitor, f"{BASE}/me/videos")
    picks = {"video": [TAGGED, CUT], "claim": [CUT], "csrf_token": token}
    answer = visitor.post(f"{BASE}/me/entries", data=picks)
    assert answer.status_code == 303, answer.text
    with transaction(sandbox_db) as session:
        entries = {
            r.video_id: (r.hashtag, r.tag_claimed) for r in session.scalars(select(CreatorEntryRow))
        }
        joined = session.scalars(select(CreatorParticipationRow)).one()
        assert (joined.minor, joined.guardian_name) == (True, "Aynur Məmmədova")
        assert joined.guardian_contact == "+994 50 123 45 67" and joined.guardian_consent_at
    assert entries == {TAGGED: ("present", False), CUT: ("cut", True)}
    # The covers' addresses are kept, with their expiry, for the thumbnails to be fetched.
    from oyren.store.models import ThumbnailRow

    with transaction(sandbox_db) as session:
        covers = {r.video_id: r for r in session.scalars(select(ThumbnailRow))}
    assert set(covers) == {TAGGED, CUT}
    assert all(r.source == "display_api" and "/thumbs/" in (r.url or "") for r in covers.values())
    assert all(r.url_expires_at and r.url_expires_at > r.checked_at for r in covers.values())
    page = visitor.get(f"{BASE}/me?lang=en")
    assert page.status_code == 200
    assert "a moderator will check" in page.text and "guardian" in page.text
    assert "Withdraw and delete my data" in page.text
    # The public never sees the guardian.
    assert "Aynur" not in visitor.get(f"{BASE}/check?q=@lala.learns").text
    token = csrf_of(visitor, f"{BASE}/me")
    answer = visitor.post(f"{BASE}/me/entries/{TAGGED}/withdraw", data={"csrf_token": token})
    assert answer.status_code == 303
    erase = {"confirm": "yes", "campaign": "sandbox-2024", "csrf_token": token}
    answer = visitor.post("/creators/me/delete?lang=en", data=erase)
    assert (
        answer.status_code == 200 and "deleted" in answer.text.lower()
    ) or "silindi" in answer.text
    _nothing_stored_but_withdrawals(sandbox_db)
    assert _count(sandbox_db, ThumbnailRow) == 0  # the withdrawn and the erased entry's covers
    assert visitor.get(f"{BASE}/me").status_code == 400  # signed out


def _nothing_stored_but_withdrawals(engine: Engine) -> None:
    with transaction(engine) as session:
        reasons = dict(
            session.execute(
                select(CreatorWithdrawalRow.video_id, CreatorWithdrawalRow.reason)
            ).all()
        )
        creator = session.scalars(select(CreatorRow)).one()
    assert reasons == {TAGGED: "withdrawn_by_creator", CUT: "data_erased"}
    assert (creator.username, creator.display_name, creator.erased_at is not None) == ("", "", True)
    assert [
        _count(engine, t) for t in (CreatorTokenRow, CreatorEntryRow, CreatorParticipationRow)
    ] == [0, 0, 0]


def test_a_forged_state_is_refused_and_nothing_is_stored(
    visitor: httpx.Client, api: SandboxAPI, sandbox_db: Engine
) -> None:
    page = _consent(visitor)
    callback = _authorize(api, page, "lala.learns")
    forged = re.sub(r"state=[^&]+", "state=forged", callback)
    answer = visitor.get(forged + "&lang=en")
    assert answer.status_code == 400 and "did not start here" in answer.text
    answer = visitor.get("/creators/callback?code=x&lang=en")
    assert answer.status_code == 400
    _nothing_stored(sandbox_db)


def test_a_replayed_callback_and_another_browser_are_refused(
    visitor: httpx.Client, api: SandboxAPI, make_client: Callable[..., httpx.Client],
    services: CreatorServices, during: Clock, sandbox_db: Engine,
) -> None:  # fmt: skip
    page = _consent(visitor)
    callback = _authorize(api, page, "lala.learns")
    with make_client(creators=services, clock=during) as other:
        other.get(f"{BASE}/take-part")
        answer = other.get(callback + "&lang=en")
        assert answer.status_code == 400 and "did not start here" in answer.text
    _nothing_stored(sandbox_db)
    # The state was used up by the other browser's attempt; a fresh sign-in works, once.
    callback = _sign_in(visitor, api)
    answer = visitor.get(callback + "&lang=en")
    assert answer.status_code == 400 and "already used" in answer.text
    assert _count(sandbox_db, CreatorRow) == 1


def test_a_cancelled_sign_in_stores_nothing(
    visitor: httpx.Client, api: SandboxAPI, sandbox_db: Engine
) -> None:
    page = _consent(visitor)
    callback = _authorize(api, page, "lala.learns", decision="deny")
    answer = visitor.get(callback + "&lang=en")
    assert answer.status_code == 400 and "nothing was stored" in answer.text
    _nothing_stored(sandbox_db)


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"rules": ""}, "accept the contest"),
        ({"age": ""}, "18 or older"),
        ({"age": "minor"}, "parent or guardian must agree"),
        ({"age": "minor", "guardian_name": "A", "guardian_contact": "1"}, "parent or guardian"),
        (
            {
                "age": "minor",
                "guardian_name": "x" * 121,
                "guardian_contact": "1",
                "guardian_consent": "yes",
            },
            "guardian_name",
        ),
        ({"region": "US"}, "country you live in"),
        ({"region": "AZ" * 10}, "region"),
    ],
)
def test_bad_consent_forms_get_a_clear_answer_and_store_nothing(
    visitor: httpx.Client, sandbox_db: Engine, form: dict[str, str], message: str
) -> None:
    answer = _consent(visitor, lang="en", **form)
    assert answer.status_code == 400
    assert message in answer.text
    with transaction(sandbox_db) as session:
        from oyren.store.models import CreatorLoginRow

        assert session.scalar(select(func.count()).select_from(CreatorLoginRow)) == 0


def test_forms_without_the_csrf_token_are_refused(
    visitor: httpx.Client, sandbox_db: Engine
) -> None:
    for path in (f"{BASE}/take-part", f"{BASE}/me/entries", "/creators/me/delete", f"{BASE}/link"):
        assert visitor.post(path, data={"rules": "yes", "q": "x"}).status_code == 403
    _nothing_stored(sandbox_db)


def test_another_creators_video_or_a_bad_id_cannot_be_registered(
    visitor: httpx.Client, api: SandboxAPI, sandbox_db: Engine
) -> None:
    _sign_in(visitor, api)
    token = csrf_of(visitor, f"{BASE}/me/videos")
    for picks, message in (
        ([TAGGED, SAMIR], "is not one of your public videos"),
        (["7399000000000099999"], "is not one of your public videos"),
        (["../../etc"], "not one this page sent"),
        ([str(i) for i in range(51)], "video"),
        ([], "Pick at least one"),
    ):
        answer = visitor.post(
            f"{BASE}/me/entries?lang=en", data={"video": picks, "csrf_token": token}
        )
        assert answer.status_code == 400, picks
        assert message in answer.text
    assert _count(sandbox_db, CreatorEntryRow) == 0


def test_pages_for_signed_in_creators_refuse_strangers(visitor: httpx.Client) -> None:
    assert visitor.get(f"{BASE}/me?lang=en").status_code == 400
    visitor.cookies.set("oyren_creator", "forged.cookie.value")
    answer = visitor.get(f"{BASE}/me/videos?lang=en")
    assert answer.status_code == 400 and "sign in with TikTok first" in answer.text


def test_a_pasted_link_is_checked_with_oembed(
    visitor: httpx.Client, api: SandboxAPI, sandbox_db: Engine
) -> None:
    token = csrf_of(visitor, f"{BASE}/take-part")
    good = f"https://www.tiktok.com/@samir.explains/video/{SAMIR}"
    answer = visitor.post(f"{BASE}/link?lang=en", data={"q": good, "csrf_token": token})
    assert answer.status_code == 200 and "Video registered" in answer.text
    assert "Elektrik" in answer.text and "Carries the contest hashtag" in answer.text
    again = visitor.post(f"{BASE}/link?lang=en", data={"q": good, "csrf_token": token})
    assert "already registered" in again.text
    api.login.vanish("7399000000000000005", 0)
    gone = "https://www.tiktok.com/@samir.explains/video/7399000000000000005"
    answer = visitor.post(f"{BASE}/link?lang=en", data={"q": gone, "csrf_token": token})
    assert answer.status_code == 400 and "not public" in answer.text
    for bad in ("https://evil.example/@a/video/1", "x" * 601, "<script>"):
        answer = visitor.post(f"{BASE}/link?lang=en", data={"q": bad, "csrf_token": token})
        assert answer.status_code == 400
    assert _count(sandbox_db, CreatorEntryRow) == 1


def test_without_login_kit_credentials_the_page_says_so(
    make_client: Callable[..., httpx.Client], during: Clock
) -> None:
    with make_client(clock=during) as client:
        page = client.get(f"{BASE}/take-part?lang=en")
        assert page.status_code == 200 and "not set up on this site" in page.text


def test_the_organizer_sees_the_guardian_and_no_one_else_does(
    visitor: httpx.Client, api: SandboxAPI, make_client: Callable[..., httpx.Client],
    services: CreatorServices, during: Clock,
) -> None:  # fmt: skip
    from tests.web.conftest import log_in

    _sign_in(visitor, api, age="minor", guardian_name="Aynur Məmmədova",
             guardian_contact="aynur@example.org", guardian_consent="yes")  # fmt: skip
    token = csrf_of(visitor, f"{BASE}/me/videos")
    visitor.post(f"{BASE}/me/entries", data={"video": [CUT], "claim": [CUT], "csrf_token": token})
    path = "/organizer/campaigns/sandbox-2024/creators"
    with make_client(creators=services, clock=during) as olga:
        log_in(olga, "olga")
        page = olga.get(path + "?lang=en")
        assert page.status_code == 200
        assert "Aynur Məmmədova" in page.text and "aynur@example.org" in page.text
        assert "check it and include the video" in page.text
        data = olga.get(path + ".json").json()
        assert data["creators"][0]["guardian_contact"] == "aynur@example.org"
    with make_client(creators=services, clock=during) as murad:
        log_in(murad, "murad")
        assert murad.get(path).status_code == 403
    assert visitor.get(path, headers={"Accept": "application/json"}).status_code == 401


def test_oversized_or_malformed_callbacks_are_refused(
    visitor: httpx.Client, sandbox_db: Engine
) -> None:
    for query in (f"code={'c' * 1001}&state=s", f"code=c&state={'s' * 201}", "state=&code=",
                  "code=c&state=%00%3Cscript%3E"):  # fmt: skip
        answer = visitor.get(f"/creators/callback?{query}&lang=en")
        assert answer.status_code == 400, query
        assert "<script>" not in answer.text
    _nothing_stored(sandbox_db)
