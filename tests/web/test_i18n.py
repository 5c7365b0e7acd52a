"""Languages: complete catalogs, locale formatting, and pages in the reader's language."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from babel.messages.catalog import Message
from babel.messages.extract import extract_from_dir

from oyren.web.i18n import LANGUAGES, load_catalogs, read_catalog

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "src" / "oyren" / "web"
PLACEHOLDER = re.compile(r"%\((\w+)\)s")
BAKU = ZoneInfo("Asia/Baku")


def _strings(message: Message) -> tuple[str, ...]:
    return (message.string,) if isinstance(message.string, str) else tuple(message.string)


def _extracted() -> set[str | tuple[str, ...]]:
    method_map = [("**.py", "python"), ("templates/**.html", "jinja2")]
    jinja = {"extensions": "jinja2.ext.i18n", "trim_blocks": "True", "lstrip_blocks": "True"}
    options = {"templates/**.html": jinja}
    found: set[str | tuple[str, ...]] = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(WEB), method_map, options_map=options
    ):
        found.add(message if isinstance(message, str) else tuple(message))
    return found


@pytest.mark.parametrize("lang", LANGUAGES)
def test_catalog_translates_every_message_in_the_code(lang: str) -> None:
    catalog = read_catalog(lang)
    have = {m.id if isinstance(m.id, str) else tuple(m.id) for m in catalog if m.id}
    missing = sorted(map(str, _extracted() - have))
    untranslated = sorted(str(m.id) for m in catalog if m.id and (m.fuzzy or not all(_strings(m))))
    assert (missing, untranslated) == ([], [])


@pytest.mark.parametrize("lang", LANGUAGES)
def test_catalog_keeps_every_placeholder(lang: str) -> None:
    wrong = []
    for m in read_catalog(lang):
        if not m.id:
            continue
        ids = (m.id,) if isinstance(m.id, str) else tuple(m.id)
        strings = _strings(m)
        wanted = set(PLACEHOLDER.findall(ids[-1]))
        wrong += [m.id for s in strings if set(PLACEHOLDER.findall(s)) != wanted]
    assert wrong == []


def test_translator_formats_numbers_and_dates_per_locale() -> None:
    catalogs = load_catalogs()
    az, en = catalogs.translator("az"), catalogs.translator("en")
    moment = datetime(2024, 4, 22, 1, 0, tzinfo=BAKU)
    assert (az.number(1234567), en.number(1234567)) == ("1.234.567", "1,234,567")
    assert (az.datetime(moment), en.datetime(moment)) == (
        "22 aprel 2024, 01:00",
        "22 April 2024, 01:00",
    )
    assert (az.city("Asia/Baku"), en.city("Asia/Baku")) == ("Bakı", "Baku")
    assert (az.duration(1), en.duration(1), en.duration(45)) == (
        "1 saniyə",
        "1 second",
        "45 seconds",
    )


def test_translator_unknown_language_falls_back_to_azerbaijani() -> None:
    assert load_catalogs().translator("fr").lang == "az"


def test_pages_are_azerbaijani_by_default(client: httpx.Client) -> None:
    page = client.get("/campaigns/sandbox-2024")
    assert '<html lang="az">' in page.text
    assert "Qaydalar sadə dillə" in page.text


def test_language_switch_sets_a_cookie_and_returns(client: httpx.Client) -> None:
    switch = client.get("/language/en", params={"next": "/campaigns/sandbox-2024/leaderboard"})
    page = client.get("/campaigns/sandbox-2024/leaderboard")
    assert (switch.status_code, switch.headers["location"]) == (
        303,
        "/campaigns/sandbox-2024/leaderboard",
    )
    assert '<html lang="en">' in page.text
    assert "Leaderboard" in page.text


def test_language_query_overrides_the_cookie(client: httpx.Client) -> None:
    client.get("/language/en")
    assert '<html lang="az">' in client.get("/campaigns/sandbox-2024?lang=az").text


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/", "/\\evil"])
def test_language_switch_never_leaves_the_site(client: httpx.Client, target: str) -> None:
    assert client.get("/language/en", params={"next": target}).headers["location"] == "/"


def test_numbers_on_pages_follow_the_language(client: httpx.Client) -> None:
    az = client.get("/campaigns/sandbox-2024/leaderboard").text
    en = client.get("/campaigns/sandbox-2024/leaderboard?lang=en").text
    assert ("90.000.000" in az, "90,000,000" in en) == (True, True)


def test_fast_numbers_and_moments_equal_babels() -> None:
    import datetime as dt
    import random
    import zoneinfo

    from babel.dates import format_datetime
    from babel.numbers import format_decimal

    from oyren.web.i18n import load_catalogs

    catalogs = load_catalogs()
    rng = random.Random(7)
    values = [
        0,
        1,
        -1,
        999,
        1000,
        -1000,
        10**15,
        *(rng.randint(-(10**10), 10**10) for _ in range(2000)),
    ]
    zones = [zoneinfo.ZoneInfo(z) for z in ("Asia/Baku", "UTC", "America/New_York")]
    for lang in ("az", "en"):
        t = catalogs.translator(lang)
        for value in values:
            assert t.number(value) == format_decimal(value, locale=t.locale), (lang, value)
        assert t.number(1234.5) == format_decimal(1234.5, locale=t.locale)
        for _ in range(1000):
            moment = dt.datetime.fromtimestamp(rng.randint(0, 2**32), rng.choice(zones))
            expected = format_datetime(
                moment, "d MMMM y, HH:mm", tzinfo=moment.tzinfo, locale=t.locale
            )
            assert t.datetime(moment) == expected, (lang, moment)


def _glossary() -> list[tuple[str, str, list[str]]]:
    """docs/glossary.md's rows: (English, Azerbaijani, the words its notes say never to use)."""
    rows = []
    for line in (ROOT / "docs" / "glossary.md").read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 3 or cells[0] in ("English", "---"):
            continue
        never = cells[2].split("never", 1)[1] if "never" in cells[2] else ""
        rows.append((cells[0], cells[1], re.findall(r"\*([^*]+)\*", never)))
    return rows


def test_the_azerbaijani_catalog_keeps_to_the_glossary() -> None:
    rows = _glossary()
    assert len(rows) > 30 and any(never for _, _, never in rows)
    texts = [" ".join(_strings(m)).lower() for m in read_catalog("az") if m.id]
    wrong = [
        f"{english}: “{word}” in “{text[:80]}”"
        for english, _, never in rows
        for word in never
        for text in texts
        if re.search(rf"\b{re.escape(word.lower())}", text)
    ]
    assert wrong == []
    # The glossary's words are the ones the catalog uses.
    joined = " ".join(texts)
    terms = [("views", "baxış"), ("creator", "müəllif"), ("juror", "münsif"),
             ("category", "nominasiya"), ("entry", "iştirak edən video"),
             ("pending", "yoxlama gözləyir"), ("crawl", "məlumat toplama")]  # fmt: skip
    for english, term in terms:
        assert term in joined, english
        assert any(term in az for e, az, _ in rows if e.startswith(english)), english
