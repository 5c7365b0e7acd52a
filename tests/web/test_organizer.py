"""The organizer's pages: who may see and do what, sign-in, CSRF, moderation and the award."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

from oyren.rules.campaign import Campaign
from tests.conftest import PASSWORD, PENDING_ID, SECOND_ID, TOP_ID
from tests.web.conftest import Clock, csrf_of, log_in

BASE = "/campaigns/sandbox-2024"
ORG = "/organizer/campaigns/sandbox-2024"
STAFF_PAGES = ["/organizer", ORG, ORG + "/queue", ORG + f"/videos/{TOP_ID}", ORG + "/audit"]
ORGANIZER_PAGES = [ORG + "/award", ORG + "/export.csv", ORG + "/export.json"]
TWINS = [p + ".json" for p in [*STAFF_PAGES, ORG + "/award"]]
DECIDE = (ORG + f"/videos/{PENDING_ID}/decision", {"action": "include", "reason": "checked"})
AWARD = (ORG + "/award", {"confirm": "sandbox-2024"})


def statuses(client: httpx.Client, paths: list[str], **kw: Any) -> dict[str, int]:
    """Each path's status code for this client."""
    return {path: client.get(path, **kw).status_code for path in paths}


def test_anonymous_page_visit_is_sent_to_log_in(client: httpx.Client) -> None:
    pages = STAFF_PAGES + ORGANIZER_PAGES[:2]
    found = {p: (r.status_code, r.headers.get("location")) for p in pages if (r := client.get(p))}
    assert found == {p: (303, f"/login?{httpx.QueryParams({'next': p})}") for p in pages}


def test_anonymous_api_call_is_401(client: httpx.Client) -> None:
    paths = TWINS + ORGANIZER_PAGES
    found = statuses(client, paths, headers={"Accept": "application/json"})
    assert found == dict.fromkeys(paths, 401)
    assert client.get(TWINS[0]).json()["error"]["status"] == 401


@pytest.mark.parametrize(("path", "data"), [DECIDE, AWARD])
def test_anonymous_post_is_refused_and_changes_nothing(
    client: httpx.Client, path: str, data: dict[str, str]
) -> None:
    token = csrf_of(client)
    response = client.post(
        path, data={**data, "csrf_token": token}, headers={"Accept": "application/json"}
    )
    assert response.status_code == 401
    assert client.get(BASE + "/winners.json").json()["award"] is None


def test_juror_is_refused_every_organizer_page(juror: httpx.Client) -> None:
    paths = STAFF_PAGES + ORGANIZER_PAGES + TWINS
    assert statuses(juror, paths) == dict.fromkeys(paths, 403)


@pytest.mark.parametrize(("path", "data"), [DECIDE, AWARD])
def test_juror_may_not_decide_or_award(
    juror: httpx.Client, path: str, data: dict[str, str]
) -> None:
    token = csrf_of(juror)
    assert juror.post(path, data={**data, "csrf_token": token}).status_code == 403


def test_moderator_sees_the_staff_pages_but_may_not_award_or_export(
    moderator: httpx.Client,
) -> None:
    paths = STAFF_PAGES + ORGANIZER_PAGES + TWINS
    expected = {p: 403 if p in ORGANIZER_PAGES or "/award" in p else 200 for p in paths}
    assert statuses(moderator, paths) == expected


def test_moderator_may_not_post_an_award(moderator: httpx.Client) -> None:
    token = csrf_of(moderator)
    path, data = AWARD
    assert moderator.post(path, data={**data, "csrf_token": token}).status_code == 403


def test_organizer_sees_every_page(organizer: httpx.Client) -> None:
    paths = STAFF_PAGES + ORGANIZER_PAGES + TWINS
    assert statuses(organizer, paths) == dict.fromkeys(paths, 200)


