"""The web app in a real browser: Debian's Chromium driven by Playwright.

Each test serves the app with uvicorn on a free loopback port (in a thread, on its own copy of
the sandbox database) and saves screenshots of the pages it visits under SCREENSHOTS for a
person to look at. Any request to another host is blocked and fails the test, as does any error
in the browser's console (a Content-Security-Policy violation shows up there).
"""

from __future__ import annotations

import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import uvicorn
from sqlalchemy import Engine

from oyren.rules.campaign import Campaign
from oyren.settings import Settings
from oyren.web.app import WebOptions, create_app
from tests.conftest import PASSWORD, PENDING_ID, SECOND_ID, SHORT_ID, TOP_ID
from tests.web.conftest import Clock

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
BASE = "/campaigns/sandbox-2024"
ORG = "/organizer/campaigns/sandbox-2024"

pytestmark = [
    pytest.mark.browser,
    # CI installs Chromium (.ci/run) and must run these; elsewhere they skip without it.
    pytest.mark.skipif(
        not CHROMIUM.exists() and not os.environ.get("CI"),
        reason="Debian's chromium is not installed at /usr/bin/chromium (apt-get install chromium)",
    ),
]


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """One Chromium for the module (never downloaded: the system's own)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield chromium
        chromium.close()


@dataclass
class Live:
    """A running server and a browser page on it."""

    url: str
    page: object
    player: str = ""  # the origin of the player stand-in the sandbox serves
    player_requests: list[str] = field(default_factory=list)
    foreign: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)

    def go(self, path: str) -> None:
        self.page.goto(self.url + path)  # type: ignore[attr-defined]

    def shot(self, name: str, *, full_page: bool = True) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=full_page)  # type: ignore[attr-defined]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def player() -> Iterator[str]:
    """The sandbox's stand-in for the platform's embeddable player, on a loopback port."""
    from oyren.clock import VirtualClock
    from oyren.sandbox.api import SandboxAPI
    from oyren.sandbox.server import serve

    with serve(SandboxAPI([], VirtualClock(0))) as url:
        yield url


@pytest.fixture
def live(browser: object, sandbox_db: Engine, clock: Clock, player: str) -> Iterator[Live]:
    """The app served on loopback, and a fresh browser page that may talk only to it (and to
    the player stand-in, whose requests are recorded)."""
    app = create_app(
        Settings(database_url="sqlite://"),
        engine=sandbox_db,
        options=WebOptions(clock=clock, secure_cookies=False, player_origin=player),
    )
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    url = f"http://127.0.0.1:{port}"
    context = browser.new_context(viewport={"width": 1200, "height": 900})  # type: ignore[attr-defined]
    page = context.new_page()
    result = Live(url, page, player)

    def guard(route: object) -> None:
        request_url = route.request.url  # type: ignore[attr-defined]
        if request_url.startswith(url + "/"):
            route.continue_()  # type: ignore[attr-defined]
        elif request_url.startswith(player + "/"):
            result.player_requests.append(request_url)
            route.continue_()  # type: ignore[attr-defined]
        else:
            result.foreign.append(request_url)
            route.abort()  # type: ignore[attr-defined]

    page.route("**/*", guard)
    page.on("console", lambda m: m.type == "error" and result.console_errors.append(m.text))
    yield result
    context.close()
    server.should_exit = True
    thread.join(timeout=10)
    assert (result.foreign, result.console_errors) == ([], [])


def _log_in(live: Live, username: str) -> None:
    live.go("/login")
    live.page.fill("#username", username)  # type: ignore[attr-defined]
    live.page.fill("#password", PASSWORD)  # type: ignore[attr-defined]
    live.page.click("form[action='/login'] button[type=submit]")  # type: ignore[attr-defined]
    live.page.wait_for_url(re.compile(r".*/organizer$"))  # type: ignore[attr-defined]


def test_self_check_flow(live: Live, sandbox: Campaign, clock: Clock) -> None:
    clock.now = sandbox.cutoff_ts - 2 * 86400 - 3 * 3600
    page = live.page
    live.go(BASE)
    first = page.inner_text("[data-unit=s]")  # type: ignore[attr-defined]
    page.wait_for_timeout(1200)  # type: ignore[attr-defined]
    assert (page.inner_text("[data-unit=d]"), page.inner_text("[data-unit=h]")) == ("2", "02")  # type: ignore[attr-defined]
    assert page.inner_text("[data-unit=s]") != first  # type: ignore[attr-defined]
    live.shot("campaign")
    page.click("nav a[href$='/check']")  # type: ignore[attr-defined]
    page.fill("#q", f"https://www.tiktok.com/@short_samir/video/{SHORT_ID}")  # type: ignore[attr-defined]
    page.click("form[role=search] button")  # type: ignore[attr-defined]
    assert "Nəzərə alınmır" in page.inner_text("article")  # type: ignore[attr-defined]
    assert "ən azı 30 saniyə tələb edir" in page.inner_text("article")  # type: ignore[attr-defined]
    live.shot("check")
    page.fill("#q", "https://www.tiktok.com/@new_creator/video/7399999999999999999")  # type: ignore[attr-defined]
    page.click("form[role=search] button")  # type: ignore[attr-defined]
    page.click("form[action$='/submissions'] button")  # type: ignore[attr-defined]
    assert "Təşəkkür edirik" in page.inner_text("main")  # type: ignore[attr-defined]
    assert page.is_visible(".badge.submitted")  # type: ignore[attr-defined]
    live.shot("check-submitted")


def test_language_switch(live: Live) -> None:
    page = live.page
    live.go(BASE + "/leaderboard")
    assert (page.get_attribute("html", "lang"), page.inner_text("h1")) == ("az", "Reytinq")  # type: ignore[attr-defined]
    live.shot("leaderboard")
    page.click("a[hreflang=en]")  # type: ignore[attr-defined]
    assert (page.get_attribute("html", "lang"), page.inner_text("h1")) == ("en", "Leaderboard")  # type: ignore[attr-defined]
    assert "90,000,000" in page.inner_text("table")  # type: ignore[attr-defined]
    live.shot("leaderboard-en")
    live.go(BASE + "/stats")
    assert page.inner_text("h1") == "The contest in charts"  # type: ignore[attr-defined]
    live.shot("stats-en")
    live.go(BASE + "/partners")
    live.shot("partners-en")
    page.click("a[hreflang=az]")  # type: ignore[attr-defined]
    assert page.get_attribute("html", "lang") == "az"  # type: ignore[attr-defined]


def test_moderator_excludes_a_video_and_the_leaderboard_changes(live: Live) -> None:
    page = live.page
    _log_in(live, "murad")
    live.go(ORG + "/queue")
    live.shot("moderation-queue")
    live.go(ORG + f"/videos/{TOP_ID}")
    live.shot("video-evidence")
    page.fill("#reason", "Baxışlar satın alınıb")  # type: ignore[attr-defined]
    page.click("button[value=exclude]")  # type: ignore[attr-defined]
    assert "Baxışlar satın alınıb" in page.inner_text("main")  # type: ignore[attr-defined]
    live.go(BASE + "/leaderboard")
    link = page.get_attribute("tbody tr:first-child a", "href")  # type: ignore[attr-defined]
    assert link == f"https://www.tiktok.com/@aysel_teaches/video/{SECOND_ID}"
    live.go(BASE + f"/check?q={TOP_ID}")
    assert "Baxışlar satın alınıb" in page.inner_text("article")  # type: ignore[attr-defined]


def test_award_is_frozen(live: Live) -> None:
    page = live.page
    _log_in(live, "olga")
    live.go(ORG)
    live.shot("dashboard")
    live.go(ORG + "/award")
    live.shot("award")
    page.fill("#confirm", "sandbox-2024")  # type: ignore[attr-defined]
    page.click("form[action$='/award'] button")  # type: ignore[attr-defined]
    page.wait_for_url(re.compile(r".*/winners$"))  # type: ignore[attr-defined]
    text = page.inner_text("main")  # type: ignore[attr-defined]
    assert "@hostile_creator" in text
    assert re.search(r"[0-9a-f]{64}", text) is not None
    live.shot("winners")
    with page.expect_download() as download:  # type: ignore[attr-defined]
        page.click("a[href$='/bundle.zip']")  # type: ignore[attr-defined]
    assert download.value.suggested_filename == "sandbox-2024-award-1.zip"


def test_juror_session(live: Live, sandbox_db: Engine) -> None:
    from oyren.store import create_round, invite_juror, round_judgments
    from oyren.store.db import transaction

    with transaction(sandbox_db) as session:
        made = create_round(session, campaign_id="sandbox-2024", name="Final", by="olga", top=6)
        invite_juror(session, round_id=made.id, juror="jale", by="olga")
    page = live.page
    live.go(f"/login?next=/jury/rounds/{made.id}")
    page.fill("#username", "jale")  # type: ignore[attr-defined]
    page.fill("#password", PASSWORD)  # type: ignore[attr-defined]
    page.click("form[action='/login'] button[type=submit]")  # type: ignore[attr-defined]
    page.wait_for_url(re.compile(rf".*/jury/rounds/{made.id}$"))  # type: ignore[attr-defined]
    assert page.locator(".card.video").count() == 2  # type: ignore[attr-defined]
    assert "P(best)" not in page.inner_text("main")  # type: ignore[attr-defined]
    live.shot("jury-question")
    first = page.get_attribute(".card.video >> nth=1", "data-video")  # type: ignore[attr-defined]
    page.click("button[value=right]")  # type: ignore[attr-defined]
    assert "Cavablarınız: 1" in page.inner_text("main")  # type: ignore[attr-defined]
    page.click("button[value=equal]")  # type: ignore[attr-defined]
    page.click("form[action$='/undo'] button")  # type: ignore[attr-defined]
    assert "Cavablarınız: 1" in page.inner_text("main")  # type: ignore[attr-defined]
    live.shot("jury-after-undo")
    with transaction(sandbox_db) as session:
        kept = [(j.kind, j.undone) for j in round_judgments(session, round_id=made.id)]
        winner = round_judgments(session, round_id=made.id)[0].entries[0]
    assert kept == [("pair", False), ("tie", True)]
    assert winner == first


def test_organizer_opens_and_watches_a_round(live: Live) -> None:
    page = live.page
    _log_in(live, "olga")
    live.go(ORG + "/jury")
    page.fill("#name", "Final")  # type: ignore[attr-defined]
    page.fill("#value", "6")  # type: ignore[attr-defined]
    page.click("form[action$='/jury'] button[type=submit]")  # type: ignore[attr-defined]
    page.fill("input[name=juror]", "jale")  # type: ignore[attr-defined]
    page.fill("input[name=conflicts]", "hostile_creator")  # type: ignore[attr-defined]
    page.click("form[action$='/invite'] button")  # type: ignore[attr-defined]
    text = page.inner_text("main")  # type: ignore[attr-defined]
    assert "jale" in text and "hostile_creator" in text
    live.shot("jury-rounds")


# --- Every page at a phone's width and a laptop's, in Azerbaijani --------------------------------

PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1280, "height": 900}


def _english_only_phrases() -> list[str]:
    """Phrases of the English catalog that an Azerbaijani page must never show.

    Each message is cut at its placeholders; a piece of at least three words whose Azerbaijani
    translation differs from it is a phrase only English speaks (names and codes are left out).
    """
    from oyren.web.i18n import read_catalog

    az = {m.id if isinstance(m.id, str) else m.id[0]: m for m in read_catalog("az") if m.id}
    phrases: set[str] = set()
    for message in read_catalog("en"):
        if not message.id:
            continue
        ids = [message.id] if isinstance(message.id, str) else list(message.id)
        key = ids[0]
        translated = az.get(key)
        az_text = (
            " ".join(
                [translated.string] if isinstance(translated.string, str) else translated.string
            )
            if translated is not None
            else ""
        )
        for text in ids:
            for piece in re.split(r"%\([a-z_]+\)[sd]|%[sd]|\n", text):
                piece = piece.strip(" .,:;()“”\"'—-·")
                if len(piece.split()) >= 3 and piece not in az_text:
                    phrases.add(piece)
    return sorted(phrases)


def _check_page(live: Live, path: str | None, name: str, english: list[str]) -> list[str]:
    """Load ``path`` (None: the page as it is, e.g. the answer to a form) at both widths;
    return what is wrong with it."""
    problems: list[str] = []
    page = live.page
    path = path or page.url.removeprefix(live.url)  # type: ignore[attr-defined]
    for label, size in (("390", PHONE), ("1280", LAPTOP)):
        page.set_viewport_size(size)  # type: ignore[attr-defined]
        if path != page.url.removeprefix(live.url):  # type: ignore[attr-defined]
            live.go(path)
        live.shot(f"{name}-{label}")
        if label == "390":
            live.shot(f"{name}-{label}-screen", full_page=False)
            scroll, client = page.evaluate(  # type: ignore[attr-defined]
                "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
            )
            if scroll > client:
                problems.append(f"{path}: {scroll} px wide at 390 px")
    if page.get_attribute("html", "lang") == "az":  # type: ignore[attr-defined]
        # Text marked as English (the OpenAPI reference, the language switch) is left out.
        body = page.evaluate(  # type: ignore[attr-defined]
            """() => { const copy = document.body.cloneNode(true);
                copy.querySelectorAll('[lang=en]').forEach(e => e.remove());
                return copy.innerText; }"""
        )
        text = " ".join(body.split())
        problems += [f"{path}: English “{p}”" for p in english if p in text]
    return problems


def _public_pages() -> list[tuple[str, str]]:
    return [
        ("/campaigns", "campaigns"),
        (BASE, "campaign"),
        (BASE + "/leaderboard", "leaderboard"),
        (BASE + "/winners", "winners"),
        (BASE + f"/check?q={SHORT_ID}", "check"),
        (BASE + "/check?q=@nobody_here", "check-unknown"),
        (BASE + "/partners", "partners"),
        (BASE + "/stats", "stats"),
        ("/login", "login"),
        ("/api", "api"),
    ]


def _organizer_pages() -> list[tuple[str, str]]:
    return [
        ("/organizer", "organizer-home"),
        (ORG, "dashboard"),
        (ORG + "/queue", "queue"),
        (ORG + f"/videos/{TOP_ID}", "video-evidence"),
        (ORG + f"/videos/{PENDING_ID}", "video-pending"),
        (ORG + "/audit", "audit"),
        (ORG + "/jury", "jury-rounds"),
        (ORG + "/award", "award"),
    ]


def test_every_page_fits_a_phone_and_speaks_azerbaijani(
    live: Live, sandbox_db: Engine, sandbox: Campaign
) -> None:
    from oyren.sandbox.demo import fetch_thumbnails
    from oyren.sandbox.simulate import simulate
    from oyren.store import create_round, invite_juror
    from oyren.store.db import transaction

    # Thumbnails of the most viewed videos from the sandbox's oEmbed and images, as the demo
    # fetches them; the others show the placeholder. Both come from this site only.
    sim = simulate(sandbox, videos=300, seed=5, observations_per_video=6)
    assert fetch_thumbnails(sandbox_db, "sandbox-2024", sim, limit=80) > 60
    thumbs: list[str] = []
    live.page.on(  # type: ignore[attr-defined]
        "response",
        lambda r: "/thumbs/" in r.url and thumbs.append(r.headers.get("content-type", "")),
    )

    with transaction(sandbox_db) as session:
        made = create_round(session, campaign_id="sandbox-2024", name="Final", by="olga", top=6)
        invite_juror(session, round_id=made.id, juror="jale", by="olga")
        six = create_round(session, campaign_id="sandbox-2024", name="Six", by="olga", top=6,
                           size=6)  # fmt: skip
        invite_juror(session, round_id=six.id, juror="jale", by="olga")
    english = _english_only_phrases()
    assert len(english) > 100  # the check has something to look for
    problems: list[str] = []
    for path, name in _public_pages():
        problems += _check_page(live, path, "az-" + name, english)
    _log_in(live, "olga")
    for path, name in _organizer_pages():
        problems += _check_page(live, path, "az-" + name, english)
    # The award, then the public pages that change with it.
    live.page.set_viewport_size(LAPTOP)  # type: ignore[attr-defined]
    live.go(ORG + "/award")
    live.page.fill("#confirm", "sandbox-2024")  # type: ignore[attr-defined]
    live.page.click("form[action$='/award'] button")  # type: ignore[attr-defined]
    live.page.wait_for_url(re.compile(r".*/winners$"))  # type: ignore[attr-defined]
    for path, name in [(BASE + "/winners", "winners-awarded"), (BASE, "campaign-awarded"),
                       (BASE + "/leaderboard", "leaderboard-awarded"),
                       (ORG, "dashboard-awarded")]:  # fmt: skip
        problems += _check_page(live, path, "az-" + name, english)
    live.page.click("header form[action='/logout'] button")  # type: ignore[attr-defined]
    live.go("/login?next=/jury")
    live.page.fill("#username", "jale")  # type: ignore[attr-defined]
    live.page.fill("#password", PASSWORD)  # type: ignore[attr-defined]
    live.page.click("form[action='/login'] button[type=submit]")  # type: ignore[attr-defined]
    live.page.wait_for_url(re.compile(r".*/jury$"))  # type: ignore[attr-defined]
    for path, name in [("/jury", "jury-home"), (f"/jury/rounds/{made.id}", "jury-pair"),
                       (f"/jury/rounds/{six.id}", "jury-six")]:  # fmt: skip
        problems += _check_page(live, path, "az-" + name, english)
    assert problems == [], "\n".join(problems)
    assert {"image/png", "image/svg+xml"} <= set(thumbs)


def test_juror_plays_a_video_and_orders_a_batch_by_dragging(live: Live, sandbox_db: Engine) -> None:
    from oyren.store import create_round, invite_juror, round_judgments
    from oyren.store.db import transaction

    with transaction(sandbox_db) as session:
        made = create_round(session, campaign_id="sandbox-2024", name="Six", by="olga", top=6,
                            size=4)  # fmt: skip
        invite_juror(session, round_id=made.id, juror="jale", by="olga")
    page = live.page
    live.go(f"/login?next=/jury/rounds/{made.id}")
    page.fill("#username", "jale")  # type: ignore[attr-defined]
    page.fill("#password", PASSWORD)  # type: ignore[attr-defined]
    page.click("form[action='/login'] button[type=submit]")  # type: ignore[attr-defined]
    page.wait_for_url(re.compile(rf".*/jury/rounds/{made.id}$"))  # type: ignore[attr-defined]
    assert re.search(r"Sual 1 / təxminən \d+", page.inner_text("main"))  # type: ignore[attr-defined]
    cards = page.locator("ol.order > li")  # type: ignore[attr-defined]
    assert cards.count() == 4
    before = [cards.nth(i).get_attribute("data-video") for i in range(4)]
    # Nothing is asked of the player before the juror clicks play.
    assert live.player_requests == []
    cards.nth(0).locator("button.play").click()
    frame = page.frame_locator("iframe.player-frame")  # type: ignore[attr-defined]
    assert frame.locator("#player").get_attribute("data-video") == before[0]
    assert live.player_requests == [f"{live.player}/embed/v2/{before[0]}"]
    live.shot("jury-playing")
    # Drag the last video to the top, then move the new second one down with the keyboard.
    cards.nth(3).locator("h2").drag_to(cards.nth(0).locator("h2"))
    after_drag = [cards.nth(i).get_attribute("data-video") for i in range(4)]
    assert after_drag == [before[3], before[0], before[1], before[2]]
    cards.nth(1).focus()
    page.keyboard.press("ArrowDown")  # type: ignore[attr-defined]
    order = [cards.nth(i).get_attribute("data-video") for i in range(4)]
    assert order == [before[3], before[1], before[0], before[2]]
    places = [cards.nth(i).locator("select").input_value() for i in range(4)]
    assert places == ["1", "2", "3", "4"]
    live.shot("jury-ordered")
    page.click("button[value=order]")  # type: ignore[attr-defined]
    page.wait_for_url(re.compile(rf".*/jury/rounds/{made.id}$"))  # type: ignore[attr-defined]
    with transaction(sandbox_db) as session:
        saved = [j.entries for j in round_judgments(session, round_id=made.id)]
    assert saved == [tuple(order)]
