"""Flags and the queue's stakes said in the reader's language, from the screening's evidence.

The flags come from the real screening (the same made-up campaigns as tests/screening), so the
evidence rendered here is the evidence the screening writes.
"""

from __future__ import annotations

import re

import pytest

from oyren.rules.campaign import Campaign
from oyren.rules.results import Flag
from oyren.screening.flags import flag_videos
from oyren.screening.reuploads import duplicate_flags
from oyren.web.i18n import Translator, load_catalogs
from oyren.web.words import flag_text, review_text
from tests.screening import conftest as f
from tests.screening import test_reuploads as r


@pytest.fixture(scope="module")
def flags() -> list[Flag]:
    honest = f.honest_campaign()
    bought = f.block(9 * f.DAY, 40_000)
    spike = f.video("1", "buyer", f.START + f.DAY, lambda a: f.curve(30_000, 48, a) + bought(a))
    liked = f.video("5", "liked", f.START + 2 * f.DAY, lambda a: f.curve(50_000, 40, a),
                    like_rate=0.6)  # fmt: skip

    def dropping(age: int) -> int:
        return f.curve(20_000, 30, age) - (6_000 if age >= 10 * f.DAY else 0)

    dropped = f.video("7", "dropped", f.START + f.DAY, dropping)
    moments = (f.START + 15 * f.DAY, f.START + 19 * f.DAY, f.START + 24 * f.DAY)
    group = []
    for n in range(4):
        create = f.START + (n + 1) * f.DAY

        def views(age: int, create: int = create, total: int = 5_000 + 1_000 * n) -> int:
            return f.curve(total, 36, age) + sum(f.block(m - create, 8_000)(age) for m in moments)

        group.append(f.video(str(10 + n), f"ring{n}", create, views))
    found = flag_videos([*honest, spike, liked, dropped, *group])
    copies = duplicate_flags(
        [r.meta("1", "aysel", **r.ORIGINAL), r.meta("2", "copycat", posted=3 * r.DAY, **r.ORIGINAL)]
    )
    out = [*found["1"], *found["5"], *found["7"], found["10"][1], copies[1]]
    assert [x.code for x in out] == ["view_spike", "engagement_outlier", "views_decreased",
                                     "coordinated_accounts", "duplicate_upload"]  # fmt: skip
    return out


@pytest.fixture(scope="module")
def translators() -> dict[str, Translator]:
    catalogs = load_catalogs()
    return {lang: catalogs.translator(lang) for lang in ("az", "en")}


def test_every_flag_carries_its_evidence_as_data(flags: list[Flag]) -> None:
    for flag in flags:
        assert flag.evidence, flag.code
        assert "e+" not in flag.explanation and "e-0" not in flag.explanation


def test_flags_are_said_in_azerbaijani_with_azerbaijani_numbers(
    flags: list[Flag], campaign: Campaign, translators: dict[str, Translator]
) -> None:
    az = translators["az"]
    said = {flag.code: flag_text(az, flag, campaign) for flag in flags}
    for flag in flags:
        assert said[flag.code] != flag.explanation
        assert re.search(r"\d\.?\de[+-]\d", said[flag.code]) is None
    assert "baxış qazanıb" in said["view_spike"]
    assert "40.000" in said["view_spike"] or re.search(r"\d{2}\.\d{3}", said["view_spike"])
    assert "bəyənmə" in said["engagement_outlier"]
    assert "30 %-i" in said["views_decreased"]
    assert "@ring1, @ring2, @ring3" in said["coordinated_accounts"]
    assert "@aysel" in said["duplicate_upload"] and "3 gün" in said["duplicate_upload"]


def test_flags_in_english_use_english_numbers(
    flags: list[Flag], campaign: Campaign, translators: dict[str, Translator]
) -> None:
    said = flag_text(translators["en"], flags[0], campaign)
    assert said.startswith("Gained ") and re.search(r"\d{2},\d{3}", said)


def test_a_flag_from_older_results_keeps_its_english(
    campaign: Campaign, translators: dict[str, Translator]
) -> None:
    old = Flag("view_spike", 0.7, "gained 5,000 views in 2 h")
    assert flag_text(translators["az"], old, campaign) == "gained 5,000 views in 2 h"


def test_stakes_name_prizes_and_themes_in_the_readers_language(
    campaign: Campaign, translators: dict[str, Translator]
) -> None:
    az, en = translators["az"], translators["en"]
    changes = (("impact", "changes_winner"), ("changes", (("discover", "aysel"),)))
    assert review_text(az, "flagged", changes, campaign) == (
        "Kənarlaşdırılsa: kəşf mükafatı @aysel hesabına keçər."
    )
    theme = campaign.themes[0]
    doubtful = (("topic", theme.id), ("confidence", 0.31))
    assert theme.name.az in review_text(az, "topic", doubtful, campaign)
    assert f"“{theme.name.en}”" in review_text(en, "topic", doubtful, campaign)
    assert "31%" in review_text(en, "topic", doubtful, campaign)
    place = (("impact", "eligible"), ("rank", 15), ("of", 2394))
    assert review_text(az, "flagged", place, campaign) == (
        "Reytinqdəki yeri: 15 (2.394 video arasında); kənarlaşdırmaq heç bir mükafatı dəyişmir."
    )