def test_log_in_with_a_wrong_password_fails(client: httpx.Client) -> None:
    token = csrf_of(client)
    response = client.post(
        "/login",
        data={
            "username": "olga",
            "password": PASSWORD + "!",
            "csrf_token": token,
            "next": "/organizer",
        },
    )
    assert response.status_code == 401
    assert "heç bir hesaba uyğun gəlmir" in response.text
    assert client.get("/organizer").status_code == 303


def test_log_in_without_csrf_token_fails(client: httpx.Client) -> None:
    client.get("/login")
    response = client.post("/login", data={"username": "olga", "password": PASSWORD})
    assert response.status_code == 403
    assert client.get("/organizer").status_code == 303


def test_log_in_goes_back_where_asked_but_never_off_site(client: httpx.Client) -> None:
    token = csrf_of(client)
    off = client.post(
        "/login",
        data={
            "username": "olga",
            "password": PASSWORD,
            "csrf_token": token,
            "next": "https://evil.example/",
        },
    )
    assert (off.status_code, off.headers["location"]) == (303, "/organizer")


def test_log_out_ends_the_session_everywhere(make_client: object, organizer: httpx.Client) -> None:
    stolen = dict(organizer.cookies)
    token = csrf_of(organizer, "/organizer")
    out = organizer.post("/logout", data={"csrf_token": token})
    replay = httpx.Client(
        transport=organizer._transport, base_url="http://testserver", cookies=stolen
    )
    assert out.status_code == 303
    assert organizer.get("/organizer").status_code == 303
    assert replay.get("/organizer").status_code == 303


def test_log_out_without_csrf_token_fails(organizer: httpx.Client) -> None:
    assert organizer.post("/logout").status_code == 403
    assert organizer.get("/organizer").status_code == 200


def test_tampered_session_cookie_is_anonymous(organizer: httpx.Client) -> None:
    value = organizer.cookies["oyren_session"]
    organizer.cookies.set(
        "oyren_session", value[:-2] + ("A" if value[-2] != "A" else "B") + value[-1]
    )
    assert organizer.get("/organizer").status_code == 303


def test_dashboard_twin_gives_the_csrf_token_for_api_calls(organizer: httpx.Client) -> None:
    token = organizer.get("/organizer.json").json()["csrf_token"]
    response = organizer.post(
        DECIDE[0], data=DECIDE[1], headers={"X-CSRF-Token": token, "Accept": "application/json"}
    )
    assert (response.status_code, response.json()["action"]) == (201, "include")


def test_decision_without_csrf_token_fails(organizer: httpx.Client) -> None:
    path, data = DECIDE
    assert organizer.post(path, data=data).status_code == 403
    assert organizer.post(path, data={**data, "csrf_token": "f" * 64}).status_code == 403
    assert organizer.get(ORG + "/audit.json").json()["entries"][0]["action"] != "moderation.include"


def test_decision_needs_a_reason(moderator: httpx.Client) -> None:
    token = csrf_of(moderator, ORG)
    response = moderator.post(
        DECIDE[0], data={"action": "exclude", "reason": "", "csrf_token": token}
    )
    assert response.status_code == 400


def test_moderator_excludes_the_leader_and_the_leaderboard_changes(
    moderator: httpx.Client, client: httpx.Client
) -> None:
    before = client.get(BASE + "/leaderboard.json").json()["videos"][0]["video_id"]
    token = csrf_of(moderator, ORG + f"/videos/{TOP_ID}")
    done = moderator.post(
        ORG + f"/videos/{TOP_ID}/decision",
        data={"action": "exclude", "reason": "views bought", "csrf_token": token},
    )
    after = client.get(BASE + "/leaderboard.json").json()["videos"][0]["video_id"]
    check = client.get(BASE + "/check", params={"q": TOP_ID, "lang": "en"}).text
    audit = moderator.get(ORG + "/audit.json").json()["entries"][0]
    assert done.status_code == 303
    assert (before, after) == (TOP_ID, SECOND_ID)
    assert "A moderator excluded the video: “views bought”" in check
    assert (audit["action"], audit["by"], audit["details"]["reason"]) == (
        "moderation.exclude",
        "murad",
        "views bought",
    )


