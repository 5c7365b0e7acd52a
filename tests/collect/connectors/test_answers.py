"""Reading the Research API's answers: what each error means, and a page's videos validated."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from oyren.collect.connectors.answers import (
    Malformed,
    classify,
    http_date,
    is_int,
    parse_page,
    retry_after,
    token_error,
    unreadable,
)
from oyren.errors import ConnectorError, SearchExpired
from tests.collect.connectors.conftest import NOW, Edge, answer, error, query, video


def test_query_videos_stamps_observations_with_the_server_date(client_for):
    edge = Edge(answer([video()], cursor=100, has_more=True, search_id="s7", at=NOW + 5))
    page = client_for(edge).query_videos(query())
    assert page.collected_at == NOW + 5
    assert [o.collected_at for o in page.observations] == [NOW + 5]
    assert (page.cursor, page.has_more, page.search_id, page.log_id) == (100, True, "s7", "L1")


def test_query_videos_without_date_header_uses_the_clock(client_for, clock):
    body = answer([video()]).json()
    clock.sleep(10)
    page = client_for(Edge(httpx.Response(200, json=body))).query_videos(query())
    assert page.collected_at == NOW + 10


def test_query_videos_accepts_video_id_key_string_ids_and_nul_in_usernames(client_for):
    videos = [
        video(id=None, video_id=7340000000000000002),
        video(id="7340000000000000003", username="lei\x00la"),
    ]
    page = client_for(Edge(answer(videos))).query_videos(query())
    assert [(o.video_id, o.username) for o in page.observations] == [
        ("7340000000000000002", "aysel_teaches"),
        ("7340000000000000003", "leila"),
    ]


def test_query_videos_skips_invalid_videos_and_counts_them(client_for):
    videos = [
        video(),
        video(view_count=None),
        video(view_count="many"),
        "not a video",
        video(id=None),
    ]
    page = client_for(Edge(answer(videos))).query_videos(query())
    assert len(page.observations) == 1
    assert page.returned == 5
    assert [(e.line, e.field) for e in page.skipped] == [
        (2, "view_count"),
        (3, "view_count"),
        (4, None),
        (5, "id"),
    ]
    assert "required field is missing" in str(page.skipped[0])


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"videos": "x", "cursor": 0, "has_more": False}, "'data.videos' is not a list"),
        ({"videos": [], "cursor": 0}, "'data.has_more' is missing"),
        ({"videos": [], "cursor": "soon", "has_more": True}, "'data.cursor' is not a whole"),
        (None, "no 'data' object"),
    ],
)
def test_query_videos_malformed_envelopes_fail_clearly(client_for, data, message):
    body: dict[str, Any] = {"error": {"code": "ok", "message": "", "log_id": "L"}}
    if data is not None:
        body["data"] = data
    edge = Edge(*[httpx.Response(200, json=body)] * 8)
    with pytest.raises(ConnectorError, match=message):
        client_for(edge).query_videos(query())


def test_query_videos_missing_videos_key_is_an_empty_page(client_for):
    body = {"data": {"cursor": 0, "has_more": False}, "error": {"code": "ok"}}
    page = client_for(Edge(httpx.Response(200, json=body))).query_videos(query())
    assert (page.observations, page.returned) == ((), 0)


def test_expired_search_id_raises_search_expired(client_for):
    edge = Edge(error(400, "invalid_params", "Search Id 7301 is invalid or expired"))
    with pytest.raises(SearchExpired, match="Search Id 7301"):
        client_for(edge).query_videos(query(search_id="7301", cursor=100))


def test_invalid_cursor_raises_search_expired(client_for):
    edge = Edge(error(400, "invalid_params", "Invalid count or cursor"))
    with pytest.raises(SearchExpired):
        client_for(edge).query_videos(query(cursor=100))


def test_other_invalid_params_are_our_mistake_and_fatal(client_for):
    edge = Edge(error(400, "invalid_params", "Invalid fields: nope", log_id="L5"))
    with pytest.raises(ConnectorError, match=r"invalid_params: Invalid fields: nope \[log_id L5\]"):
        client_for(edge).query_videos(query())


# --- the module's functions, answer by answer ---


def test_classify_sorts_each_kind_of_answer():
    cases = [
        (answer([video()]), "ok"),
        (error(401, "access_token_invalid"), "token"),
        (httpx.Response(401, text="Unauthorized"), "token"),
        (error(429, "rate_limit_exceeded"), "rate_limit"),
        (httpx.Response(429, text="slow down"), "rate_limit"),
        (error(403, "scope_not_authorized"), "scope"),
        (error(400, "invalid_params", "Search Id 1 is invalid or expired"), "search"),
        (error(400, "invalid_params", "Invalid count or cursor"), "search"),
        (error(400, "invalid_params", "Invalid fields: nope"), "fatal"),
        (error(503, "unavailable"), "retry"),
        (error(200, "internal_error"), "retry"),
        (error(200, "timeout"), "retry"),
        (httpx.Response(504, text="<html>Gateway</html>"), "retry"),
    ]
    assert [classify(response).kind for response, _ in cases] == [kind for _, kind in cases]


@pytest.mark.parametrize(
    "content",
    [b"", b"null", b"[1, 2]", b'"a string"', b"{not json", b"\xff\xfe\x00", b"42"],
)
def test_classify_unreadable_bodies_are_retried_and_quoted(content):
    outcome = classify(httpx.Response(502, content=content))
    assert (outcome.kind, outcome.code, outcome.data) == ("retry", "unreadable", None)
    assert outcome.describe().startswith("HTTP 502, not JSON (no content type)")


def test_classify_ok_without_a_data_object_is_retried_as_malformed():
    for body in ({"error": {"code": "ok"}}, {"data": [], "error": {"code": "ok"}}, {"data": None}):
        outcome = classify(httpx.Response(200, json=body))
        assert (outcome.kind, outcome.code) == ("retry", "malformed")


def test_classify_counts_the_videos_returned_and_tolerates_an_odd_error_field():
    body = {"data": {"videos": [1, 2, 3]}, "error": "not an object"}
    outcome = classify(httpx.Response(200, json=body))
    assert (outcome.kind, outcome.returned, outcome.log_id) == ("ok", 3, "")
    odd = classify(httpx.Response(200, json={"data": {"videos": "x"}}))
    assert (odd.kind, odd.returned) == ("ok", 0)


def test_outcome_describe_names_status_code_message_and_log_id():
    outcome = classify(error(400, "invalid_params", "Invalid fields: nope", log_id="L5"))
    assert outcome.describe() == "HTTP 400 invalid_params: Invalid fields: nope [log_id L5]"
    bare = classify(httpx.Response(500, json={"error": {}}))
    assert bare.describe() == "HTTP 500 error"


def test_unreadable_quotes_the_start_of_the_body_on_one_line():
    html = "<html>\n<h1>504 Gateway Time-out</h1>\n" + "x" * 500
    text = unreadable(
        httpx.Response(504, text=html, headers={"content-type": "text/html; charset=utf-8"})
    )
    assert text.startswith("HTTP 504, not JSON (text/html): '<html> <h1>504 Gateway Time-out")
    assert "\n" not in text
    assert len(text) < 200


def test_parse_page_validates_and_counts_each_video():
    data = {
        "videos": [video(), "junk", video(view_count=-1), video(id=2)],
        "cursor": "20",
        "has_more": True,
        "search_id": 7301,
    }
    page = parse_page(data, collected_at=NOW, log_id="L3", url="https://api.test/v2/q/?fields=x")
    assert [o.video_id for o in page.observations] == ["7340000000000000001", "2"]
    assert (page.cursor, page.has_more, page.search_id, page.returned) == (20, True, "7301", 4)
    assert [(e.line, e.path) for e in page.skipped] == [
        (2, "https://api.test/v2/q/ (log_id L3)"),
        (3, "https://api.test/v2/q/ (log_id L3)"),
    ]
    assert {o.collected_at for o in page.observations} == {NOW}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"videos": {}, "has_more": False}, "'data.videos' is not a list"),
        ({"videos": [], "has_more": "no"}, "'data.has_more' is missing"),
        ({"videos": [], "has_more": False, "cursor": -1}, "'data.cursor' is not a whole"),
        ({"videos": [], "has_more": False, "cursor": True}, "'data.cursor' is not a whole"),
        ({"videos": [], "has_more": False, "cursor": 1.5}, "'data.cursor' is not a whole"),
        ({"videos": [], "has_more": False, "search_id": ["s"]}, "'data.search_id'"),
    ],
)
def test_parse_page_malformed_envelopes_raise_malformed(data, message):
    with pytest.raises(Malformed, match=message):
        parse_page(data, collected_at=NOW, log_id="", url="u")


def test_parse_page_null_videos_and_empty_search_id_are_an_empty_last_page():
    page = parse_page({"videos": None, "has_more": False, "search_id": ""}, NOW, "", "u")
    assert (page.observations, page.cursor, page.search_id, page.returned) == ((), 0, None, 0)


def test_token_error_reads_both_shapes():
    assert token_error({"error": {"code": "invalid_client", "message": "bad key"}}) == (
        "invalid_client: bad key"
    )
    assert token_error({"error": "invalid_grant", "error_description": "expired"}) == (
        "invalid_grant: expired"
    )
    assert token_error({}) == "error"


def test_is_int_refuses_booleans_and_other_numbers():
    assert [is_int(v) for v in (0, -3, 2**70, True, False, 1.0, "1", None)] == [
        True,
        True,
        True,
        False,
        False,
        False,
        False,
        False,
    ]


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("Sun, 21 Apr 2024 19:59:59 GMT", 1713729599),
        (None, None),
        ("", None),
        ("yesterday", None),
        ("Sun, 99 Apr 2024 19:59:59 GMT", None),
    ],
)
def test_http_date_reads_a_date_header_or_gives_none(header, expected):
    assert http_date(header) == expected


@pytest.mark.parametrize(
    ("header", "expected"),
    [("7", 7.0), ("0.5", 0.5), ("0", 0.0), (None, None), ("-3", None), ("soon", None)],
)
def test_retry_after_reads_seconds_or_gives_none(header, expected):
    assert retry_after(header) == expected
