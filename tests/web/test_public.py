"""Public pages: each with its JSON twin, the leaderboard, the self-check flow, partners, charts."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine

from oyren.rules.campaign import Campaign
from oyren.store.db import transaction
from tests.conftest import LATE_ID, PARTNER_ID, SECOND_ID, TOP_ID
from tests.web.conftest import Clock, csrf_of

BASE = "/campaigns/sandbox-2024"
UNSEEN = "https://www.tiktok.com/@new_creator/video/7399999999999999999"


def test_home_goes_to_the_only_campaign(client: httpx.Client) -> None:
    response = client.get("/")
    assert (response.status_code, response.headers["location"]) == (307, BASE)


def test_campaigns_list_and_its_twin(client: httpx.Client) -> None:
    listing = client.get("/campaigns.json").json()
    assert [(c["id"], c["videos"]) for c in listing["campaigns"]] == [("sandbox-2024", 306)]


def test_campaign_page_shows_rules_dates_prizes_partners(
    client: httpx.Client, sandbox: Campaign, clock: Clock
) -> None:
    clock.now = sandbox.cutoff_ts - 3 * 86400 - 3600
    text = client.get(BASE + "?lang=en").text
    assert "From 21 February 2024, 00:00 to 21 April 2024, 23:59:59, Baku time." in text
    assert "A video posted at 23:59:59 on the last day still counts." in text
    assert '<b data-unit="d">3</b>' in text
    assert '<b data-unit="h">01</b>' in text
    assert "An iPhone smartphone" in text
    assert "National Carpet Museum of Azerbaijan" in text
    assert '<script src="/static/countdown.js" defer></script>' in text


def test_campaign_twin_carries_the_rules(client: httpx.Client) -> None:
    data = client.get(BASE + ".json").json()
    assert (data["phase"], data["campaign"]["cutoff"]) == ("closed", "2024-04-21T23:59:59+04:00")
    assert data["campaign"]["regions"] == ["AZ"]
    assert "source_text" not in data["campaign"]


def test_leaderboard_before_the_deadline_says_views_so_far(
    client: httpx.Client, sandbox: Campaign, clock: Clock
) -> None:
    clock.now = sandbox.cutoff_ts - 86400
    before = client.get(BASE + "/leaderboard?lang=en").text
    clock.now = sandbox.cutoff_ts + 1
    after = client.get(BASE + "/leaderboard?lang=en").text
    assert ("Views so far" in before, "Views at the deadline" in before) == (True, False)
    assert ("Views so far" in after, "Views at the deadline" in after) == (False, True)


def test_leaderboard_twin_ranks_and_links(client: httpx.Client) -> None:
    data = client.get(BASE + "/leaderboard.json").json()
    assert [v["video_id"] for v in data["videos"][:2]] == [TOP_ID, SECOND_ID]
    assert all(v["url"].startswith("https://www.tiktok.com/@") for v in data["videos"])
    assert (data["offset"], data["limit"], data["phase"]) == (0, 50, "closed")


def test_leaderboard_pages_on(client: httpx.Client) -> None:
    data = client.get(BASE + "/leaderboard.json", params={"offset": 50}).json()
    assert [v["rank"] for v in data["videos"][:2]] == [51, 52]


def test_leaderboard_bad_offset_is_a_400_page(client: httpx.Client) -> None:
    response = client.get(BASE + "/leaderboard", params={"offset": "-1"})
    assert response.status_code == 400
    assert "offset" in response.text


def test_self_check_explains_a_late_post_in_baku_time(client: httpx.Client) -> None:
    text = client.get(BASE + "/check", params={"q": LATE_ID, "lang": "en"}).text
    assert "Not counted" in text
    assert (
        "Posted at 01:00 on 22 April Baku time, after the deadline (23:59:59 on 21 April)." in text
    )
    assert "This can no longer be changed." in text


def test_self_check_in_azerbaijani(client: httpx.Client) -> None:
    text = client.get(BASE + "/check", params={"q": LATE_ID}).text
    assert "Paylaşılma vaxtı: 22 aprel, saat 01:00 (Bakı vaxtı)" in text


def test_self_check_before_the_deadline_says_what_to_fix(
    client: httpx.Client, sandbox: Campaign, clock: Clock
) -> None:
    clock.now = sandbox.cutoff_ts - 86400
    data = client.get(BASE + "/check.json", params={"q": "short_samir"}).json()
    (video,) = data["videos"]
    assert (video["status"], video["explanations"][0]["fix"]) == ("not_counted", "post_again")
    text = client.get(BASE + "/check", params={"q": "short_samir", "lang": "en"}).text
    assert "The video is 12 seconds long; the contest asks for at least 30 seconds." in text
    assert "Post a new video that meets the rules before 23:59:59 on 21 April Baku time." in text


def test_self_check_refuses_a_link_elsewhere(client: httpx.Client) -> None:
    text = client.get(BASE + "/check", params={"q": "https://evil.example/x", "lang": "en"}).text
    assert "Only links to tiktok.com can be checked." in text


def test_self_check_unknown_username_says_so(client: httpx.Client) -> None:
    text = client.get(BASE + "/check", params={"q": "@nobody_here", "lang": "en"}).text
    assert "We have not seen any video by @nobody_here" in text


def test_submission_flow_records_an_unseen_link(
    client: httpx.Client, sandbox: Campaign, clock: Clock
) -> None:
    clock.now = sandbox.cutoff_ts - 86400
    check = client.get(BASE + "/check", params={"q": UNSEEN, "lang": "en"})
    token = re.search(r'name="csrf_token" value="([0-9a-f]+)"', check.text)
    assert token is not None
    sent = client.post(BASE + "/submissions", data={"q": UNSEEN, "csrf_token": token.group(1)})
    after = client.get(sent.headers["location"] + "&lang=en")
    assert sent.status_code == 303
    assert "Thank you. We will look for this video at the next crawl" in after.text
    assert "This link was submitted on" in after.text


def test_submission_as_api_call_with_header(
    client: httpx.Client, sandbox: Campaign, clock: Clock
) -> None:
    clock.now = sandbox.cutoff_ts - 86400
    token = csrf_of(client, BASE + "/check?q=" + UNSEEN)
    response = client.post(
        BASE + "/submissions",
        data={"q": UNSEEN},
        headers={"X-CSRF-Token": token, "Accept": "application/json"},
    )
    assert (response.status_code, response.json()["video_id"]) == (201, "7399999999999999999")


def test_submission_without_csrf_token_fails(
    client: httpx.Client, sandbox: Campaign, clock: Clock
) -> None:
    clock.now = sandbox.cutoff_ts - 86400
    client.get(BASE + "/check")  # the browser has its CSRF cookie, but the form lacks the token
    response = client.post(BASE + "/submissions", data={"q": UNSEEN})
    forged = client.post(BASE + "/submissions", data={"q": UNSEEN, "csrf_token": "0" * 64})
    assert (response.status_code, forged.status_code) == (403, 403)
    assert client.get(BASE + "/check.json", params={"q": UNSEEN}).json()["submission"] is None


def test_submission_after_the_deadline_is_a_400_page(client: httpx.Client) -> None:
    token = csrf_of(client)  # one token per browser: any form's will do
    response = client.post(BASE + "/submissions", data={"q": UNSEEN, "csrf_token": token})
    assert response.status_code == 400
    assert "the contest has closed" in response.text


def test_partners_page_shows_their_videos_and_reach(client: httpx.Client) -> None:
    data = client.get(BASE + "/partners.json").json()
    ids = [v["video_id"] for card in data["partners"] for v in card["videos"]]
    assert PARTNER_ID in ids
    assert data["views"] == sum(card["views"] for card in data["partners"])


def test_stats_page_draws_four_charts_with_nothing_from_elsewhere(client: httpx.Client) -> None:
    text = client.get(BASE + "/stats").text
    assert text.count("<svg ") == 4
    assert re.findall(r'(?:src|href)="(?:https?:)?//', text) == []


def test_winners_before_the_award(client: httpx.Client) -> None:
    text = client.get(BASE + "/winners?lang=en").text
    assert "The prizes have not been awarded yet." in text
    # No award, no bundle: not there (404), not a bad request.
    assert client.get(BASE + "/bundle.zip").status_code == 404


def test_openapi_describes_the_json_api(client: httpx.Client) -> None:
    spec = client.get("/openapi.json").json()
    paths = set(spec["paths"])
    assert {
        "/campaigns/{campaign_id}.json",
        "/campaigns/{campaign_id}/leaderboard.json",
        "/campaigns/{campaign_id}/check.json",
        "/campaigns/{campaign_id}/submissions",
        "/organizer/campaigns/{campaign_id}/videos/{video_id}/decision",
        "/organizer/campaigns/{campaign_id}/award",
    } <= paths
    assert "/campaigns/{campaign_id}/leaderboard" not in paths


def test_api_page_lists_the_endpoints(client: httpx.Client) -> None:
    text = client.get("/api?lang=en").text
    assert "/campaigns/{campaign_id}/leaderboard.json" in text
    assert "/openapi.json" in text


def test_pages_work_on_every_database(
    stored_db: Engine,
    campaign: Campaign,
    make_record: Callable[..., dict[str, Any]],
    write_jsonl: Callable[..., Path],
) -> None:
    from oyren.settings import Settings
    from oyren.store import ingest_observations
    from oyren.store.accounts import create_user
    from oyren.web import WebOptions, create_app
    from tests.conftest import PASSWORD
    from tests.web.conftest import InProcess, log_in

    path = write_jsonl([make_record(), make_record(id=7340000000000000002, username="nigar")])
    with transaction(stored_db) as session:
        ingest_observations(session, campaign_id=campaign.id, path=path, by="t")
        create_user(session, username="olga", password=PASSWORD, role="organizer", by="t")
    now = float(campaign.cutoff_ts + 86400)
    app = create_app(
        Settings(database_url="sqlite://"),
        engine=stored_db,
        options=WebOptions(clock=lambda: now, secure_cookies=False),
    )
    base = f"/campaigns/{campaign.id}"
    with httpx.Client(transport=InProcess(app), base_url="http://testserver") as c:
        pages = [base + p for p in ("", "/leaderboard", "/winners", "/partners", "/stats")]
        codes = {p: c.get(p).status_code for p in [*pages, base + "/check?q=@nigar"]}
        log_in(c, "olga")
        token = csrf_of(c, "/organizer")
        decided = c.post(
            f"/organizer{base}/videos/7340000000000000002/decision",
            data={"action": "exclude", "reason": "r", "csrf_token": token},
        )
        awarded = c.post(
            f"/organizer{base}/award", data={"confirm": campaign.id, "csrf_token": token}
        )
        winners = c.get(base + "/winners.json").json()
    assert set(codes.values()) == {200}
    assert (decided.status_code, awarded.status_code) == (303, 303)
    best = next(p for p in winners["prizes"] if p["category"] == "best_video")
    assert best["username"] == "aysel_teaches"


def test_campaign_page_has_a_favicon_and_a_share_card(client: httpx.Client) -> None:
    page = client.get(BASE).text
    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in page
    assert '<meta property="og:image" content="http://testserver/static/share.png">' in page
    assert '<meta property="og:title" content="' in page
    image = client.get("/static/share.png")
    assert (image.status_code, image.content[:8]) == (200, b"\x89PNG\r\n\x1a\n")
    assert client.get("/static/favicon.svg").headers["content-type"].startswith("image/svg")


def test_leaderboard_says_why_the_first_creator_is_not_the_discover_winner(
    client: httpx.Client,
) -> None:
    data = client.get(BASE + "/leaderboard.json").json()
    first = data["creators"][0]["username"]
    assert data["passed_over"] == [first] and data["discover_winner"] != first
    page = client.get(BASE + "/leaderboard?lang=en").text
    assert (
        f"@{first} has the most views but already holds 1 prize, the most one creator may win; "
        f"the discover prize goes to @{data['discover_winner']}."
    ) in page


# --- Thumbnails: served from this site's own cache, never fetched by the reader's browser -------


def store_thumbnail(engine: Engine, video_id: str, data: bytes) -> None:
    from oyren.inputs.images import read_image
    from oyren.store.thumbnails import save_thumbnail

    with transaction(engine) as session:
        save_thumbnail(session, campaign_id="sandbox-2024", video_id=video_id,
                       image=read_image(data), at=1)  # fmt: skip


def test_a_cached_thumbnail_is_served_with_our_type_nosniff_and_a_long_cache(
    client: httpx.Client, sandbox_db: Engine
) -> None:
    from oyren.sandbox.login import thumbnail_png

    store_thumbnail(sandbox_db, TOP_ID, thumbnail_png(TOP_ID))
    response = client.get(f"{BASE}/thumbs/{TOP_ID}")
    assert response.status_code == 200 and response.content == thumbnail_png(TOP_ID)
    assert response.headers["content-type"] == "image/png"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == "public, max-age=604800"
    again = client.get(
        f"{BASE}/thumbs/{TOP_ID}", headers={"If-None-Match": response.headers["etag"]}
    )
    assert (again.status_code, again.content) == (304, b"")


def test_without_a_cached_thumbnail_a_placeholder_drawing_is_served_briefly(
    client: httpx.Client,
) -> None:
    response = client.get(f"{BASE}/thumbs/{SECOND_ID}")
    assert response.status_code == 200 and response.headers["content-type"] == "image/svg+xml"
    assert response.headers["cache-control"] == "public, max-age=300"
    assert b"<script" not in response.content and b"<svg" in response.content
    # Unknown campaigns and videos get the same drawing; malformed ids are refused.
    assert client.get("/campaigns/nope/thumbs/1").headers["content-type"] == "image/svg+xml"
    for bad in ("..%2F..%2Fetc", "a" * 65, "x%00y", "<svg>"):
        assert client.get(f"{BASE}/thumbs/{bad}").status_code in (400, 404)


def test_pages_show_thumbnails_from_this_site_only(
    client: httpx.Client, organizer: httpx.Client
) -> None:
    pages = {
        client: [f"{BASE}/leaderboard", f"{BASE}/partners", f"{BASE}/check?q={TOP_ID}"],
        organizer: [
            "/organizer/campaigns/sandbox-2024/queue",
            f"/organizer/campaigns/sandbox-2024/videos/{TOP_ID}",
        ],
    }
    for who, paths in pages.items():
        for path in paths:
            text = who.get(path).text
            sources = re.findall(r'<img[^>]*\ssrc="([^"]+)"', text)
            assert any(s.startswith(f"{BASE}/thumbs/") for s in sources), path
            assert all(s.startswith("/") and not s.startswith("//") for s in sources), path


def test_pages_say_recomputing_while_a_rebuild_runs(
    client: httpx.Client, sandbox_db: Engine
) -> None:
    from oyren.store.db import transaction
    from oyren.store.models import DecidedStateRow

    before = client.get(BASE + "/leaderboard.json").json()
    assert "being recomputed" not in client.get(BASE + "/leaderboard?lang=en").text
    with transaction(sandbox_db) as session:  # a rebuild halfway through its second generation
        state = session.get(DecidedStateRow, "sandbox-2024")
        assert state is not None
        state.building, state.done, state.total = state.generation + 1, 1200, 3000
    for path in (BASE + "/leaderboard?lang=en", BASE + "?lang=en"):
        assert "being recomputed (1,200 of 3,000 videos)" in client.get(path).text
    during = client.get(BASE + "/leaderboard.json").json()
    assert during["recomputing"] is True
    # The last complete results are served meanwhile, unchanged.
    assert during["videos"] == before["videos"]
