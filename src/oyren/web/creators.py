"""Creators taking part themselves: consent, sign in with TikTok, pick entries, their own page.

The way in, phone first and in the reader's language:

1. ``GET /campaigns/ID/take-part``: what Öyrən reads, what it never does, how long access is
   kept and how to withdraw; the rules checkbox, the age statement and, under 18, a parent's or
   guardian's name and contact. A pasted link works here too, without signing in (oEmbed).
2. ``POST /campaigns/ID/take-part``: the consent is kept with a fresh ``state`` and PKCE verifier
   (only the state's hash, tied to this browser), and the creator continues to TikTok.
3. ``GET /creators/callback``: the state is used up (once, within 15 minutes, from the same
   browser), the code exchanged with the verifier, the creator and their encrypted tokens stored.
4. ``GET /campaigns/ID/me/videos``: their public videos posted in the window, each marked
   carries the hashtag / does not / caption cut short; ``POST …/me/entries`` registers the picked
   ones after TikTok confirms, with the creator's own token, that each is theirs.
5. ``GET /campaigns/ID/me``: their entries with eligibility in words and latest counts; withdraw
   one, or withdraw and delete everything (``POST /creators/me/delete``).

No SQL here and no contest rules: the store keeps, the connectors talk to TikTok, the pages
module explains eligibility.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import partial
from typing import Annotated, Any

import httpx
from fastapi import APIRouter, Depends, Form, HTTPException, Path, Query, Request
from fastapi.responses import Response
from itsdangerous import BadSignature, URLSafeTimedSerializer

from oyren.clock import SystemClock
from oyren.collect.connectors.display import DisplayClient, DisplayVideo, to_observation
from oyren.collect.connectors.login import (
    GrantInvalid,
    LoginClient,
    LoginSettings,
    authorize_url,
    login_settings,
    new_pkce,
    new_state,
)
from oyren.collect.connectors.oembed import OEmbedClient, VideoUnavailable
from oyren.collect.thumbnails import url_expiry
from oyren.errors import ConnectorError, StoreError
from oyren.inputs.links import parse_lookup
from oyren.pages import public as publishing
from oyren.rules.hashtags import extract_hashtags, has_campaign_hashtag
from oyren.settings import Settings
from oyren.store import creators as store
from oyren.store import get_campaign
from oyren.store.thumbnails import note_thumbnail_url
from oyren.store.tokens import TokenCipher
from oyren.web.context import (
    CSRF_COOKIE,
    Ctx,
    add_page,
    csrf_protected,
    limited_ctx,
    organizer_ctx,
    page_ctx,
)
from oyren.web.responses import FORM_POST, SIGNED_IN

__all__ = ["CREATOR_COOKIE", "CreatorServices", "router", "services_from_env"]

router = APIRouter(responses=SIGNED_IN)
page = partial(add_page, router, tags=["creators"])

CREATOR_COOKIE = "oyren_creator"
CREATOR_MAX_AGE_S = 12 * 3600
MAX_PICKS = 50
NAME_MAX = 120
CONTACT_MAX = 200
_VIDEO_ID = re.compile(r"^\d{1,30}$")

CampaignId = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")]
PageCtx = Annotated[Ctx, Depends(page_ctx)]
OrganizerCtx = Annotated[Ctx, Depends(organizer_ctx)]
SignInCtx = Annotated[Ctx, Depends(limited_ctx("creator"))]


@dataclass
class CreatorServices:
    """What the creators' pages need to talk to TikTok and to keep tokens."""

    login: LoginSettings
    cipher: TokenCipher
    http: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=20.0))

    def login_client(self) -> LoginClient:
        """The Login Kit client."""
        return LoginClient(self.http, self.login, clock=SystemClock())

    def display(self) -> DisplayClient:
        """The Display API client."""
        return DisplayClient(self.http, self.login.api_base, clock=SystemClock())

    def oembed(self) -> OEmbedClient:
        """The oEmbed client."""
        return OEmbedClient(self.http, self.login.oembed_url, clock=SystemClock())


