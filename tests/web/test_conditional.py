"""Conditional answers: validators on public pages, 304 when unchanged, hostile headers."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from sqlalchemy import Engine

from oyren.rules.campaign import Campaign
from oyren.store import moderate
from oyren.store.db import transaction
from oyren.store.freshness import Version
from oyren.web.conditional import (
    MAX_TAGS,
    CachePolicy,
    RenderedAnswers,
    http_date,
    is_not_modified,
    make_validator,
    parse_if_none_match,
)
from tests.web.conftest import Clock, log_in

POLICY = CachePolicy()


def _pages(sandbox: Campaign) -> list[str]:
    base = f"/campaigns/{sandbox.id}"
    return [
        "/campaigns",
        base,
        f"{base}/leaderboard",
        f"{base}/leaderboard.json",
        f"{base}/winners",
        f"{base}/partners.json",
        f"{base}/stats",
    ]


def test_public_pages_carry_validators_and_answer_304(
    client: httpx.Client, sandbox: Campaign
) -> None:
    for path in _pages(sandbox):
        first = client.get(path)
        assert first.status_code == 200, path
        etag = first.headers["etag"]
        assert etag.startswith('W/"'), path
        assert "s-maxage=" in first.headers["cache-control"]
        assert "public" in first.headers["cache-control"]
        assert "set-cookie" not in first.headers, path  # a shared cache must not hand it out
        again = client.get(path, headers={"If-None-Match": etag})
        assert again.status_code == 304, path
        assert again.content == b""
        assert again.headers["etag"] == etag
        since = client.get(path, headers={"If-Modified-Since": first.headers["last-modified"]})
        assert since.status_code == 304, path


def test_the_twin_and_each_language_have_their_own_tags(
    client: httpx.Client, sandbox: Campaign
) -> None:
    base = f"/campaigns/{sandbox.id}/leaderboard"
    tags = {
        client.get(base).headers["etag"],
        client.get(base + ".json").headers["etag"],
        client.get(base + "?lang=en").headers["etag"],
        client.get(base, headers={"Accept": "application/json"}).headers["etag"],
    }
    assert len(tags) == 4


def test_a_decision_makes_a_new_etag(
    client: httpx.Client, sandbox: Campaign, sandbox_db: Engine
) -> None:
    path = f"/campaigns/{sandbox.id}/leaderboard.json"
    first = client.get(path)
    top = first.json()["videos"][0]["video_id"]
    with transaction(sandbox_db) as session:
        moderate(
            session, campaign_id=sandbox.id, video_id=top, action="exclude", reason="r", by="m"
        )
    after = client.get(path, headers={"If-None-Match": first.headers["etag"]})
    assert after.status_code == 200
    assert after.headers["etag"] != first.headers["etag"]
    assert top not in [v["video_id"] for v in after.json()["videos"]]


def test_time_moving_on_makes_a_new_etag(
    client: httpx.Client, sandbox: Campaign, clock: Clock
) -> None:
    path = f"/campaigns/{sandbox.id}"
    first = client.get(path)
    clock.now += POLICY.step_s
    after = client.get(path, headers={"If-None-Match": first.headers["etag"]})
    assert after.status_code == 200
    assert after.headers["etag"] != first.headers["etag"]


@pytest.mark.parametrize(
    "header",
    [
        "",
        "garbage",
        '"unterminated',
        'W/"a" "b"',
        '"a",,"b"',
        "W/",
        '"\x00"',
        '"a"' + ', "b"' * (MAX_TAGS + 1),
        '"' + "a" * 5000 + '"',
        "*, *",
        '"a" ; drop table',
    ],
)
def test_hostile_if_none_match_gets_the_full_page(
    client: httpx.Client, sandbox: Campaign, header: str
) -> None:
    response = client.get(
        f"/campaigns/{sandbox.id}/leaderboard.json", headers={"If-None-Match": header}
    )
    assert response.status_code == 200
    assert response.json()["videos"]


@pytest.mark.parametrize(
    "header", ["yesterday", "Thu, 99 Foo 2026 99:99:99 GMT", "0", "x" * 200, "Mon, 1 Jan 99999"]
)
def test_malformed_if_modified_since_gets_the_full_page(
    client: httpx.Client, sandbox: Campaign, header: str
) -> None:
    response = client.get(f"/campaigns/{sandbox.id}", headers={"If-Modified-Since": header})
    assert response.status_code == 200


def test_a_star_or_a_list_holding_the_tag_matches(client: httpx.Client, sandbox: Campaign) -> None:
    path = f"/campaigns/{sandbox.id}/leaderboard"
    etag = client.get(path).headers["etag"]
    assert client.get(path, headers={"If-None-Match": "*"}).status_code == 304
    listed = f'"other", {etag} , W/"x"'
    assert client.get(path, headers={"If-None-Match": listed}).status_code == 304
    strong = etag.removeprefix("W/")  # weak comparison: a strong spelling matches too
    assert client.get(path, headers={"If-None-Match": strong}).status_code == 304


def test_if_none_match_wins_over_if_modified_since(client: httpx.Client, sandbox: Campaign) -> None:
    path = f"/campaigns/{sandbox.id}/leaderboard"
    first = client.get(path)
    response = client.get(
        path,
        headers={"If-None-Match": '"stale"', "If-Modified-Since": first.headers["last-modified"]},
    )
    assert response.status_code == 200


def test_a_page_read_again_is_sent_as_rendered_without_reading_its_data(
    client: httpx.Client, sandbox: Campaign, monkeypatch: pytest.MonkeyPatch
) -> None:
    from oyren.web import public

    paths = [f"/campaigns/{sandbox.id}/leaderboard", f"/campaigns/{sandbox.id}/leaderboard.json"]
    first = [client.get(path) for path in paths]

    def unread(*_: object, **__: object) -> None:
        raise AssertionError("the page's data was read again")

    monkeypatch.setattr(public.publishing, "leaderboard", unread)
    for path, before in zip(paths, first, strict=True):
        again = client.get(path)
        assert again.status_code == 200
        assert again.content == before.content
        assert again.headers["etag"] == before.headers["etag"]
        assert again.headers["content-type"] == before.headers["content-type"]
        assert "set-cookie" not in again.headers


def test_a_kept_page_is_not_sent_after_a_write_or_to_someone_signed_in(
    make_client: Callable[..., httpx.Client], sandbox: Campaign, sandbox_db: Engine
) -> None:
    path = f"/campaigns/{sandbox.id}/leaderboard"
    with make_client() as c:
        first = c.get(path)
        top = c.get(path + ".json").json()["videos"][0]["video_id"]
        with transaction(sandbox_db) as session:
            moderate(
                session, campaign_id=sandbox.id, video_id=top, action="exclude", reason="r", by="m"
            )
        after = c.get(path)
        assert after.headers["etag"] != first.headers["etag"]
        assert after.content != first.content
        log_in(c, "olga")
        signed_in = c.get(path)
    assert "olga" in signed_in.text
    assert "olga" not in after.text


def test_rendered_answers_keep_the_most_recently_used() -> None:
    answers = RenderedAnswers(max_entries=2)
    answers.put(("a", "h"), b"A", "text/html")
    answers.put(("b", "h"), b"B", "text/html")
    assert answers.get(("a", "h")) == (b"A", "text/html")
    answers.put(("c", "h"), b"C", "application/json")
    assert answers.get(("b", "h")) is None
    assert answers.get(("a", "h")) == (b"A", "text/html")
    assert answers.get(("c", "h")) == (b"C", "application/json")
    assert len(answers) == 2
    off = RenderedAnswers(max_entries=0)
    off.put(("a", "h"), b"A", "text/html")
    assert off.get(("a", "h")) is None


def test_one_request_renders_a_missed_page_while_the_others_wait_for_it() -> None:
    import threading

    answers = RenderedAnswers(wait_s=10.0)
    key = ("tag", "http://h/")
    assert answers.get_or_claim(key) == (None, True)  # this one renders
    got: list[object] = []
    waiter = threading.Thread(target=lambda: got.append(answers.get_or_claim(key)))
    waiter.start()
    waiter.join(0.2)
    assert waiter.is_alive()  # waiting for the render, not rendering it again
    answers.put(key, b"page", "text/html")
    waiter.join(5)
    assert got == [((b"page", "text/html"), False)]
    # A render that fails lets the waiters go at once, to render it themselves.
    other = ("other", "http://h/")
    assert answers.get_or_claim(other) == (None, True)
    waiter = threading.Thread(target=lambda: got.append(answers.get_or_claim(other)))
    waiter.start()
    answers.release(other)
    waiter.join(5)
    assert got[-1] == (None, False)
    assert answers.get_or_claim(other) == (None, True)


def test_a_page_that_fails_gives_up_its_claim(
    make_client: Callable[..., httpx.Client], sandbox: Campaign, monkeypatch: pytest.MonkeyPatch
) -> None:
    from oyren.web import public

    real = public.publishing.leaderboard
    calls = []

    def once_broken(*args: object, **kwargs: object) -> object:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("broken")
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(public.publishing, "leaderboard", once_broken)
    path = f"/campaigns/{sandbox.id}/leaderboard"
    with make_client(raise_server_exceptions=False) as c:
        assert c.get(path).status_code == 500
        answers = c._transport._asgi.app.state.web.answers  # type: ignore[attr-defined]
        assert not answers._rendering  # nobody waits for a page that will never come
        assert c.get(path).status_code == 200
    assert len(calls) == 2


def test_signed_in_readers_get_private_answers(
    make_client: Callable[..., httpx.Client], sandbox: Campaign
) -> None:
    with make_client() as c:
        log_in(c, "olga")
        response = c.get(f"/campaigns/{sandbox.id}/leaderboard")
    assert response.status_code == 200
    assert "etag" not in response.headers
    assert response.headers["cache-control"] == "private, no-cache"


def test_unknown_campaign_is_still_a_404(client: httpx.Client) -> None:
    response = client.get("/campaigns/nothing-here/leaderboard", headers={"If-None-Match": "*"})
    assert response.status_code == 404


def test_pages_with_forms_have_no_shared_validator(client: httpx.Client, sandbox: Campaign) -> None:
    response = client.get(f"/campaigns/{sandbox.id}/check")
    assert "etag" not in response.headers
    assert "oyren_csrf" in response.headers.get("set-cookie", "")


def test_parse_if_none_match() -> None:
    assert parse_if_none_match('"a", W/"b"') == ('"a"', '"b"')
    assert parse_if_none_match(" * ") == ("*",)
    assert parse_if_none_match('"a" "b"') is None
    assert parse_if_none_match("") is None


def test_validator_steps_with_time_and_last_modified_never_goes_back() -> None:
    version = Version(digest="d", modified_at=1000)
    a = make_validator(version, variant="v", now=1_000_000, policy=POLICY)
    b = make_validator(version, variant="v", now=1_000_000 + POLICY.step_s, policy=POLICY)
    assert a.etag != b.etag
    assert b.last_modified > a.last_modified >= 1000
    assert is_not_modified({"if-modified-since": http_date(a.last_modified)}, a)
    assert not is_not_modified({"if-modified-since": http_date(a.last_modified - 1)}, a)


def test_head_answers_as_get_without_the_body(client: httpx.Client, sandbox: Campaign) -> None:
    """Link checkers and monitors ask with HEAD: the status, validators and length of GET."""
    for path in [*_pages(sandbox), "/static/style.css", f"/campaigns/{sandbox.id}/nothing-here"]:
        got, head = client.get(path), client.head(path)
        assert head.status_code == got.status_code, path
        assert head.content == b"", path
        assert int(head.headers["content-length"]) == len(got.content), path
        for name in ("etag", "last-modified", "cache-control", "content-type", "vary"):
            assert head.headers.get(name) == got.headers.get(name), (path, name)
    etag = client.get(f"/campaigns/{sandbox.id}").headers["etag"]
    again = client.head(f"/campaigns/{sandbox.id}", headers={"If-None-Match": etag})
    assert (again.status_code, again.content) == (304, b"")


def test_head_where_get_is_not_answered_is_refused(client: httpx.Client) -> None:
    refused = client.head("/logout")  # a form's target: POST only
    assert refused.status_code == 405
    assert refused.content == b""