def test_queue_lists_the_video_waiting_for_a_check(moderator: httpx.Client) -> None:
    data = moderator.get(ORG + "/queue.json").json()
    assert PENDING_ID in [row["video"]["video_id"] for row in data["rows"]]
    row = next(r for r in data["rows"] if r["video"]["video_id"] == PENDING_ID)
    assert row["detail"].startswith("an inclusion would let it count: ")
    assert row["facts"] == [["reasons", ["region_unknown"]]]
    page = moderator.get(ORG + "/queue").text
    assert "Daxil etmək onu nəzərə alınan edər: ölkə hələ məlum deyil." in page
    english = moderator.get(ORG + "/queue?lang=en").text
    assert "An inclusion would let it count: country not known yet." in english


def test_flags_and_stakes_speak_the_readers_language(moderator: httpx.Client) -> None:
    """Every flag and what a decision would change is said from its evidence as data, in the
    reader's language and number format; the English of the command line never shows."""
    data = moderator.get(ORG + "/queue.json").json()
    assert data["rows"] and all(row["facts"] for row in data["rows"])
    page = moderator.get(ORG + "/queue").text
    for row in data["rows"]:
        for flag in row["flag_evidence"]:
            assert flag["evidence"], flag["code"]
            assert flag["explanation"] not in page
        assert row["detail"] not in page
    assert re.search(r"\d[.,]?\de[+-]\d", page) is None  # no scientific notation


def test_award_before_the_deadline_is_refused(
    organizer: httpx.Client, sandbox: Campaign, clock: Clock
) -> None:
    clock.now = sandbox.cutoff_ts - 60
    token = csrf_of(organizer, ORG + "/award")
    response = organizer.post(ORG + "/award", data={"confirm": "sandbox-2024", "csrf_token": token})
    assert response.status_code == 400
    assert "prizes are awarded after the deadline" in response.text


def test_award_needs_the_typed_confirmation(organizer: httpx.Client) -> None:
    token = csrf_of(organizer, ORG + "/award")
    response = organizer.post(ORG + "/award", data={"confirm": "yes", "csrf_token": token})
    assert response.status_code == 400
    assert organizer.get(BASE + "/winners.json").json()["award"] is None


def test_award_freezes_the_prizes_and_publishes_the_bundle(
    organizer: httpx.Client, client: httpx.Client, moderator: httpx.Client
) -> None:
    preview = organizer.get(ORG + "/award.json").json()
    token = csrf_of(organizer, ORG + "/award")
    done = organizer.post(ORG + "/award", data={"confirm": "sandbox-2024", "csrf_token": token})
    page = client.get(BASE + "/winners.json").json()
    # A later exclusion changes the live verdicts but not the frozen prizes.
    mtoken = csrf_of(moderator, ORG)
    moderator.post(
        ORG + f"/videos/{TOP_ID}/decision",
        data={"action": "exclude", "reason": "late find", "csrf_token": mtoken},
    )
    frozen = client.get(BASE + "/winners.json").json()
    board = client.get(BASE + "/leaderboard.json").json()
    bundle = client.get(BASE + "/bundle.zip")
    assert (done.status_code, done.headers["location"]) == (303, BASE + "/winners")
    assert page["prizes"] == preview["prizes"] == frozen["prizes"]
    best = next(p for p in page["prizes"] if p["category"] == "best_video")
    assert best["video_id"] == TOP_ID
    assert board["videos"][0]["video_id"] == TOP_ID
    assert (bundle.status_code, bundle.headers["content-type"]) == (200, "application/zip")
    assert len(page["bundle_digest"]) == 64