def services_from_env(settings: Settings) -> CreatorServices | None:
    """The services the settings and environment describe, or None without Login Kit credentials
    (the pages then say that signing in is not set up)."""
    login = login_settings(
        public_url=settings.public_url,
        auth_url=settings.tiktok_auth_url,
        api_base=settings.tiktok_api_base,
        oembed_url=settings.tiktok_oembed_url,
    )
    if login is None:
        return None
    return CreatorServices(login, TokenCipher.from_env())


def _services(ctx: Ctx) -> CreatorServices | None:
    found: CreatorServices | None = getattr(ctx.request.app.state, "creators", None)
    return found


def _need_services(ctx: Ctx) -> CreatorServices:
    found = _services(ctx)
    if found is None:
        raise HTTPException(
            400, detail=ctx.t.gettext("Signing in with TikTok is not set up on this site yet.")
        )
    return found


def _signer(ctx: Ctx) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(ctx.state.secret, salt="oyren-creator")


def _creator_id(ctx: Ctx) -> int | None:
    token = ctx.request.cookies.get(CREATOR_COOKIE)
    if not token:
        return None
    try:
        payload = _signer(ctx).loads(token, max_age=CREATOR_MAX_AGE_S)
    except BadSignature:
        return None
    value = payload.get("c") if isinstance(payload, dict) else None
    return value if isinstance(value, int) else None


def _signed_in(ctx: Ctx, campaign_id: str) -> store.Creator:
    creator_id = _creator_id(ctx)
    with ctx.session() as session:
        creator = store.get_creator(session, creator_id) if creator_id is not None else None
    if creator is None or creator.erased:
        raise HTTPException(
            400,
            detail=ctx.t.gettext(
                "Please sign in with TikTok first: start from the campaign's “Take part” page."
            ),
        )
    return creator


def _bad(ctx: Ctx, message: str) -> HTTPException:
    return HTTPException(400, detail=message)


def _tag_state(video: DisplayVideo, folded: frozenset[str]) -> str:
    if has_campaign_hashtag(video.hashtags, folded):
        return "present"
    return "cut" if video.cut_short else "absent"


# 1. Consent --------------------------------------------------------------------------------------


@page("/campaigns/{campaign_id}/take-part")
def take_part(campaign_id: CampaignId, ctx: PageCtx) -> Response:
    """What taking part means, in plain words, and the consent form."""
    with ctx.session() as session:
        campaign = get_campaign(session, campaign_id)
    data = {
        "campaign": campaign,
        "available": _services(ctx) is not None,
        "open": ctx.now <= campaign.cutoff_ts,
        "regions": sorted(campaign.regions),
        "reads": ["captions", "length", "post_time", "counts"],
        "never": ["post", "private_videos", "password"],
    }
    return ctx.respond("take_part.html", data, campaign=campaign, current="take_part")


