"""Hostile text from TikTok or visitors shows as text on every page that shows it.

The sandbox database holds videos whose descriptions are a list of injection payloads and a
creator whose username is markup. Each page that shows a description or a username must keep
them as text: no script or event handler of theirs in the markup, and the payloads readable.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import httpx
import pytest
from markupsafe import escape

from tests.conftest import HOSTILE, HOSTILE_TEXT, HOSTILE_USER, PENDING_ID, TOP_ID
from tests.web.conftest import csrf_of

OWN_SCRIPTS = {"/static/countdown.js", "/static/player.js", "/static/ballot.js"}
BASE = "/campaigns/sandbox-2024"
ORG = "/organizer/campaigns/sandbox-2024"


class Page(HTMLParser):
    """What a browser would build from a page: its elements and its text."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self.text: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "script" and values.get("src") not in OWN_SCRIPTS:
            self.problems.append(f"<script {attrs}>")
        # The player is framed on click from this address alone: the platform's, with an id.
        embed = values.get("data-embed")
        if embed is not None and not re.fullmatch(r"https://www\.tiktok\.com/embed/v2/\d+", embed):
            self.problems.append(f"{tag} data-embed={embed}")
        # The only image is a video's thumbnail from this site's cache, by campaign and video id.
        thumb = re.fullmatch(r"/campaigns/[a-z0-9-]+/thumbs/\d+", values.get("src") or "")
        if tag in ("iframe", "object", "embed") or (tag == "img" and not thumb):
            self.problems.append(f"<{tag} {attrs}>")
        self.problems += [f"{tag} {name}" for name, _ in attrs if name.startswith("on")]
        for name in ("href", "src", "action"):
            value = (values.get(name) or "").strip().lower()
            if value.startswith(("javascript:", "data:", "//")) or (
                value.startswith("http") and not value.startswith("https://www.tiktok.com/")
            ):
                self.problems.append(f"{tag} {name}={value}")

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def assert_shown_as_text(html: str, *expected: str) -> None:
    """The page runs nothing of the payloads', and shows each expected string as text."""
    page = Page(html)
    text = " ".join(" ".join(page.text).split())
    assert page.problems == []
    assert [e for e in expected if " ".join(e.split()) not in text] == []


def test_leaderboard_shows_descriptions_as_text(client: httpx.Client) -> None:
    assert_shown_as_text(client.get(BASE + "/leaderboard").text, HOSTILE_TEXT)


@pytest.mark.parametrize("query", ["hostile_creator", TOP_ID, PENDING_ID])
def test_self_check_shows_descriptions_and_usernames_as_text(
    client: httpx.Client, query: str
) -> None:
    html = client.get(BASE + "/check", params={"q": query}).text
    assert_shown_as_text(html, HOSTILE_TEXT)


def test_self_check_shows_a_markup_username_as_text(client: httpx.Client) -> None:
    html = client.get(BASE + "/check", params={"q": PENDING_ID}).text
    assert_shown_as_text(html, "@" + HOSTILE_USER)
    assert "&lt;b&gt;bold&lt;/b&gt;" in html


@pytest.mark.parametrize("payload", HOSTILE)
def test_self_check_echoes_a_hostile_query_as_text(client: httpx.Client, payload: str) -> None:
    html = client.get(BASE + "/check", params={"q": payload}).text
    assert_shown_as_text(html)
    assert str(escape(payload)) in html  # shown, escaped (and not evaluated as a template)


def test_partners_page_shows_descriptions_as_text(client: httpx.Client) -> None:
    assert_shown_as_text(client.get(BASE + "/partners").text, HOSTILE_TEXT)


def test_winners_page_shows_the_winner_as_text(organizer: httpx.Client) -> None:
    token = csrf_of(organizer, ORG + "/award")
    organizer.post(ORG + "/award", data={"confirm": "sandbox-2024", "csrf_token": token})
    assert_shown_as_text(organizer.get(BASE + "/winners").text, HOSTILE_TEXT)


def test_organizer_pages_show_descriptions_usernames_and_reasons_as_text(
    organizer: httpx.Client,
) -> None:
    token = csrf_of(organizer, ORG)
    reason = HOSTILE_TEXT
    organizer.post(
        ORG + f"/videos/{TOP_ID}/decision",
        data={"action": "exclude", "reason": reason, "csrf_token": token},
    )
    assert_shown_as_text(organizer.get(ORG + "/queue").text, HOSTILE_TEXT, "@" + HOSTILE_USER)
    assert_shown_as_text(organizer.get(ORG + f"/videos/{TOP_ID}").text, HOSTILE_TEXT)
    assert_shown_as_text(organizer.get(ORG + f"/videos/{PENDING_ID}").text, HOSTILE_USER)
    assert_shown_as_text(organizer.get(ORG + "/audit").text, reason)
    assert_shown_as_text(organizer.get(ORG + "/award").text)


def test_json_twins_carry_hostile_text_as_json_strings(client: httpx.Client) -> None:
    response = client.get(BASE + "/leaderboard.json")
    assert response.headers["content-type"] == "application/json"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.json()["videos"][0]["description"] == f"{HOSTILE_TEXT} #TikTokdanÖyrən"


def test_self_check_after_the_deadline_offers_no_submission(client: httpx.Client) -> None:
    html = client.get(
        BASE + "/check", params={"q": "https://www.tiktok.com/@x/video/12345678"}
    ).text
    assert 'action="/campaigns/sandbox-2024/submissions"' not in html
