"""Public pages: the campaign, leaderboards, winners, the creator's self-check, partners, charts.

Each handler parses the request, calls one function of :mod:`oyren.pages.public` and renders the
page or its JSON twin (registered by :func:`page` at the same path plus ``.json``). Nothing here
decides anything: eligibility, ranking and explanations all come from the core.
"""

from __future__ import annotations

from functools import partial
from importlib.resources import files
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from oyren.pages import public as publishing
from oyren.pages import trends
from oyren.store import list_campaigns
from oyren.store.thumbnails import get_thumbnail
from oyren.web.charts import stats_captions, stats_charts
from oyren.web.context import Ctx, add_page, csrf_protected, limited_ctx, page_ctx, safe_next
from oyren.web.i18n import LANGUAGES
from oyren.web.params import CampaignId, Offset, VideoId
from oyren.web.responses import FORM_POST, PUBLIC

__all__ = ["router"]

router = APIRouter(responses=PUBLIC)

PageCtx = Annotated[Ctx, Depends(page_ctx)]
CheckCtx = Annotated[Ctx, Depends(limited_ctx("check"))]
SubmitCtx = Annotated[Ctx, Depends(limited_ctx("submit"))]
ThumbCtx = Annotated[Ctx, Depends(limited_ctx("thumb"))]

# A cached image is fetched again after a week at most, so browsers may keep it that long (and
# revalidate with the ETag); the placeholder only until the image is fetched.
THUMB_CACHE = "public, max-age=604800"
PLACEHOLDER_CACHE = "public, max-age=300"
PLACEHOLDER = files("oyren.web").joinpath("static", "thumb.svg").read_bytes()


page = partial(add_page, router, tags=["public"])


@router.get("/", include_in_schema=False)
def home(ctx: PageCtx) -> Response:
    """The start page: the campaign when there is one, else the list."""
    with ctx.session() as session:
        campaigns = list_campaigns(session)
    if len(campaigns) == 1:
        return RedirectResponse(f"/campaigns/{campaigns[0].id}", status_code=307)
    return RedirectResponse("/campaigns", status_code=307)


@page("/campaigns")
def campaigns(ctx: PageCtx) -> Response:
    """Every campaign on this site."""
    with ctx.session(write=False) as session:
        if (kept := ctx.conditional(session=session, reuse=True)) is not None:
            return kept
        data = list_campaigns(session)
    return ctx.respond("campaigns.html", {"campaigns": data})


@page("/campaigns/{campaign_id}")
def campaign(campaign_id: CampaignId, ctx: PageCtx) -> Response:
    """What the contest is, its rules, dates, prizes and partners, and where it stands."""
    with ctx.session(write=False) as session:
        ctx.conditional(campaign_id, session=session)
        data = publishing.overview(session, campaign_id=campaign_id, now=ctx.now)
    return ctx.respond("campaign.html", data, campaign=data.campaign, current="campaign")


@page("/campaigns/{campaign_id}/leaderboard")
def leaderboard(
    campaign_id: CampaignId,
    ctx: PageCtx,
    offset: Offset = 0,
) -> Response:
    """The most-viewed eligible videos and creators: views so far, or at the deadline."""
    with ctx.session(write=False) as session:
        if (kept := ctx.conditional(campaign_id, session=session, reuse=True)) is not None:
            return kept
        data = publishing.leaderboard(
            session,
            campaign_id=campaign_id,
            now=ctx.now,
            offset=offset,
            limit=ctx.state.page_size,
        )
    return ctx.respond("leaderboard.html", data, campaign=data.campaign, current="leaderboard")


@page("/campaigns/{campaign_id}/winners")
def winners(campaign_id: CampaignId, ctx: PageCtx) -> Response:
    """The prizes once they are frozen, with the audit bundle's digest."""
    with ctx.session(write=False) as session:
        if (kept := ctx.conditional(campaign_id, session=session, reuse=True)) is not None:
            return kept
        data = publishing.winners(session, campaign_id=campaign_id, now=ctx.now)
    return ctx.respond("winners.html", data, campaign=data.campaign, current="winners")


@router.get("/campaigns/{campaign_id}/bundle.zip", tags=["public"])
def bundle(campaign_id: CampaignId, ctx: PageCtx) -> Response:
    """The award's audit bundle: recompute the prizes with `oyren verify`."""
    with ctx.session(write=False) as session:
        data = publishing.award_bundle(session, campaign_id=campaign_id)
    return Response(
        data.data,
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{data.name}"'},
    )