def test_second_award_needs_a_reason(organizer: httpx.Client) -> None:
    token = csrf_of(organizer, ORG + "/award")
    organizer.post(ORG + "/award", data={"confirm": "sandbox-2024", "csrf_token": token})
    again = organizer.post(ORG + "/award", data={"confirm": "sandbox-2024", "csrf_token": token})
    reasoned = organizer.post(
        ORG + "/award",
        data={"confirm": "sandbox-2024", "reason": "appeal upheld", "csrf_token": token},
    )
    assert (again.status_code, reasoned.status_code) == (400, 303)
    assert organizer.get(BASE + "/winners.json").json()["award"]["number"] == 2


def test_login_rate_limit_stops_a_guesser(make_client: Callable[..., httpx.Client]) -> None:
    with make_client() as c:
        token = csrf_of(c)
        codes = [
            c.post(
                "/login", data={"username": "olga", "password": f"guess{i}", "csrf_token": token}
            ).status_code
            for i in range(7)
        ]
    assert codes == [401] * 5 + [429] * 2


def test_log_in_as_each_role(make_client: Callable[..., httpx.Client]) -> None:
    for name in ("olga", "murad", "jale"):
        with make_client() as c:
            log_in(c, name)
            assert c.cookies.get("oyren_session") is not None


def test_organizer_exports_standings_as_csv_and_json(organizer: httpx.Client) -> None:
    csv = organizer.get(ORG + "/export.csv")
    data = organizer.get(ORG + "/export.json")
    assert (csv.headers["content-type"], data.headers["content-type"]) == (
        "text/csv; charset=utf-8",
        "application/json",
    )
    assert csv.headers["content-disposition"] == 'attachment; filename="sandbox-2024-standings.csv"'
    assert csv.text.splitlines()[0].startswith("rank,") or "video_id" in csv.text.splitlines()[0]
    assert data.json()["winners"]["best_video"]["video_id"] == TOP_ID


def test_evidence_of_an_unknown_video_is_a_404_page(moderator: httpx.Client) -> None:
    response = moderator.get(ORG + "/videos/1234567")
    assert response.status_code == 404
    assert "no video &#39;1234567&#39;" in response.text


def test_a_decision_on_an_unknown_video_is_a_404_naming_it(moderator: httpx.Client) -> None:
    # "Not there" is a type (NotFound), not a message prefix: the store's "campaign … has no
    # video …" once answered 400 here.
    token = csrf_of(moderator, ORG + f"/videos/{TOP_ID}")
    response = moderator.post(
        ORG + "/videos/1234567/decision",
        data={"action": "exclude", "reason": "checked", "csrf_token": token},
        headers={"accept": "application/json"},
    )
    assert response.status_code == 404
    assert "has no video '1234567'" in response.json()["error"]["message"]


def test_closing_an_unknown_round_is_a_404(organizer: httpx.Client) -> None:
    token = csrf_of(organizer, ORG + "/jury")
    response = organizer.post(
        "/organizer/jury/rounds/999/close",
        data={"csrf_token": token},
        headers={"accept": "application/json"},
    )
    assert response.status_code == 404
    assert "no jury round 999" in response.json()["error"]["message"]


def test_dashboard_and_queue_count_the_same_videos_waiting(organizer: httpx.Client) -> None:
    dashboard = organizer.get(ORG + ".json").json()
    queue = organizer.get(ORG + "/queue.json").json()
    award = organizer.get(ORG + "/award.json").json()
    assert dashboard["waiting"] == queue["total"] == award["pending"] > 0


def test_winners_without_a_jury_round_say_the_jury_has_not_chosen(organizer: httpx.Client) -> None:
    token = csrf_of(organizer, ORG + "/award")
    response = organizer.post(ORG + "/award", data={"confirm": "sandbox-2024", "csrf_token": token})
    assert response.status_code == 303
    page = organizer.get(BASE + "/winners?lang=en").text
    assert "The jury has not chosen yet." in page
    assert "Next: open a jury round" in page
    assert "pip install" not in page and "manifest.json" in page
    public = organizer.get(BASE + "/winners.json").json()
    assert [p["vacant"] for p in public["prizes"] if p["username"] is None] == ["jury_not_chosen"]


