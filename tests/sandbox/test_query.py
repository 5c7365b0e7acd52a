"""The sandbox API's reading of a video query: fields, body and the condition tree."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import orjson
import pytest

from oyren.sandbox.query import (
    BadRequest,
    create_date,
    id_filter,
    matcher,
    parse_body,
    parse_fields,
)
from oyren.sandbox.simulate import SimVideo

AZ = {"field_name": "region_code", "operation": "IN", "field_values": ["AZ"]}
VIDEO = SimVideo(
    video_id="7340000000000000001",
    username="aysel_teaches",
    create_time=1709596800,  # 2024-03-05T00:00:00Z
    region_code="AZ",
    description="Fotosintez nədir? #TikTokdanÖyrən",
    hashtags=("TikTokdanÖyrən", "Elm"),
    duration_s=45,
    total_views=1000,
    tau_s=86400,
    like_rate=0.05,
    comment_rate=0.01,
    share_rate=0.01,
    music_id="m1",
    voice_to_text=None,
    theme="science",
)


def body(**overrides: Any) -> bytes:
    data: dict[str, Any] = {
        "query": {"and": [AZ]},
        "start_date": "20240301",
        "end_date": "20240330",
        "max_count": 100,
    }
    data.update(overrides)
    return orjson.dumps(data)


def where(name: str, op: str, *values: str) -> dict[str, Any]:
    return {"field_name": name, "operation": op, "field_values": list(values)}


def matches(**query: Any) -> bool:
    return matcher(query)(VIDEO)


def test_parse_fields_reads_the_comma_separated_list():
    assert parse_fields("fields=id,view_count&fields=+username+") == [
        "id",
        "view_count",
        "username",
    ]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("", "fields is required"),
        ("fields=", "fields is required"),
        ("fields=,,", "fields is required"),
        ("fields=id,nope,password", "Invalid fields: nope,password"),
        ("fields=id%00", "Invalid fields: id\x00"),
    ],
)
def test_parse_fields_refuses_missing_and_unknown_fields(query, message):
    with pytest.raises(BadRequest, match=message):
        parse_fields(query)


def test_parse_body_gives_the_request_with_its_defaults():
    assert parse_body(body(search_id=7301, cursor=100)) == {
        "query": {"and": [AZ]},
        "start_date": "20240301",
        "end_date": "20240330",
        "max_count": 100,
        "cursor": 100,
        "search_id": "7301",
    }
    defaults = {"query": {"and": [AZ]}, "start_date": "20240301", "end_date": "20240302"}
    plain = parse_body(orjson.dumps(defaults))
    assert (plain["max_count"], plain["cursor"], plain["search_id"]) == (20, 0, None)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"", "not valid JSON"),
        (b"{", "not valid JSON"),
        (b"\xff\xfe", "not valid JSON"),
        (b"[]", "must be a JSON object"),
        (b"null", "must be a JSON object"),
        (body(query=None), "at least one of and, or, not"),
        (body(query={"and": [], "or": []}), "at least one of and, or, not"),
        (body(query={"and": {"x": 1}}), "query.and must be a list"),
        (body(query={"or": "AZ"}), "query.or must be a list"),
        (body(query={"and": ["AZ"]}), "each condition must be an object"),
        (body(query={"and": [where("country", "IN", "AZ")]}), "Invalid field_name: country"),
        (body(query={"and": [where("region_code", "LIKE", "AZ")]}), "Invalid operation: LIKE"),
        (body(query={"and": [where("region_code", "IN")]}), "non-empty list of strings"),
        (body(query={"and": [{**AZ, "field_values": [1]}]}), "non-empty list of strings"),
        (body(start_date=None), "start_date must be a date like 20240221"),
        (body(end_date="2024-03-30"), "end_date must be a date like 20240221"),
        (body(end_date="20240231"), "end_date must be a date like 20240221"),
        (body(end_date="20240229"), "end_date is before start_date"),
        (body(end_date="20240401"), "no more than 30 days after start_date"),
        (body(max_count=0), "max_count must be between 1 and 100"),
        (body(max_count="20"), "max_count must be between 1 and 100"),
        (body(max_count=101), "max_count must be between 1 and 100"),
        (body(cursor=-1), "Invalid count or cursor"),
        (body(cursor="10"), "Invalid count or cursor"),
    ],
)
def test_parse_body_refuses_what_the_api_refuses(raw, message):
    with pytest.raises(BadRequest, match=message):
        parse_body(raw)


def test_create_date_is_the_utc_posting_date():
    assert create_date(VIDEO) == "20240305"
    assert create_date(replace(VIDEO, create_time=1709596800 - 1)) == "20240304"


def test_matcher_combines_and_or_not():
    assert matches(**{"and": [AZ]})
    assert not matches(**{"and": [AZ, where("username", "EQ", "someone_else")]})
    assert matches(**{"or": [where("username", "EQ", "x"), where("music_id", "IN", "m1")]})
    assert not matches(**{"or": [where("username", "EQ", "x")]})
    assert not matches(**{"and": [AZ], "not": [where("video_id", "EQ", VIDEO.video_id)]})
    assert matches(**{"not": [where("region_code", "EQ", "TR")]})


def test_hashtags_match_literally_except_case():
    assert matches(**{"and": [where("hashtag_name", "IN", "tiktokdanöyrən")]})
    assert matches(**{"and": [where("hashtag_name", "EQ", "ELM")]})
    assert not matches(**{"and": [where("hashtag_name", "IN", "TikTokdanOyren")]})


def test_keyword_is_a_case_blind_substring_of_the_description():
    assert matches(**{"and": [where("keyword", "IN", "FOTOSINTEZ")]})
    assert not matches(**{"and": [where("keyword", "IN", "kimya")]})


def test_dates_and_lengths_compare_as_the_api_does():
    assert matches(**{"and": [where("create_date", "GTE", "20240305")]})
    assert not matches(**{"and": [where("create_date", "GT", "20240305")]})
    assert matches(**{"and": [where("create_date", "LT", "20240306")]})
    assert matches(**{"and": [where("create_date", "LTE", "20240305")]})
    lengths = {
        seconds: [name for name in ("SHORT", "MID", "LONG", "EXTRA_LONG")
                  if matcher({"and": [where("video_length", "EQ", name)]})(
                      replace(VIDEO, duration_s=seconds))]
        for seconds in (14, 15, 60, 61, 300, 301)
    }  # fmt: skip
    assert lengths == {
        14: ["SHORT"],
        15: ["MID"],
        60: ["MID"],
        61: ["LONG"],
        300: ["LONG"],
        301: ["EXTRA_LONG"],
    }
    assert not matches(**{"and": [where("effect_id", "IN", "e1")]})


def test_id_filter_reads_an_and_condition_on_video_id():
    assert id_filter({"and": [AZ, where("video_id", "IN", "1", "2")]}) == frozenset({"1", "2"})
    assert id_filter({"and": [where("video_id", "EQ", "7")]}) == frozenset({"7"})
    assert id_filter({"and": [AZ]}) is None
    assert id_filter({"or": [where("video_id", "IN", "1")]}) is None
    assert id_filter({"and": [where("video_id", "GT", "1")]}) is None
    assert id_filter({}) is None
