"""A creator taking part end to end in Chromium, against the sandbox Login Kit and Display API.

The app and the sandbox each run with uvicorn on a loopback port; the browser may talk to those
two and nothing else, and any error in its console fails the test. Screenshots of each step are
saved at 390 px (a phone) and 1280 px wide.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import pytest
import uvicorn
from sqlalchemy import Engine, select

from oyren.clock import VirtualClock
from oyren.collect.connectors.login import login_settings
from oyren.rules.campaign import Campaign
from oyren.sandbox.api import SandboxAPI
from oyren.sandbox.login import SANDBOX_LOGIN_KEY, SANDBOX_LOGIN_SECRET, creator_videos
from oyren.sandbox.server import serve
from oyren.settings import Settings
from oyren.store.db import transaction
from oyren.store.models import CreatorParticipationRow, CreatorRow, CreatorWithdrawalRow
from oyren.web.app import WebOptions, create_app
from oyren.web.creators import CreatorServices
from tests.creatorsupport import cipher
from tests.web.conftest import Clock
from tests.web.test_browser import CHROMIUM, SCREENSHOTS, _free_port

BASE = "/campaigns/sandbox-2024"
TAGGED, CUT = "7399000000000000001", "7399000000000000002"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists() and not os.environ.get("CI"),
        reason="Debian's chromium is not installed at /usr/bin/chromium (apt-get install chromium)",
    ),
]


@dataclass
class Both:
    """The app, the sandbox and a browser page allowed to reach only those two."""

    url: str
    sandbox_url: str
    page: object
    foreign: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)

    def shot(self, name: str) -> None:
        """Screenshots at phone and desktop widths."""
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        for width in (390, 1280):
            self.page.set_viewport_size({"width": width, "height": 900})  # type: ignore[attr-defined]
            self.page.screenshot(
                path=str(SCREENSHOTS / f"creator-{name}-{width}.png"), full_page=True
            )  # type: ignore[attr-defined]
        self.page.set_viewport_size({"width": 390, "height": 900})  # type: ignore[attr-defined]


@pytest.fixture
def both(sandbox: Campaign, sandbox_db: Engine) -> Iterator[Both]:
    from playwright.sync_api import sync_playwright

    during = sandbox.window_start_ts + 20 * 86400
    api = SandboxAPI(creator_videos(sandbox), VirtualClock(during))
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    with serve(api) as sandbox_url, httpx.Client(timeout=20) as http:
        env = {"TIKTOK_LOGIN_CLIENT_KEY": SANDBOX_LOGIN_KEY,
               "TIKTOK_LOGIN_CLIENT_SECRET": SANDBOX_LOGIN_SECRET}  # fmt: skip
        login = login_settings(
            public_url=url, auth_url=sandbox_url + "/v2/auth/authorize/", api_base=sandbox_url,
            oembed_url=sandbox_url + "/oembed", environ=env,
        )  # fmt: skip
        assert login is not None
        services = CreatorServices(login, cipher(), http)
        app = create_app(
            Settings(database_url="sqlite://"),
            engine=sandbox_db,
            options=WebOptions(clock=Clock(float(during)), secure_cookies=False, creators=services),
        )
        server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 10
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.02)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=str(CHROMIUM),
                args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
            )
            context = browser.new_context(viewport={"width": 390, "height": 900})
            page = context.new_page()
            result = Both(url, sandbox_url, page)

            def guard(route: object) -> None:
                target = route.request.url  # type: ignore[attr-defined]
                if target.startswith((url + "/", sandbox_url + "/")):
                    route.continue_()  # type: ignore[attr-defined]
                else:
                    result.foreign.append(target)
                    route.abort()  # type: ignore[attr-defined]

            page.route("**/*", guard)
            page.on("console", lambda m: m.type == "error" and result.console_errors.append(m.text))
            yield result
            context.close()
            browser.close()
        server.should_exit = True
        thread.join(timeout=10)
    assert (result.foreign, result.console_errors) == ([], [])


def test_a_minor_takes_part_picks_two_videos_and_deletes_everything(
    both: Both, sandbox_db: Engine
) -> None:
    page = both.page
    page.goto(both.url + "/language/en?next=" + BASE)  # type: ignore[attr-defined]
    page.click(f"a[href='{BASE}/take-part']")  # type: ignore[attr-defined]
    assert "What Öyrən will read" in page.inner_text("main")  # type: ignore[attr-defined]
    page.check("input[name=rules]")  # type: ignore[attr-defined]
    page.check("input[name=age][value=minor]")  # type: ignore[attr-defined]
    page.fill("#guardian_name", "Aynur Məmmədova")  # type: ignore[attr-defined]
    page.fill("#guardian_contact", "+994 50 123 45 67")  # type: ignore[attr-defined]
    page.check("input[name=guardian_consent]")  # type: ignore[attr-defined]
    both.shot("consent")
    page.click("form[action$='/take-part'] button[type=submit]")  # type: ignore[attr-defined]
    both.shot("continue")
    page.click("#to-tiktok")  # type: ignore[attr-defined]
    page.wait_for_url(re.compile(re.escape(both.sandbox_url) + ".*"))  # type: ignore[attr-defined]
    assert "video.list" in page.inner_text("body")  # type: ignore[attr-defined]
    page.check("input[name=username][value='lala.learns']")  # type: ignore[attr-defined]
    both.shot("tiktok-authorize")
    page.click("button[value=allow]")  # type: ignore[attr-defined]
    page.wait_for_url(re.compile(re.escape(both.url) + f"{BASE}/me/videos"))  # type: ignore[attr-defined]
    text = page.inner_text("main")  # type: ignore[attr-defined]
    assert "Carries the contest hashtag" in text and "Caption cut short" in text
    both.shot("pick")
    page.check(f"input[name=video][value='{TAGGED}']")  # type: ignore[attr-defined]
    page.check(f"input[name=video][value='{CUT}']")  # type: ignore[attr-defined]
    page.check(f"input[name=claim][value='{CUT}']")  # type: ignore[attr-defined]
    page.click("form[action$='/me/entries'] button[type=submit]")  # type: ignore[attr-defined]
    page.wait_for_url(re.compile(re.escape(both.url) + f"{BASE}/me$"))  # type: ignore[attr-defined]
    text = page.inner_text("main")  # type: ignore[attr-defined]
    assert text.count("Withdraw this entry") == 2
    assert "a moderator will check" in text and "guardian" in text
    both.shot("my-page")
    with transaction(sandbox_db) as session:
        joined = session.scalars(select(CreatorParticipationRow)).one()
        assert (joined.minor, joined.guardian_name) == (True, "Aynur Məmmədova")
    page.check("input[name=confirm]")  # type: ignore[attr-defined]
    page.click("form[action='/creators/me/delete'] button[type=submit]")  # type: ignore[attr-defined]
    assert "Your data is deleted" in page.inner_text("h1")  # type: ignore[attr-defined]
    assert "revoked" in page.inner_text("main")  # type: ignore[attr-defined]
    both.shot("deleted")
    with transaction(sandbox_db) as session:
        assert session.scalars(select(CreatorParticipationRow)).all() == []
        assert session.scalars(select(CreatorRow.username)).all() == [""]
        reasons = set(session.scalars(select(CreatorWithdrawalRow.reason)))
        assert reasons == {"data_erased"}


def test_every_creator_page_fits_a_phone_and_speaks_azerbaijani(
    both: Both, sandbox_db: Engine
) -> None:
    """The creator's pages in the every-page check: take part (with a guardian's consent), the
    way on to TikTok, picking videos, their own page with thumbnails, the page after deleting."""
    from tests.web.test_browser import Live, _check_page, _english_only_phrases

    english = _english_only_phrases()
    page = both.page
    live = Live(both.url, page)
    problems: list[str] = []
    page.goto(both.url + "/language/az?next=" + BASE + "/take-part")  # type: ignore[attr-defined]
    page.wait_for_url(re.compile(re.escape(both.url) + f"{BASE}/take-part$"))  # type: ignore[attr-defined]
    problems += _check_page(live, f"{BASE}/take-part", "az-creator-take-part", english)
    page.check("input[name=rules]")  # type: ignore[attr-defined]
    page.check("input[name=age][value=minor]")  # type: ignore[attr-defined]
    page.fill("#guardian_name", "Aynur Məmmədova")  # type: ignore[attr-defined]
    page.fill("#guardian_contact", "+994 50 123 45 67")  # type: ignore[attr-defined]
    page.check("input[name=guardian_consent]")  # type: ignore[attr-defined]
    problems += _check_page(live, None, "az-creator-guardian", english)
    page.click("form[action$='/take-part'] button[type=submit]")  # type: ignore[attr-defined]
    page.wait_for_selector("#to-tiktok")  # type: ignore[attr-defined]
    problems += _check_page(live, None, "az-creator-sign-in", english)
    page.click("#to-tiktok")  # type: ignore[attr-defined]
    page.wait_for_url(re.compile(re.escape(both.sandbox_url) + ".*"))  # type: ignore[attr-defined]
    page.check("input[name=username][value='lala.learns']")  # type: ignore[attr-defined]
    page.click("button[value=allow]")  # type: ignore[attr-defined]
    page.wait_for_url(re.compile(re.escape(both.url) + f"{BASE}/me/videos"))  # type: ignore[attr-defined]
    problems += _check_page(live, f"{BASE}/me/videos", "az-creator-pick", english)
    page.check(f"input[name=video][value='{TAGGED}']")  # type: ignore[attr-defined]
    page.click("form[action$='/me/entries'] button[type=submit]")  # type: ignore[attr-defined]
    page.wait_for_url(re.compile(re.escape(both.url) + f"{BASE}/me$"))  # type: ignore[attr-defined]
    problems += _check_page(live, f"{BASE}/me", "az-creator-my-page", english)
    # The creator's own page shows the entry's thumbnail from this site (a placeholder here).
    thumb = page.locator("img.thumb").first  # type: ignore[attr-defined]
    assert thumb.get_attribute("src") == f"{BASE}/thumbs/{TAGGED}"
    assert page.evaluate("() => document.querySelector('img.thumb').naturalWidth") > 0  # type: ignore[attr-defined]
    page.check("input[name=confirm]")  # type: ignore[attr-defined]
    page.click("form[action='/creators/me/delete'] button[type=submit]")  # type: ignore[attr-defined]
    page.wait_for_selector("h1")  # type: ignore[attr-defined]
    problems += _check_page(live, None, "az-creator-deleted", english)
    assert problems == [], "\n".join(problems)
