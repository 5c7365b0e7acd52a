"""`oyren demo` lets a sandbox creator take part: a campaign open now and a sandbox Login Kit."""

from __future__ import annotations

import html
import re
import shutil
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

from oyren.cli import _creators_demo
from oyren.sandbox.demo import creators_campaign
from oyren.settings import Settings
from oyren.web.app import create_app
from tests.web.conftest import InProcess, csrf_of


def test_the_creators_campaign_is_open_now() -> None:
    campaign = creators_campaign(1_800_000_000)
    assert campaign.id == "sandbox-creators"
    assert campaign.window_start_ts < 1_800_000_000 < campaign.cutoff_ts


def test_a_sandbox_creator_takes_part_from_the_demo_site(
    sqlite_template: Path, tmp_path: Path
) -> None:
    path = tmp_path / "demo.db"
    shutil.copyfile(sqlite_template, path)
    settings = Settings(database_url=f"sqlite:///{path}")
    base = "/campaigns/sandbox-creators"
    with _creators_demo(settings, "127.0.0.1", 8000) as options:
        app = create_app(settings, options=options)
        with httpx.Client(transport=InProcess(app), base_url="http://testserver") as client:
            token = csrf_of(client, f"{base}/take-part")
            form = {"rules": "yes", "age": "adult", "region": "AZ", "csrf_token": token}
            page = client.post(f"{base}/take-part?lang=en", data=form)
            assert page.status_code == 200, page.text
            match = re.search(r'id="to-tiktok" href="([^"]+)"', page.text)
            assert match is not None
            target = html.unescape(match.group(1))
            assert urlsplit(target).query and "redirect_uri=http%3A%2F%2F127.0.0.1%3A8000" in target
            with httpx.Client() as browser:
                consent = browser.get(target)
                assert consent.status_code == 200 and "lala.learns" in consent.text
                fields = {k: v[0] for k, v in parse_qs(urlsplit(target).query).items()}
                fields.update(username="lala.learns", decision="allow")
                back = browser.post(
                    target.split("?")[0], content=urlencode(fields),
                    headers={"content-type": "application/x-www-form-urlencoded"},
                )  # fmt: skip
            assert back.status_code == 302
            callback = urlsplit(back.headers["location"])
            answer = client.get(f"{callback.path}?{callback.query}")
            assert answer.headers["location"] == f"{base}/me/videos"
            videos = client.get(f"{base}/me/videos?lang=en")
            assert videos.status_code == 200
            assert (
                "Caption cut short" in videos.text and "Carries the contest hashtag" in videos.text
            )


def test_the_demo_site_frames_the_sandboxs_player_stand_in(
    sqlite_template: Path, tmp_path: Path
) -> None:
    path = tmp_path / "demo.db"
    shutil.copyfile(sqlite_template, path)
    settings = Settings(database_url=f"sqlite:///{path}")
    with _creators_demo(settings, "127.0.0.1", 8000) as options:
        origin = options.player_origin
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", origin)
        app = create_app(settings, options=options)
        with httpx.Client(transport=InProcess(app), base_url="http://testserver") as client:
            policy = client.get("/campaigns").headers["content-security-policy"]
        assert policy.endswith(f"frame-src {origin}")
        played = httpx.get(f"{origin}/embed/v2/7399000000000000001")
        assert played.status_code == 200 and "Playing video 7399000000000000001" in played.text