@router.get(
    "/campaigns/{campaign_id}/thumbs/{video_id}",
    tags=["public"],
    response_class=Response,
    responses={
        200: {
            "content": {"image/jpeg": {}, "image/png": {}, "image/webp": {}, "image/svg+xml": {}}
        },
        304: {"description": "Not modified"},
    },
)
def thumbnail(
    campaign_id: CampaignId, video_id: VideoId, request: Request, ctx: ThumbCtx
) -> Response:
    """A video's thumbnail from Öyrən's cache (JPEG, PNG or WebP, checked when fetched), or a
    placeholder drawing until one is cached: pages never make the reader's browser ask the
    platform for an image."""
    with ctx.session() as session:
        found = get_thumbnail(session, campaign_id=campaign_id, video_id=video_id)
    if found is None:
        return Response(
            PLACEHOLDER, media_type="image/svg+xml", headers={"Cache-Control": PLACEHOLDER_CACHE}
        )
    headers = {"Cache-Control": THUMB_CACHE, "ETag": f'"{found.digest[:32]}"'}
    if request.headers.get("if-none-match") == headers["ETag"]:
        return Response(status_code=304, headers=headers)
    return Response(found.image, media_type=found.content_type, headers=headers)


@page("/campaigns/{campaign_id}/check")
def check(
    campaign_id: CampaignId,
    ctx: CheckCtx,
    q: Annotated[str, Query(max_length=600, description="A TikTok link or username")] = "",
    submitted: Annotated[bool, Query(description="Set after a submission")] = False,
) -> Response:
    """A creator's videos as counted, pending or not counted, each reason in words."""
    with ctx.session() as session:
        data = publishing.self_check(session, campaign_id=campaign_id, query=q, now=ctx.now)
    return ctx.respond(
        "check.html", data, campaign=data.campaign, current="check", extra={"submitted": submitted}
    )


@router.post(
    "/campaigns/{campaign_id}/submissions",
    tags=["public"],
    dependencies=[Depends(csrf_protected)],
    status_code=201,
    responses=FORM_POST,
)
def submit(
    campaign_id: CampaignId,
    ctx: SubmitCtx,
    q: Annotated[str, Form(max_length=600, description="A link to one TikTok video")],
) -> Response:
    """Submit a link the contest has not seen, for the next crawl."""
    with ctx.session() as session:
        data = publishing.submit_link(session, campaign_id=campaign_id, query=q, now=ctx.now)
    if ctx.wants_json:
        return ctx.json(data, status=201)
    return ctx.redirect(f"/campaigns/{campaign_id}/check?" + urlencode({"q": q, "submitted": 1}))


@page("/campaigns/{campaign_id}/partners")
def partners(campaign_id: CampaignId, ctx: PageCtx) -> Response:
    """The partner institutions, their accounts and their campaign videos' reach."""
    with ctx.session(write=False) as session:
        if (kept := ctx.conditional(campaign_id, session=session, reuse=True)) is not None:
            return kept
        data = publishing.partner_showcase(session, campaign_id=campaign_id)
    return ctx.respond("partners.html", data, campaign=data.campaign, current="partners")


@page("/campaigns/{campaign_id}/stats")
def stats(campaign_id: CampaignId, ctx: PageCtx) -> Response:
    """Entries and views over time, topics and the distribution of views, as charts."""
    with ctx.session(write=False) as session:
        if (kept := ctx.conditional(campaign_id, session=session, reuse=True)) is not None:
            return kept
        data = trends.stats(session, campaign_id=campaign_id, now=ctx.now)
    return ctx.respond(
        "stats.html",
        data,
        campaign=data.campaign,
        current="stats",
        extra={"charts": stats_charts(ctx.t, data), "captions": stats_captions(ctx.t, data)},
    )


@router.get("/language/{lang}", include_in_schema=False)
def language(lang: str, ctx: PageCtx, next: str = "/") -> Response:
    """Remember the reader's language and go back to the page they were on."""
    response = ctx.redirect(safe_next(next))
    if lang in LANGUAGES:
        response.set_cookie(
            "oyren_lang", lang, max_age=365 * 86400, httponly=True, samesite="lax", path="/"
        )
    return response


@page("/api")
def api(ctx: PageCtx) -> Response:
    """The JSON API's endpoints, read from the OpenAPI description."""
    spec = ctx.request.app.openapi()
    endpoints = [
        {
            "method": method.upper(),
            "path": path,
            "summary": op.get("summary", ""),
            "description": op.get("description", ""),
        }
        for path, ops in spec.get("paths", {}).items()
        for method, op in ops.items()
    ]
    return ctx.respond("api.html", {"openapi": "/openapi.json", "endpoints": endpoints})
