"""Helpers for tests of creators taking part: a sandbox with the Login Kit, signed-in creators."""

from __future__ import annotations

import shutil
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
from cryptography.fernet import Fernet

from oyren.clock import VirtualClock
from oyren.collect.connectors.display import DisplayClient, to_observation
from oyren.collect.connectors.login import (
    Backoff,
    LoginClient,
    LoginSettings,
    authorize_url,
    new_pkce,
    new_state,
)
from oyren.rules.campaign import Campaign
from oyren.sandbox.api import SandboxAPI, SandboxConfig
from oyren.sandbox.login import SANDBOX_LOGIN_KEY, SANDBOX_LOGIN_SECRET, creator_videos
from oyren.sandbox.simulate import SimVideo
from oyren.store import register_campaign
from oyren.store.creators import join_campaign, register_entries, save_creator
from oyren.store.db import Engine, create_db_engine, transaction
from oyren.store.models import CreatorTokenRow
from oyren.store.tokens import TokenCipher

REDIRECT = "http://127.0.0.1:8000/creators/callback"
LOGIN = LoginSettings(
    client_key=SANDBOX_LOGIN_KEY,
    client_secret=SANDBOX_LOGIN_SECRET,
    redirect_uri=REDIRECT,
    auth_url="http://sandbox/v2/auth/authorize/",
    api_base="http://sandbox",
    oembed_url="http://sandbox/oembed",
)
FAST = Backoff(tries=4, first_wait_s=1.0, max_wait_s=8.0)


def cipher() -> TokenCipher:
    """A cipher with a fresh key."""
    return TokenCipher([Fernet.generate_key().decode()])


def campaign_db(template: Path, folder: Path, campaign: Campaign) -> Engine:
    """A migrated SQLite database with ``campaign`` registered."""
    path = folder / "creators.db"
    shutil.copyfile(template, path)
    engine = create_db_engine(f"sqlite:///{path}")
    with transaction(engine) as session:
        register_campaign(session, campaign=campaign, by="setup", at=campaign.window_start_ts - 1)
    return engine


@dataclass
class Sandbox:
    """A sandbox API on a virtual clock and the clients that talk to it in process."""

    api: SandboxAPI
    clock: VirtualClock
    http: httpx.Client
    login: LoginClient
    display: DisplayClient


@contextmanager
def sandbox(
    videos: Sequence[SimVideo], start: int, config: SandboxConfig | None = None
) -> Iterator[Sandbox]:
    """Serve ``videos`` through the sandbox in process."""
    clock = VirtualClock(start)
    api = SandboxAPI(videos, clock, config or SandboxConfig())
    with httpx.Client(transport=api.transport()) as http:
        yield Sandbox(
            api,
            clock,
            http,
            LoginClient(http, LOGIN, clock=clock, backoff=FAST),
            DisplayClient(http, LOGIN.api_base, clock=clock, backoff=FAST),
        )


def sandbox_box(
    campaign: Campaign, config: SandboxConfig | None = None
) -> AbstractContextManager[Sandbox]:
    """The sandbox's hand-made creators' videos, twenty days into ``campaign``."""
    return sandbox(creator_videos(campaign), campaign.window_start_ts + 20 * 86400, config)


def stored_refresh(engine: Engine, key: TokenCipher, creator: int) -> tuple[str, int]:
    """The creator's stored refresh token, decrypted with ``key``, and its access token's end."""
    with transaction(engine) as session:
        row = session.get(CreatorTokenRow, creator)
        assert row is not None
        return key.decrypt(row.refresh_token), row.expires_at


def authorize(box: Sandbox, username: str) -> tuple[str, str, str]:
    """A creator consents on the sandbox's authorize page: (code, state, verifier)."""
    pkce, state = new_pkce(), new_state()
    url = urlsplit(authorize_url(LOGIN, state=state, pkce=pkce))
    form = {k: v[0] for k, v in parse_qs(url.query).items()}
    form.update(username=username, decision="allow")
    answer = box.http.post(
        "http://sandbox/v2/auth/authorize/",
        content=urlencode(form),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert answer.status_code == 302, answer.text
    back = parse_qs(urlsplit(answer.headers["location"]).query)
    assert back["state"] == [state]
    return back["code"][0], state, pkce.verifier


def sign_up(
    box: Sandbox,
    engine: Engine,
    key: TokenCipher,
    campaign: Campaign,
    username: str,
    *,
    region: str | None,
    video_ids: Sequence[str] | None = None,
) -> int:
    """Sign a creator in, record their consent and register their videos in the window."""
    code, _, verifier = authorize(box, username)
    tokens = box.login.exchange(code, verifier)
    info = box.display.user_info(tokens.access_token)
    now = int(box.clock.now())
    videos = box.display.videos_since(tokens.access_token, campaign.window_start_ts)
    if video_ids is not None:
        videos = [v for v in videos if v.video_id in set(video_ids)]
    with transaction(engine) as session:
        creator = save_creator(
            session, key, open_id=info.open_id, username=info.username,
            display_name=info.display_name, tokens=tokens, now=now,
        )  # fmt: skip
        join_campaign(
            session, campaign_id=campaign.id, creator_id=creator,
            consent={"minor": False, "region": region, "accepted_at": now}, now=now,
        )  # fmt: skip
        picks = [
            (to_observation(v, username=info.username, region=region), "present", False)
            for v in videos
            if v.create_time <= campaign.cutoff_ts
        ]
        register_entries(session, campaign_id=campaign.id, creator_id=creator, picks=picks, now=now)
    return creator
