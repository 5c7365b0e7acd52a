from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from oyren.errors import CampaignError
from oyren.rules.campaign import MAX_CAMPAIGN_BYTES, load_campaign, parse_campaign
from tests.conftest import CAMPAIGN_FILE

BAKU = timezone(timedelta(hours=4))


def minimal(**overrides: str) -> str:
    keys = {
        "id": '"demo"',
        "hashtags": '["TikTokdanÖyrən"]',
        "timezone": '"Asia/Baku"',
        "starts": "2024-02-21",
        "ends": "2024-04-21",
        "regions": '["AZ"]',
        "min_duration_s": "30",
        "max_prizes_per_creator": "1",
        "name": '{ az = "Ad", en = "Name" }',
    }
    keys.update(overrides)
    return "\n".join(f"{k} = {v}" for k, v in keys.items() if v != "")


def test_load_campaign_shipped_file_has_the_announced_rules():
    c = load_campaign(CAMPAIGN_FILE)
    assert c.id == "tiktokdan-oyren-2024"
    assert c.folded_hashtags == frozenset({"tiktokdanoyren", "learnfromtiktok"})
    assert c.window_start == datetime(2024, 2, 21, 0, 0, 0, tzinfo=BAKU)
    assert c.cutoff == datetime(2024, 4, 21, 23, 59, 59, tzinfo=BAKU)
    assert c.announce_by == date(2024, 4, 30)
    assert c.regions == frozenset({"AZ"})
    assert (c.min_duration_s, c.max_prizes_per_creator) == (30, 1)
    assert {cat.id for cat in c.categories} == {"best_video", "discover", "most_creative"}
    assert [t.id for t in c.themes] == [
        "lifehacks",
        "style_beauty",
        "cooking",
        "fitness",
        "science",
        "school",
        "culture",
    ]
    assert len(c.partners) == 7
    assert c.partner_usernames == frozenset()  # usernames are for the organizer to fill


def test_load_campaign_shipped_file_is_bilingual():
    c = load_campaign(CAMPAIGN_FILE)
    for category in c.categories:
        assert category.name.az and category.name.en and category.definition.az
    assert all(p.name.az and p.name.en for p in c.partners)


def test_parse_campaign_cutoff_timestamp_is_baku_midnight_minus_one_second():
    c = parse_campaign(minimal())
    assert c.cutoff_ts == int(datetime(2024, 4, 21, 19, 59, 59, tzinfo=UTC).timestamp())
    assert c.window_start_ts == int(datetime(2024, 2, 20, 20, 0, tzinfo=UTC).timestamp())


def test_parse_campaign_partner_usernames_are_folded_and_at_stripped():
    text = minimal() + '\n[[partners]]\nusername = "@Milli_Muzey"\nname = { az = "M", en = "M" }\n'
    assert parse_campaign(text).partner_usernames == frozenset({"milli_muzey"})


@pytest.mark.parametrize(
    "overrides, key, message",
    [
        ({"id": ""}, "id", "required key is missing"),
        ({"id": '"Bad Id"'}, "id", "lowercase"),
        ({"hashtags": "[]"}, "hashtags", "at least one"),
        ({"hashtags": '["two words"]'}, "hashtags[0]", "single word"),
        ({"hashtags": '"TikTokdanÖyrən"'}, "hashtags", "list"),
        ({"timezone": '"Mars/Olympus"'}, "timezone", "unknown IANA"),
        ({"starts": '"21/02/2024"'}, "starts", "date like"),
        ({"starts": "2024-02-21T00:00:00"}, "starts", "without a time"),
        ({"ends": "2024-01-01"}, "ends", "before starts"),
        ({"regions": '["az"]'}, "regions[0]", "two-letter"),
        ({"min_duration_s": '"30"'}, "min_duration_s", "integer"),
        ({"min_duration_s": "-1"}, "min_duration_s", "at least 0"),
        ({"max_prizes_per_creator": "0"}, "max_prizes_per_creator", "at least 1"),
        ({"max_prizes_per_creator": "true"}, "max_prizes_per_creator", "integer"),
        ({"name": '"only one language"'}, "name", "both languages"),
        ({"name": '{ az = "Ad" }'}, "name.en", "missing"),
        ({"announce_by": "2024-04-01"}, "announce_by", "before 'ends'"),
        ({"colour": '"red"'}, "colour", "unknown key"),
    ],
)
def test_parse_campaign_invalid_value_names_the_key(overrides, key, message):
    with pytest.raises(CampaignError) as excinfo:
        parse_campaign(minimal(**overrides), path="c.toml")
    assert excinfo.value.key == key
    assert message in str(excinfo.value)
    assert str(excinfo.value).startswith("c.toml: ")


