"""The jury's pages: a juror's session, the organizer's rounds, who may reach what, CSRF."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

from oyren.store import create_round, invite_juror, round_judgments
from oyren.store.accounts import create_user
from oyren.store.db import transaction
from tests.conftest import HOSTILE_TEXT, PASSWORD, TOP_ID, TOP_USER
from tests.web.conftest import csrf_of, log_in

CID = "sandbox-2024"
ORG = f"/organizer/campaigns/{CID}/jury"


@pytest.fixture
def round_id(sandbox_db: Engine) -> int:
    """A round on the 6 most viewed eligible entries with the juror 'jale' invited."""
    with transaction(sandbox_db) as session:
        made = create_round(session, campaign_id=CID, name="Final", by="olga", top=6)
        invite_juror(session, round_id=made.id, juror="jale", by="olga")
        create_user(session, username="kamal", password=PASSWORD, role="juror", by="olga")
    return made.id


def answers(engine: Engine, round_id: int) -> list[tuple[str, tuple[str, ...], bool]]:
    with transaction(engine) as session:
        return [(j.kind, j.entries, j.undone) for j in round_judgments(session, round_id=round_id)]


def question(client: httpx.Client, round_id: int) -> list[str]:
    data = client.get(f"/jury/rounds/{round_id}.json").json()
    return [v["video_id"] for v in data["videos"]]


def test_juror_answers_undoes_and_skips(
    juror: httpx.Client, round_id: int, sandbox_db: Engine
) -> None:
    page = juror.get(f"/jury/rounds/{round_id}")
    assert page.status_code == 200
    assert "Left is better" in page.text or "Sol daha yaxşıdır" in page.text
    token = csrf_of(juror, f"/jury/rounds/{round_id}")
    left, right = question(juror, round_id)
    posted = juror.post(
        f"/jury/rounds/{round_id}/answer",
        data={"entry": [left, right], "choice": "right", "csrf_token": token},
    )
    assert (posted.status_code, posted.headers["location"]) == (303, f"/jury/rounds/{round_id}")
    assert answers(sandbox_db, round_id) == [("pair", (right, left), False)]
    a, b = question(juror, round_id)
    juror.post(
        f"/jury/rounds/{round_id}/answer",
        data={"entry": [a, b], "choice": "equal", "csrf_token": token},
    )
    juror.post(f"/jury/rounds/{round_id}/undo", data={"csrf_token": token})
    assert answers(sandbox_db, round_id)[1] == ("tie", (a, b), True)
    c, d = question(juror, round_id)
    juror.post(
        f"/jury/rounds/{round_id}/answer",
        data={"entry": [c, d], "skip": d, "csrf_token": token},
    )
    assert answers(sandbox_db, round_id)[2] == ("skip", (d,), False)
    status = juror.get(f"/jury/rounds/{round_id}.json").json()
    assert status["answers"] == 1
    assert "leader" not in str(status) and "p_best" not in str(status)


def test_juror_orders_a_batch(juror: httpx.Client, sandbox_db: Engine) -> None:
    with transaction(sandbox_db) as session:
        made = create_round(session, campaign_id=CID, name="Batch", by="olga", top=6, size=3)
        invite_juror(session, round_id=made.id, juror="jale", by="olga")
    token = csrf_of(juror, f"/jury/rounds/{made.id}")
    shown = question(juror, made.id)
    assert len(shown) == 3
    response = juror.post(
        f"/jury/rounds/{made.id}/answer",
        data={"entry": shown, "choice": "order", "place": ["2", "3", "1"], "csrf_token": token},
    )
    assert response.status_code == 303
    assert answers(sandbox_db, made.id) == [("ranking", (shown[2], shown[0], shown[1]), False)]
    twice = juror.post(
        f"/jury/rounds/{made.id}/answer",
        data={"entry": shown, "choice": "order", "place": ["1", "1", "2"], "csrf_token": token},
    )
    assert twice.status_code == 400


def test_juror_page_escapes_descriptions(juror: httpx.Client, sandbox_db: Engine) -> None:
    with transaction(sandbox_db) as session:
        made = create_round(session, campaign_id=CID, name="<i>Final</i>", by="olga", top=2)
        invite_juror(session, round_id=made.id, juror="jale", by="olga")
    page = juror.get(f"/jury/rounds/{made.id}").text
    assert f"@{TOP_USER}" in page
    assert f"https://www.tiktok.com/@{TOP_USER}/video/{TOP_ID}" in page
    assert HOSTILE_TEXT not in page and "<i>Final</i>" not in page
    body = page.split("</head>")[1]
    own = ('<script src="/static/player.js" defer></script>',
           '<script src="/static/ballot.js" defer></script>')  # fmt: skip
    assert all(tag in body for tag in own)
    for tag in own:
        body = body.replace(tag, "")
    assert "<script" not in body


def test_answer_without_csrf_is_refused(
    juror: httpx.Client, round_id: int, sandbox_db: Engine
) -> None:
    left, right = question(juror, round_id)
    response = juror.post(
        f"/jury/rounds/{round_id}/answer", data={"entry": [left, right], "choice": "left"}
    )
    assert response.status_code == 403
    assert answers(sandbox_db, round_id) == []


def test_answer_to_another_question_is_refused(
    juror: httpx.Client, round_id: int, sandbox_db: Engine
) -> None:
    token = csrf_of(juror, f"/jury/rounds/{round_id}")
    response = juror.post(
        f"/jury/rounds/{round_id}/answer",
        data={"entry": [TOP_ID, "1"], "choice": "left", "csrf_token": token},
        headers={"Accept": "application/json"},
    )
    assert response.status_code == 400
    assert answers(sandbox_db, round_id) == []


def test_uninvited_juror_is_refused(
    make_client: Callable[..., httpx.Client], round_id: int
) -> None:
    with make_client() as other:
        log_in(other, "kamal")
        refused = other.get(f"/jury/rounds/{round_id}.json")
        missing = other.get(f"/jury/rounds/{round_id + 1}.json")
        assert other.get("/jury.json").json() == []
    assert (refused.status_code, missing.status_code) == (403, 404)
    assert refused.json()["error"]["message"] == f"'kamal' is not a juror of round {round_id}"
    assert missing.json()["error"]["message"] == f"no jury round {round_id + 1}"


def test_anonymous_and_staff_cannot_reach_jury_pages(
    client: httpx.Client,
    organizer: httpx.Client,
    moderator: httpx.Client,
    round_id: int,
) -> None:
    page = client.get(f"/jury/rounds/{round_id}")
    assert page.status_code == 303 and page.headers["location"].startswith("/login")
    json = {"Accept": "application/json"}
    assert client.get(f"/jury/rounds/{round_id}.json", headers=json).status_code == 401
    assert organizer.get(f"/jury/rounds/{round_id}").status_code == 403
    assert moderator.get("/jury").status_code == 403


def test_juror_and_moderator_cannot_reach_round_admin(
    juror: httpx.Client, moderator: httpx.Client, round_id: int
) -> None:
    for who in (juror, moderator):
        assert who.get(ORG).status_code == 403
        token = csrf_of(who)
        closing = who.post(f"/organizer/jury/rounds/{round_id}/close", data={"csrf_token": token})
        assert closing.status_code == 403


def test_organizer_opens_invites_watches_and_closes(
    organizer: httpx.Client, sandbox_db: Engine
) -> None:
    token = csrf_of(organizer, ORG)
    made = organizer.post(
        ORG,
        data={
            "name": "Final",
            "rule": "top",
            "value": "5",
            "threshold": "0.8",
            "csrf_token": token,
        },
    )
    assert made.status_code == 303
    rounds = organizer.get(ORG + ".json").json()
    assert [(r["round"]["name"], len(r["round"]["shortlist"])) for r in rounds] == [("Final", 5)]
    new_id = rounds[0]["round"]["id"]
    invited = organizer.post(
        f"/organizer/jury/rounds/{new_id}/invite",
        data={"juror": "jale", "conflicts": f"{TOP_USER}, 123", "csrf_token": token},
    )
    assert invited.status_code == 303
    page = organizer.get(ORG).text
    assert "jale" in page and TOP_USER in page
    progress = organizer.get(ORG + ".json").json()[0]["progress"]
    assert (progress["answers"], progress["threshold"]) == (0, 0.8)
    assert "leader_p_best" in progress
    closed = organizer.post(f"/organizer/jury/rounds/{new_id}/close", data={"csrf_token": token})
    assert closed.status_code == 303
    assert organizer.get(ORG + ".json").json()[0]["round"]["status"] == "closed"


def test_juror_lands_on_the_jury_page(make_client: Callable[..., httpx.Client]) -> None:
    with make_client() as c:
        token = csrf_of(c)
        response = c.post(
            "/login", data={"username": "jale", "password": PASSWORD, "csrf_token": token}
        )
        assert (response.status_code, response.headers["location"]) == (303, "/jury")
        assert "/jury" in c.get("/jury").text


# --- Close races: focus, face-off, tie-break; the award's warning; the winners page -------------


def test_organizer_focuses_a_round_and_breaks_a_tie(
    organizer: httpx.Client, round_id: int, sandbox_db: Engine
) -> None:
    token = csrf_of(organizer, ORG)
    shortlist = organizer.get(ORG + ".json").json()[0]["round"]["shortlist"]
    a, b = shortlist[0], shortlist[1]
    url = f"/organizer/jury/rounds/{round_id}"
    more = organizer.post(url + "/focus", data={"mode": "faceoff", "entry": [a, b],
                                                "csrf_token": token})  # fmt: skip
    assert (more.status_code, more.headers["location"]) == (303, ORG)
    shown = organizer.get(ORG + ".json").json()[0]["round"]["focus"]
    assert (shown["entries"], shown["mode"]) == ([a, b], "faceoff")
    assert (
        "Final face-off" in organizer.get(ORG).text
        or "Final qarşılaşması" in organizer.get(ORG).text
    )
    off = organizer.post(url + "/focus", data={"mode": "off", "csrf_token": token})
    assert off.status_code == 303
    assert organizer.get(ORG + ".json").json()[0]["round"]["focus"] is None
    # Bad input: one entry, an entry off the shortlist, an unknown mode, no reason, a stranger.
    bad = [
        ("/focus", {"mode": "more", "entry": [a]}, 400),
        ("/focus", {"mode": "more", "entry": [a, "99"]}, 400),
        ("/focus", {"mode": "loud", "entry": [a, b]}, 400),
        ("/tiebreak", {"first": a, "pair": [a, b], "reason": " "}, 400),
        ("/tiebreak", {"first": "99", "pair": [a, b], "reason": "x"}, 400),
        ("/tiebreak", {"first": a, "pair": [a, b, "7"], "reason": "x"}, 400),
    ]
    for path, data, code in bad:
        assert organizer.post(url + path, data={**data, "csrf_token": token}).status_code == code
    decided = organizer.post(url + "/tiebreak", data={"first": b, "pair": [a, b],
                                                      "reason": HOSTILE_TEXT,
                                                      "csrf_token": token})  # fmt: skip
    assert decided.status_code == 303
    assert answers(sandbox_db, round_id)[-1] == ("tiebreak", (b, a), False)
    assert HOSTILE_TEXT not in organizer.get(ORG).text  # escaped, never raw
    assert organizer.get(ORG + ".json").json()[0]["progress"]["tiebreak"][:2] == [b, a]


def test_round_admin_posts_need_an_organizer_and_csrf(
    juror: httpx.Client, organizer: httpx.Client, round_id: int
) -> None:
    url = f"/organizer/jury/rounds/{round_id}"
    token = csrf_of(juror)
    for path, data in (
        ("/focus", {"mode": "off"}),
        ("/tiebreak", {"first": "1", "pair": ["1", "2"]}),
    ):
        assert juror.post(url + path, data={**data, "csrf_token": token}).status_code == 403
        assert organizer.post(url + path, data=data).status_code in (400, 403)


@pytest.mark.parametrize(
    ("typed", "status", "kept"),
    [("0,85", 303, 0.85), ("0.85", 303, 0.85), (" 0,9 ", 303, 0.9), ("0,3", 400, None),
     ("1", 400, None), ("abc", 400, None), ("0,9e1", 400, None), ("1.0.0", 400, None)],
)  # fmt: skip
def test_round_form_reads_the_readers_decimal_separator(
    organizer: httpx.Client, typed: str, status: int, kept: float | None
) -> None:
    token = csrf_of(organizer, ORG)
    form = {"name": "R", "rule": "top", "value": "4", "threshold": typed, "csrf_token": token}
    made = organizer.post(ORG, data=form)
    assert made.status_code == status
    rounds = organizer.get(ORG + ".json").json()
    assert [r["progress"]["threshold"] for r in rounds] == ([kept] if kept else [])
    if status == 400:
        assert "0,5" in made.text and "0,99" in made.text
    assert 'value="0,9"' in organizer.get(ORG).text


def test_organizer_creates_a_juror_account_and_invites_it(
    organizer: httpx.Client, make_client: Any, sandbox_db: Engine
) -> None:
    token = csrf_of(organizer, ORG)
    made = organizer.post(
        f"/organizer/campaigns/{CID}/jurors", data={"username": "rashad", "csrf_token": token}
    )
    assert made.status_code == 200
    password = re.search(r'<p class="digest">([A-Za-z0-9_-]{16})</p>', made.text)
    assert password is not None and "rashad" in made.text
    assert '<option value="rashad">' in organizer.get(ORG).text
    assert password.group(1) not in organizer.get(ORG).text  # shown once
    with make_client() as fresh:
        login = csrf_of(fresh)
        signed = fresh.post("/login", data={"username": "rashad", "password": password.group(1),
                                            "csrf_token": login})  # fmt: skip
        assert signed.status_code == 303
    again = organizer.post(
        f"/organizer/campaigns/{CID}/jurors", data={"username": "rashad", "csrf_token": token}
    )
    assert again.status_code == 400 and "already an account" in again.text
    hostile = organizer.post(
        f"/organizer/campaigns/{CID}/jurors", data={"username": "<b>x</b>", "csrf_token": token}
    )
    assert hostile.status_code == 400 and "<b>x</b>" not in hostile.text
    no_csrf = organizer.post(f"/organizer/campaigns/{CID}/jurors", data={"username": "zaur"})
    assert no_csrf.status_code == 403


def test_each_place_box_starts_at_its_own_place(juror: httpx.Client, sandbox_db: Engine) -> None:
    """Without script, saving the order as shown must work: box n says n."""
    with transaction(sandbox_db) as session:
        made = create_round(session, campaign_id=CID, name="Four", by="olga", top=4, size=4)
        invite_juror(session, round_id=made.id, juror="jale", by="olga")
    page = juror.get(f"/jury/rounds/{made.id}").text
    chosen = re.findall(r'<option value="(\d)" selected>', page)
    assert chosen == ["1", "2", "3", "4"]