@router.post(
    "/campaigns/{campaign_id}/take-part",
    responses=FORM_POST,
    tags=["creators"],
    dependencies=[Depends(csrf_protected)],
)
def consent(
    campaign_id: CampaignId,
    ctx: SignInCtx,
    rules: Annotated[str, Form(max_length=10)] = "",
    age: Annotated[str, Form(max_length=10)] = "",
    guardian_name: Annotated[str, Form(max_length=NAME_MAX)] = "",
    guardian_contact: Annotated[str, Form(max_length=CONTACT_MAX)] = "",
    guardian_consent: Annotated[str, Form(max_length=10)] = "",
    region: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    """Keep the consent with a fresh state and PKCE verifier; send the creator on to TikTok."""
    services = _need_services(ctx)
    t = ctx.t
    with ctx.session() as session:
        campaign = get_campaign(session, campaign_id)
    if ctx.now > campaign.cutoff_ts:
        raise _bad(ctx, t.gettext("The contest has closed: no more entries can be registered."))
    if rules != "yes":
        raise _bad(ctx, t.gettext("Please tick the box to accept the contest's rules."))
    if age not in ("adult", "minor"):
        raise _bad(ctx, t.gettext("Please say whether you are 18 or older."))
    name = " ".join(guardian_name.replace("\x00", "").split())
    contact = " ".join(guardian_contact.replace("\x00", "").split())
    if age == "minor" and (not name or not contact or guardian_consent != "yes"):
        raise _bad(
            ctx,
            t.gettext(
                "Under 18, a parent or guardian must agree: give their name and a phone number "
                "or e-mail address, and tick the box that they agree."
            ),
        )
    regions = sorted(campaign.regions)
    if regions and region not in regions:
        raise _bad(ctx, t.gettext("Please choose the country you live in."))
    state, pkce = new_state(), new_pkce()
    consent_data: dict[str, Any] = {
        "minor": age == "minor",
        "guardian_name": name if age == "minor" else None,
        "guardian_contact": contact if age == "minor" else None,
        "region": region or None,
        "accepted_at": ctx.now,
    }
    with ctx.session() as session:
        store.start_login(
            session,
            services.cipher,
            campaign_id=campaign_id,
            state=state,
            browser=ctx.csrf_cookie,
            verifier=pkce.verifier,
            consent=consent_data,
            now=ctx.now,
        )
    target = authorize_url(services.login, state=state, pkce=pkce)
    if ctx.wants_json:
        return ctx.json({"authorize_url": target}, status=201)
    return ctx.respond(
        "take_part_go.html", {"campaign": campaign, "authorize_url": target}, campaign=campaign,
        twin=False,
    )  # fmt: skip


# 2. Back from TikTok ----------------------------------------------------------------------------


@router.get(
    "/creators/callback",
    tags=["creators"],
    responses={303: {"description": "On to the creator's videos, or back to the start"}},
)
def callback(
    ctx: SignInCtx,
    request: Request,
    code: Annotated[str, Query(max_length=1000)] = "",
    state: Annotated[str, Query(max_length=200)] = "",
    error: Annotated[str, Query(max_length=100)] = "",
) -> Response:
    """Check the state, exchange the code, keep the creator and their tokens."""
    services = _need_services(ctx)
    t = ctx.t
    browser = request.cookies.get(CSRF_COOKIE, "")
    try:
        with ctx.session() as session:
            pending = store.take_login(
                session, services.cipher, state=state, browser=browser, now=ctx.now
            )
    except store.LoginStateError:
        raise _bad(
            ctx,
            t.gettext(
                "This sign-in did not start here, has expired or was already used. Nothing was "
                "stored. Start again from the campaign's “Take part” page."
            ),
        ) from None
    if error or not code:
        raise _bad(
            ctx,
            t.gettext("You did not allow Öyrən to read your public videos, so nothing was stored."),
        )
    try:
        tokens = services.login_client().exchange(code, pending.verifier)
        info = services.display().user_info(tokens.access_token)
    except GrantInvalid:
        raise _bad(
            ctx,
            t.gettext(
                "TikTok refused this sign-in (the code was already used or has expired). Nothing "
                "was stored. Start again from the campaign's “Take part” page."
            ),
        ) from None
    except ConnectorError:
        raise HTTPException(
            502, detail=t.gettext("TikTok did not answer. Please try again in a few minutes.")
        ) from None
    if "video.list" not in tokens.scope:
        raise _bad(
            ctx,
            t.gettext(
                "Öyrən needs to read your public videos to count them; please allow that on "
                "TikTok's page. Nothing was stored."
            ),
        )
    with ctx.session() as session:
        creator_id = store.save_creator(
            session,
            services.cipher,
            open_id=info.open_id,
            username=info.username,
            display_name=info.display_name,
            tokens=tokens,
            now=ctx.now,
        )
        store.join_campaign(
            session,
            campaign_id=pending.campaign_id,
            creator_id=creator_id,
            consent=pending.consent,
            now=ctx.now,
        )
    response = ctx.redirect(f"/campaigns/{pending.campaign_id}/me/videos")
    response.set_cookie(
        CREATOR_COOKIE,
        _signer(ctx).dumps({"c": creator_id}),
        max_age=CREATOR_MAX_AGE_S,
        httponly=True,
        samesite="lax",
        secure=ctx.request.url.scheme == "https" if ctx.state.secure_cookies is None
        else ctx.state.secure_cookies,
        path="/",
    )  # fmt: skip
    return response


def _token(ctx: Ctx, services: CreatorServices, creator: store.Creator) -> str:
    engine_store = store.DbCreatorStore(ctx.state.engine, services.cipher)
    try:
        return engine_store.access_token(
            creator.id, now=ctx.now, refresh=services.login_client().refresh
        )
    except GrantInvalid:
        engine_store.access_lost(creator.id, "refresh_refused", now=ctx.now)
    except StoreError:
        pass
    raise _bad(
        ctx,
        ctx.t.gettext(
            "Öyrən can no longer read your videos on TikTok (access was withdrawn or has "
            "expired). Sign in again from the “Take part” page."
        ),
    )


# 3. Picking entries -----------------------------------------------------------------------------


@page("/campaigns/{campaign_id}/me/videos")
def my_videos(campaign_id: CampaignId, ctx: PageCtx) -> Response:
    """The creator's public videos posted in the window, each marked by its hashtag."""
    services = _need_services(ctx)
    creator = _signed_in(ctx, campaign_id)
    with ctx.session() as session:
        campaign = get_campaign(session, campaign_id)
        mine = {e.video_id for e in store.entries_of(session, campaign_id, creator.id)}
    token = _token(ctx, services, creator)
    try:
        videos = services.display().videos_since(token, campaign.window_start_ts)
    except ConnectorError:
        raise HTTPException(
            502, detail=ctx.t.gettext("TikTok did not answer. Please try again in a few minutes.")
        ) from None
    rows = [
        {
            "video_id": v.video_id,
            "caption": v.caption,
            "posted_at": campaign.local(v.create_time),
            "duration_s": v.duration_s,
            "views": v.view_count,
            "hashtag": _tag_state(v, campaign.folded_hashtags),
            "registered": v.video_id in mine,
        }
        for v in videos
        if v.create_time <= campaign.cutoff_ts
    ]
    data = {"campaign": campaign, "creator": creator.username, "videos": rows}
    return ctx.respond("my_videos.html", data, campaign=campaign, current="take_part")


@router.post(
    "/campaigns/{campaign_id}/me/entries",
    responses=FORM_POST,
    tags=["creators"],
    dependencies=[Depends(csrf_protected)],
)
def register(
    campaign_id: CampaignId,
    ctx: SignInCtx,
    video: Annotated[list[str], Form(max_length=MAX_PICKS)] = [],  # noqa: B006
    claim: Annotated[list[str], Form(max_length=MAX_PICKS)] = [],  # noqa: B006
) -> Response:
    """Register the picked videos once TikTok confirms each is the creator's own."""
    services = _need_services(ctx)
    t = ctx.t
    creator = _signed_in(ctx, campaign_id)
    picked = list(dict.fromkeys(video))
    if not picked:
        raise _bad(ctx, t.gettext("Pick at least one video."))
    if len(picked) > MAX_PICKS or any(not _VIDEO_ID.match(v) for v in [*picked, *claim]):
        raise _bad(ctx, t.gettext("That list of videos is not one this page sent."))
    with ctx.session() as session:
        campaign = get_campaign(session, campaign_id)
        joined = store.participation(session, campaign_id, creator.id)
    if ctx.now > campaign.cutoff_ts:
        raise _bad(ctx, t.gettext("The contest has closed: no more entries can be registered."))
    token = _token(ctx, services, creator)
    try:
        found = {v.video_id: v for v in services.display().query_all(token, picked)}
    except ConnectorError:
        raise HTTPException(
            502, detail=t.gettext("TikTok did not answer. Please try again in a few minutes.")
        ) from None
    for vid in picked:
        if vid not in found:
            raise _bad(
                ctx,
                t.gettext(
                    "Video %(id)s is not one of your public videos on TikTok, so it cannot be "
                    "registered. Nothing was stored."
                )
                % {"id": vid},
            )
        if not campaign.window_start_ts <= found[vid].create_time <= campaign.cutoff_ts:
            raise _bad(
                ctx,
                t.gettext("Video %(id)s was not posted during the contest. Nothing was stored.")
                % {"id": vid},
            )
    region = joined.region if joined is not None else None
    picks = [
        (
            to_observation(found[vid], username=creator.username, region=region),
            _tag_state(found[vid], campaign.folded_hashtags),
            vid in claim,
        )
        for vid in picked
    ]
    with ctx.session() as session:
        store.register_entries(
            session, campaign_id=campaign_id, creator_id=creator.id, picks=picks, now=ctx.now
        )
        # The covers' addresses, for `oyren thumbnails` to fetch before they expire.
        for vid in picked:
            cover = found[vid].cover_image_url
            if cover:
                note_thumbnail_url(
                    session, campaign_id=campaign_id, video_id=vid, url=cover,
                    source="display_api", expires_at=url_expiry(cover, seen_at=int(ctx.now)),
                    at=int(ctx.now),
                )  # fmt: skip
    if ctx.wants_json:
        return ctx.json({"registered": picked}, status=201)
    return ctx.redirect(f"/campaigns/{campaign_id}/me")


# 4. The creator's page --------------------------------------------------------------------------


@page("/campaigns/{campaign_id}/me")
def my_page(campaign_id: CampaignId, ctx: PageCtx) -> Response:
    """The creator's entries, eligibility in words, latest counts, and how to withdraw."""
    creator = _signed_in(ctx, campaign_id)
    with ctx.session() as session:
        entries = store.entries_of(session, campaign_id, creator.id)
        joined = store.participation(session, campaign_id, creator.id)
        check = publishing.self_check(
            session, campaign_id=campaign_id, query="@" + creator.username, now=ctx.now
        )
    checked = {v.video_id: v for v in check.videos}
    data = {
        "campaign": check.campaign,
        "creator": {
            "username": creator.username,
            "display_name": creator.display_name,
            "access": creator.token_status or "none",
            "access_problem": creator.token_problem,
        },
        "minor": bool(joined and joined.minor),
        "entries": [
            {
                "video_id": e.video_id,
                "caption": e.caption,
                "hashtag": e.hashtag,
                "tag_claimed": e.tag_claimed,
                "problem": e.problem,
                "checked": checked.get(e.video_id),
            }
            for e in entries
        ],
    }
    return ctx.respond("my_page.html", data, campaign=check.campaign, current="take_part")


@router.post(
    "/campaigns/{campaign_id}/me/entries/{video_id}/withdraw",
    responses=FORM_POST,
    tags=["creators"],
    dependencies=[Depends(csrf_protected)],
)
def withdraw(
    campaign_id: CampaignId,
    video_id: Annotated[str, Path(pattern=r"^\d{1,30}$")],
    ctx: SignInCtx,
) -> Response:
    """Withdraw one entry: it no longer takes part."""
    creator = _signed_in(ctx, campaign_id)
    with ctx.session() as session:
        store.withdraw_entry(
            session, campaign_id=campaign_id, creator_id=creator.id, video_id=video_id,
            now=ctx.now,
        )  # fmt: skip
    if ctx.wants_json:
        return ctx.json({"withdrawn": video_id})
    return ctx.redirect(f"/campaigns/{campaign_id}/me")


@router.post(
    "/creators/me/delete",
    tags=["creators"],
    dependencies=[Depends(csrf_protected)],
    responses=FORM_POST,
)
def delete_me(
    ctx: SignInCtx,
    confirm: Annotated[str, Form(max_length=10)] = "",
    campaign: Annotated[str, Form(max_length=63)] = "",
) -> Response:
    """Withdraw every entry, revoke and erase the tokens, delete the consents and names."""
    services = _need_services(ctx)
    creator = _signed_in(ctx, campaign)
    if confirm != "yes":
        raise _bad(ctx, ctx.t.gettext("Tick the box to confirm that everything should be deleted."))
    with ctx.session() as session:
        token = store.erase_creator(session, services.cipher, creator_id=creator.id, now=ctx.now)
    revoked = True
    if token is not None:
        try:
            services.login_client().revoke(token)
        except ConnectorError:
            revoked = False  # erased here either way; TikTok's side lapses with the token
    data = {
        "revoked": revoked,
        "campaign_id": campaign if re.fullmatch(r"[a-z0-9-]{1,63}", campaign) else "",
    }
    response = ctx.respond("deleted.html", data, twin=False)
    if ctx.wants_json:
        response = ctx.json(data)
    response.delete_cookie(CREATOR_COOKIE, path="/")
    return response


# 5. A pasted link, without signing in ------------------------------------------------------------


@router.post(
    "/campaigns/{campaign_id}/link",
    responses=FORM_POST,
    tags=["creators"],
    dependencies=[Depends(csrf_protected)],
)
def link(
    campaign_id: CampaignId,
    ctx: SignInCtx,
    q: Annotated[str, Form(max_length=600)],
) -> Response:
    """Check a pasted link with oEmbed and register it as an entry awaiting counts."""
    services = _need_services(ctx)
    t = ctx.t
    lookup = parse_lookup(q)
    if lookup.kind != "video" or not lookup.video_id or not lookup.username:
        raise _bad(
            ctx, t.gettext("Paste the full link of one TikTok video (tiktok.com/@name/video/…).")
        )
    with ctx.session() as session:
        campaign = get_campaign(session, campaign_id)
    if ctx.now > campaign.cutoff_ts:
        raise _bad(ctx, t.gettext("The contest has closed: no more entries can be registered."))
    url = f"https://www.tiktok.com/@{lookup.username}/video/{lookup.video_id}"
    try:
        found = services.oembed().lookup(url)
    except VideoUnavailable:
        raise _bad(
            ctx,
            t.gettext(
                "TikTok says this video does not exist or is not public. Nothing was stored."
            ),
        ) from None
    except ConnectorError:
        raise HTTPException(
            502, detail=t.gettext("TikTok did not answer. Please try again in a few minutes.")
        ) from None
    tags = extract_hashtags(found.caption)
    state = "present" if has_campaign_hashtag(tags, campaign.folded_hashtags) else "absent"
    with ctx.session() as session:
        new = store.register_link(
            session, campaign_id=campaign_id, video_id=lookup.video_id,
            username=found.username or lookup.username or "", caption=found.caption,
            hashtag=state, now=ctx.now,
        )  # fmt: skip
    data = {
        "campaign": campaign,
        "video_id": lookup.video_id,
        "author": found.author_name,
        "username": found.username,
        "caption": found.caption,
        "hashtag": state,
        "new": new,
    }
    if ctx.wants_json:
        return ctx.json(data, status=201 if new else 200)
    return ctx.respond("link_entry.html", data, campaign=campaign, twin=False)


# 6. The organizer's view -------------------------------------------------------------------------


@page("/organizer/campaigns/{campaign_id}/creators")
def organizer_creators(campaign_id: CampaignId, ctx: OrganizerCtx) -> Response:
    """Every creator who took part: age statement, guardian's consent, access, entries (the
    JSON twin is the export; the public never sees any of it)."""
    with ctx.session() as session:
        campaign = get_campaign(session, campaign_id)
        people = store.campaign_creators(session, campaign_id)
        entries = store.entries_of(session, campaign_id)
    by_creator: dict[int | None, list[store.Entry]] = {}
    for e in entries:
        by_creator.setdefault(e.creator_id, []).append(e)
    rows = [
        {
            "username": c.username,
            "display_name": c.display_name,
            "minor": p.minor,
            "guardian_name": p.guardian_name,
            "guardian_contact": p.guardian_contact,
            "guardian_consent_at": campaign.local(p.guardian_consent_at)
            if p.guardian_consent_at
            else None,
            "accepted_rules_at": campaign.local(p.accepted_rules_at),
            "region": p.region,
            "access": c.token_status or "none",
            "access_problem": c.token_problem,
            "entries": [
                {
                    "video_id": e.video_id,
                    "hashtag": e.hashtag,
                    "tag_claimed": e.tag_claimed,
                    "problem": e.problem,
                }
                for e in by_creator.get(c.id, [])
            ],
        }
        for c, p in people
    ]
    links = [
        {"video_id": e.video_id, "username": e.username, "caption": e.caption, "hashtag": e.hashtag}
        for e in by_creator.get(None, [])
    ]
    data = {"campaign": campaign, "creators": rows, "links": links}
    return ctx.respond("organizer_creators.html", data, campaign=campaign)