def test_queue_pages_filters_and_sorts(
    make_client: Callable[..., httpx.Client],
) -> None:
    with make_client(page_size=2) as client:
        moderator = log_in(client, "murad")
        everything = moderator.get(ORG + "/queue.json").json()
        total = everything["total"]
        assert total > 2 and everything["matching"] == total and len(everything["rows"]) == 2
        seen = []
        for offset in range(0, total, 2):
            page = moderator.get(ORG + f"/queue.json?offset={offset}").json()
            seen += [r["video"]["video_id"] for r in page["rows"]]
        assert len(seen) == len(set(seen)) == total
        assert "Növbəti səhifə →" in moderator.get(ORG + "/queue").text
        pending = moderator.get(ORG + "/queue.json?why=pending_check&sort=views").json()
        counts = dict(everything["whys"])
        assert pending["matching"] == counts["pending_check"]
        assert all(r["why"] == "pending_check" for r in pending["rows"])
        views = [r["video"]["views"] for r in pending["rows"]]
        assert views == sorted(views, reverse=True)
        assert moderator.get(ORG + "/queue?why=<script>").status_code == 400
        assert moderator.get(ORG + "/queue?sort=random").status_code == 400
        assert moderator.get(ORG + "/queue?offset=-1").status_code == 400


def test_several_videos_are_decided_at_once_with_one_reason(moderator: httpx.Client) -> None:
    rows = moderator.get(ORG + "/queue.json").json()["rows"]
    ids = [r["video"]["video_id"] for r in rows[:2]]
    token = csrf_of(moderator, ORG + "/queue")
    done = moderator.post(
        ORG + "/decisions",
        data={"video": ids, "action": "include", "reason": "checked by hand", "csrf_token": token},
    )
    assert done.status_code == 303
    left = [r["video"]["video_id"] for r in moderator.get(ORG + "/queue.json").json()["rows"]]
    assert not set(ids) & set(left)
    audit = moderator.get(ORG + "/audit.json").json()["entries"][:2]
    assert sorted(e["details"]["video_id"] for e in audit) == sorted(ids)
    assert {e["details"]["reason"] for e in audit} == {"checked by hand"}
    # One unknown video: nothing is recorded.
    before = moderator.get(ORG + "/queue.json").json()["total"]
    bad = moderator.post(
        ORG + "/decisions",
        data={"video": [left[0], "404"], "action": "exclude", "reason": "x", "csrf_token": token},
    )
    assert bad.status_code in (400, 404)
    assert moderator.get(ORG + "/queue.json").json()["total"] == before
    empty = moderator.post(ORG + "/decisions", data={"action": "exclude", "reason": "x",
                                                     "csrf_token": token})  # fmt: skip
    assert empty.status_code == 400


def test_dashboard_and_queue_say_when_the_flags_were_computed(
    organizer: httpx.Client, sandbox_db: Engine
) -> None:
    from oyren.store import refresh_flags
    from oyren.store.db import transaction
    from oyren.store.models import DecidedStateRow

    with transaction(sandbox_db) as session:  # as before the first background screening
        session.query(DecidedStateRow).update({DecidedStateRow.flags_computed_at: None})
    for path in (ORG + "?lang=en", ORG + "/queue?lang=en"):
        assert "Integrity flags have not been computed yet" in organizer.get(path).text
    refresh_flags(sandbox_db, "sandbox-2024", at=1_717_000_000)  # 2024-05-29 16:26:40 UTC
    for path in (ORG + "?lang=en", ORG + "/queue?lang=en"):
        page = organizer.get(path).text
        assert "Integrity flags as computed at" in page and "2024" in page
    assert organizer.get(ORG + ".json").json()["flags_computed_at"].startswith("2024-05-29T")