def test_parse_campaign_not_toml_names_the_file():
    with pytest.raises(CampaignError, match=r"^c\.toml: not valid TOML"):
        parse_campaign("id = = 3", path="c.toml")


def test_parse_campaign_bad_category_and_partner_name_the_table():
    bad_category = minimal() + '\n[[categories]]\nid = "funniest"\n'
    with pytest.raises(CampaignError) as excinfo:
        parse_campaign(bad_category)
    assert excinfo.value.key == "categories[0].id"
    bad_partner = minimal() + '\n[[partners]]\nusername = "a b"\nname = { az = "M", en = "M" }\n'
    with pytest.raises(CampaignError) as excinfo:
        parse_campaign(bad_partner)
    assert excinfo.value.key == "partners[0].username"


def test_parse_campaign_duplicate_partner_usernames_rejected():
    partner = '\n[[partners]]\nusername = "muzey"\nname = { az = "M", en = "M" }\n'
    with pytest.raises(CampaignError, match="share a username"):
        parse_campaign(minimal() + partner + partner.replace("muzey", "MUZEY"))


def test_load_campaign_missing_file_names_it(tmp_path):
    with pytest.raises(CampaignError, match=r"nope\.toml: file not found"):
        load_campaign(tmp_path / "nope.toml")


def test_load_campaign_binary_file_is_rejected(tmp_path):
    path = tmp_path / "c.toml"
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(CampaignError, match="not UTF-8"):
        load_campaign(path)


def test_campaign_digest_changes_with_the_text():
    assert parse_campaign(minimal()).digest != parse_campaign(minimal(min_duration_s="31")).digest


@pytest.mark.parametrize(
    "value",
    ["[" * 5000 + "]" * 5000, "{ a = " * 5000 + "1" + " }" * 5000],
    ids=["arrays", "inline-tables"],
)
def test_parse_campaign_deep_nesting_is_a_campaign_error_not_a_recursion_error(value):
    with pytest.raises(CampaignError, match=r"^c\.toml: not valid TOML: .*nested too deeply"):
        parse_campaign(minimal(x=value), path="c.toml")


def test_load_campaign_refuses_a_file_past_the_size_limit(tmp_path):
    path = tmp_path / "big.toml"
    path.write_text(minimal() + "\n#" + "x" * MAX_CAMPAIGN_BYTES)
    with pytest.raises(CampaignError, match=r"big\.toml: larger than 1024 KiB"):
        load_campaign(path)


def test_day_ends_cover_the_days_begun_and_end_the_running_day_at_the_last_hour():
    c = load_campaign(CAMPAIGN_FILE)
    assert c.day_ends(c.window_start_ts - 1) == []
    during = c.window_start_ts + 86400 + 5400  # 01:30 on the second day
    ends = c.day_ends(during)
    assert [e.day for e in ends] == [c.starts.day, c.starts.day + 1]
    assert ends[0].hour == 23 and ends[0].second == 59
    assert int(ends[1].timestamp()) == during - during % 3600
    after = c.day_ends(c.cutoff_ts + 10 * 86400)
    assert len(after) == (c.ends - c.starts).days + 1
    assert int(after[-1].timestamp()) == c.cutoff_ts
