"""Rendering: every page is HTML or, asked for JSON, its twin with the same data."""

from __future__ import annotations

import dataclasses
import enum
from datetime import UTC, date, datetime

import httpx
import jinja2
import pytest
from markupsafe import Markup
from starlette.requests import Request

from oyren.rules.campaign import Campaign, Text
from oyren.web.i18n import load_catalogs
from oyren.web.render import Pages, jsonable, wants_json
from tests.web.test_public import BASE

PAGES = ["", "/leaderboard", "/winners", "/check?q=hostile_creator", "/partners", "/stats"]


def _json_path(path: str) -> str:
    page, _, query = path.partition("?")
    return page + ".json" + (f"?{query}" if query else "")


@pytest.mark.parametrize("path", PAGES)
def test_page_is_html_with_its_language_and_a_json_twin(client: httpx.Client, path: str) -> None:
    page = client.get(BASE + path)
    twin = client.get(BASE + _json_path(path))
    asked = client.get(BASE + path, headers={"Accept": "application/json"})
    assert (page.status_code, page.headers["content-type"]) == (200, "text/html; charset=utf-8")
    assert '<html lang="az">' in page.text
    assert f'href="{BASE}{_json_path(path).replace("&", "&amp;")}"' in page.text
    assert (twin.status_code, twin.headers["content-type"]) == (200, "application/json")
    assert twin.json() == asked.json()


# --- the module's functions ---


class Colour(enum.Enum):
    RED = "red"


@dataclasses.dataclass(frozen=True)
class Point:
    x: int
    labels: frozenset[str]
    _hidden: str = "secret"
    cache: object = dataclasses.field(default=None, repr=False)


def test_jsonable_turns_the_core_types_into_plain_json() -> None:
    value = {
        1: Point(x=3, labels=frozenset({"b", "a"})),
        "when": datetime(2024, 4, 21, 19, 59, 59, tzinfo=UTC),
        "day": date(2024, 4, 21),
        "name": Text(az="Ad", en="Name"),
        "colour": Colour.RED,
        "rows": (1, [2.5, None, True]),
        "html": Markup("<b>x</b>"),
    }
    assert jsonable(value) == {
        "1": {"x": 3, "labels": ["a", "b"]},
        "when": "2024-04-21T19:59:59+00:00",
        "day": "2024-04-21",
        "name": {"az": "Ad", "en": "Name"},
        "colour": "red",
        "rows": [1, [2.5, None, True]],
        "html": "<b>x</b>",
    }


def test_jsonable_campaign_carries_its_instants_and_digest(campaign: Campaign) -> None:
    data = jsonable(campaign)
    assert data["id"] == campaign.id
    assert (data["cutoff"], data["rules_digest"]) == (campaign.cutoff.isoformat(), campaign.digest)
    assert data["window_start"] == campaign.window_start.isoformat()


@pytest.mark.parametrize("value", [object(), b"bytes", Point, 1j])
def test_jsonable_refuses_what_json_cannot_hold(value: object) -> None:
    with pytest.raises(TypeError, match=r"cannot put \w+ into JSON"):
        jsonable(value)


def _request(path: str, accept: str | None = None) -> Request:
    headers = [] if accept is None else [(b"accept", accept.encode())]
    return Request({"type": "http", "method": "GET", "path": path, "headers": headers})


@pytest.mark.parametrize(
    ("path", "accept", "expected"),
    [
        ("/campaigns/x.json", None, True),
        ("/campaigns/x.json", "text/html", True),
        ("/campaigns/x", "application/json", True),
        ("/campaigns/x", "text/html,application/json;q=0.9", False),
        ("/campaigns/x", "*/*", False),
        ("/campaigns/x", None, False),
        ("/campaigns/x", "application/json; charset=utf-8", True),
        ("/campaigns/json", "", False),
    ],
)
def test_wants_json_by_suffix_or_accept_header(
    path: str, accept: str | None, expected: bool
) -> None:
    assert wants_json(_request(path, accept)) is expected


def test_pages_escape_every_value_and_translate_for_the_reader() -> None:
    pages = Pages(load_catalogs())
    template = pages.env.from_string("{{ x }}|{{ _('Too short') }}")
    hostile = "<script>alert(1)</script>"
    assert pages.env.from_string("{{ x }}").render(x=hostile) == (
        "&lt;script&gt;alert(1)&lt;/script&gt;"
    )
    english = template.render(lang="en", x="a")
    azerbaijani = template.render(lang="az", x="a")
    assert english == "a|Too short"
    assert azerbaijani.startswith("a|") and azerbaijani != english


def test_pages_refuse_a_missing_value_instead_of_printing_nothing() -> None:
    pages = Pages(load_catalogs())
    with pytest.raises(jinja2.UndefinedError):
        pages.env.from_string("{{ missing }}").render(lang="en")
    with pytest.raises(jinja2.TemplateNotFound):
        pages.render("no_such_page.html", {"lang": "en"})


def test_every_template_is_compiled_when_the_process_starts() -> None:
    from oyren.web.render import shared_pages

    pages = shared_pages()
    assert shared_pages() is pages  # one compiled set per process, whatever the number of apps
    names = pages.env.list_templates(extensions=["html"])
    assert "leaderboard.html" in names
    cache = pages.env.cache
    assert cache is not None
    compiled = {key[1] for key in cache}  # Jinja keys its cache by (loader, name)
    assert compiled >= set(names)
