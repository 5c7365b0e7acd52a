"""The organizer's pages: signing in, the dashboard, moderation, the audit log, exports, award.

Moderators and organizers see the dashboard, the queue and the log and decide on videos; only
organizers export and award. Jurors can sign in (their pages come with the jury) but get nothing
here. Every form post carries the CSRF token; API callers send it as ``X-CSRF-Token`` (the
dashboard's JSON twin gives it). Handlers call one core function each and hold no rules.
"""

from __future__ import annotations

from functools import partial
from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Path, Query
from fastapi.responses import Response

from oyren.pages import organizer as oversight
from oyren.rules.decisions import ACTIONS
from oyren.store import (
    account_wait,
    audit_page,
    award,
    export_standings,
    jury_certainty,
    list_campaigns,
    moderate,
    record_failure,
    record_success,
)
from oyren.store.accounts import authenticate, end_sessions
from oyren.web.charts import video_chart
from oyren.web.context import (
    Ctx,
    add_page,
    csrf_protected,
    limited_ctx,
    organizer_ctx,
    page_ctx,
    safe_next,
    staff_ctx,
)
from oyren.web.params import AuditBefore, CampaignId, NextPath, VideoId
from oyren.web.responses import FORM_POST, RATE_LIMITED, SIGNED_IN

__all__ = ["router"]

router = APIRouter(responses=SIGNED_IN)

StaffCtx = Annotated[Ctx, Depends(staff_ctx)]
OrganizerCtx = Annotated[Ctx, Depends(organizer_ctx)]
CSRF = [Depends(csrf_protected)]


page = partial(add_page, router, tags=["organizer"])


# --- Signing in and out ------------------------------------------------------------------------


@router.get("/login", include_in_schema=False)
def login_form(ctx: Annotated[Ctx, Depends(page_ctx)], next: str = "/organizer") -> Response:
    """The sign-in form."""
    return ctx.respond(
        "login.html", {"next": safe_next(next, "/organizer"), "failed": False}, twin=False
    )


@router.post(
    "/login", tags=["organizer"], dependencies=CSRF, responses={**FORM_POST, **RATE_LIMITED}
)
def login(
    ctx: Annotated[Ctx, Depends(limited_ctx("login"))],
    username: Annotated[str, Form(max_length=100)],
    password: Annotated[str, Form(max_length=1000)],
    next: NextPath = "/organizer",
) -> Response:
    """Sign in; the session cookie is signed and expires after the configured hours.

    Besides the per-address rate limit, each account allows a few wrong passwords, then a
    doubling wait between tries (at most 15 minutes) that the owner's own addresses skip.
    """
    with ctx.session() as session:
        wait = account_wait(session, username=username, address=ctx.client, at=ctx.now)
    if wait > 0:
        raise HTTPException(429, headers={"Retry-After": str(wait)})
    with ctx.session() as session:
        user = authenticate(session, username=username, password=password)
        if user is None:
            record_failure(session, username=username, at=ctx.now)
        else:
            record_success(session, username=username, address=ctx.client, at=ctx.now)
    if user is None:
        if ctx.wants_json:
            raise HTTPException(401)
        return ctx.respond(
            "login.html",
            {"next": safe_next(next, "/organizer"), "failed": True},
            status=401,
            twin=False,
        )
    home = "/jury" if user.role == "juror" else "/organizer"
    target = home if next == "/organizer" else safe_next(next, home)
    response = (
        ctx.json({"username": user.username, "role": user.role})
        if ctx.wants_json
        else ctx.redirect(target)
    )
    return ctx.start_session(response, user)


@router.post("/logout", tags=["organizer"], dependencies=CSRF, responses=FORM_POST)
def logout(ctx: Annotated[Ctx, Depends(page_ctx)]) -> Response:
    """Sign out: ends every session of the account."""
    if ctx.user is not None:
        with ctx.session() as session:
            end_sessions(session, user_id=ctx.user.id)
    return ctx.end_session(ctx.redirect("/"))


# --- Dashboard ---------------------------------------------------------------------------------


@page("/organizer")
def dashboard_home(ctx: StaffCtx) -> Response:
    """The campaigns to run; the JSON twin carries the CSRF token for API calls."""
    with ctx.session() as session:
        data = list_campaigns(session)
    return ctx.respond(
        "organizer_home.html", {"campaigns": data, "csrf_token": ctx.csrf_token, "user": ctx.user}
    )


@page("/organizer/campaigns/{campaign_id}")
def dashboard(campaign_id: CampaignId, ctx: StaffCtx) -> Response:
    """Campaign health: entries, eligibility, observations and crawls, what waits for a person."""
    with ctx.session() as session:
        data = oversight.health(session, campaign_id=campaign_id, now=ctx.now)
    return ctx.respond("dashboard.html", data, campaign=data.campaign)


@page("/organizer/campaigns/{campaign_id}/queue")
def queue(
    campaign_id: CampaignId,
    ctx: StaffCtx,
    offset: Annotated[int, Query(ge=0, le=10_000_000, description="First row to show")] = 0,
    why: Annotated[
        str, Query(pattern="^(|pending_check|flagged|topic)$", description="Why it waits")
    ] = "",
    flag: Annotated[
        str, Query(max_length=40, pattern="^[a-z_]*$", description="A flag's code")
    ] = "",
    theme: Annotated[
        str, Query(max_length=80, pattern="^[A-Za-z0-9_-]*$", description="A theme's id")
    ] = "",
    sort: Annotated[str, Query(pattern="^(priority|views|posted)$")] = "priority",
) -> Response:
    """Videos waiting for a person's decision, with their reasons and flags: one page of them,
    filtered by why they wait, a flag or a theme, in the order asked for."""
    chosen = oversight.QueueFilter(why=why, flag=flag, theme=theme, sort=sort)
    with ctx.session() as session:
        data = oversight.moderation_rows(
            session,
            campaign_id=campaign_id,
            now=ctx.now,
            offset=offset,
            limit=ctx.state.page_size,
            filter=chosen,
        )
    return ctx.respond("queue.html", data, campaign=data.campaign)


@router.post(
    "/organizer/campaigns/{campaign_id}/decisions",
    tags=["organizer"],
    dependencies=CSRF,
)
def decide_many(
    campaign_id: CampaignId,
    ctx: StaffCtx,
    action: Annotated[str, Form(pattern="^(exclude|include)$", description=" or ".join(ACTIONS))],
    reason: Annotated[str, Form(min_length=1, max_length=2000)],
    video: Annotated[list[str], Form(min_length=1, max_length=500)],
    next: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Exclude or include several videos at once with one reason (each decision is stored and
    logged on its own); all or none are recorded."""
    assert ctx.user is not None
    ids = list(dict.fromkeys(v.strip() for v in video if v.strip()))
    if not ids or any(len(v) > 64 for v in ids):
        raise HTTPException(400, detail=ctx.t.gettext("Choose the videos to decide on."))
    with ctx.session() as session:
        made = [
            moderate(
                session,
                campaign_id=campaign_id,
                video_id=video_id,
                action=action,
                reason=reason,
                by=ctx.user.username,
                at=ctx.now,
            )
            for video_id in ids
        ]
    if ctx.wants_json:
        return ctx.json(made, status=201)
    return ctx.redirect(safe_next(next, f"/organizer/campaigns/{campaign_id}/queue"))


@page("/organizer/campaigns/{campaign_id}/videos/{video_id}")
def video(campaign_id: CampaignId, video_id: VideoId, ctx: StaffCtx) -> Response:
    """One video's evidence: metadata, view history, verdict, decisions so far."""
    with ctx.session() as session:
        data = oversight.evidence(session, campaign_id=campaign_id, video_id=video_id, now=ctx.now)
    return ctx.respond(
        "video.html", data, campaign=data.campaign, extra={"chart": video_chart(ctx.t, data)}
    )


@router.post(
    "/organizer/campaigns/{campaign_id}/videos/{video_id}/decision",
    tags=["organizer"],
    dependencies=CSRF,
    status_code=201,
    responses=FORM_POST,
)
def decide(
    campaign_id: CampaignId,
    video_id: VideoId,
    ctx: StaffCtx,
    action: Annotated[str, Form(pattern="^(exclude|include)$", description=" or ".join(ACTIONS))],
    reason: Annotated[str, Form(min_length=1, max_length=2000)],
    next: NextPath = "",
) -> Response:
    """Exclude or include a video; the reason is required and goes into the audit log."""
    assert ctx.user is not None
    with ctx.session() as session:
        decision = moderate(
            session,
            campaign_id=campaign_id,
            video_id=video_id,
            action=action,
            reason=reason,
            by=ctx.user.username,
            at=ctx.now,
        )
    if ctx.wants_json:
        return ctx.json(decision, status=201)
    back = f"/organizer/campaigns/{campaign_id}/videos/{video_id}"
    return ctx.redirect(safe_next(next, back))


@page("/organizer/campaigns/{campaign_id}/audit")
def audit(
    campaign_id: CampaignId,
    ctx: StaffCtx,
    before: AuditBefore = None,
) -> Response:
    """The audit log: who did what and when, newest first."""
    with ctx.session() as session:
        campaign = oversight.campaign_of(session, campaign_id=campaign_id)
        data = audit_page(session, campaign_id=campaign_id, before=before, limit=50)
    return ctx.respond("audit.html", data, campaign=campaign, extra={"campaign_id": campaign_id})


@router.get("/organizer/campaigns/{campaign_id}/export.{fmt}", tags=["organizer"])
def export(
    campaign_id: CampaignId,
    fmt: Annotated[str, Path(pattern="^(csv|json)$")],
    ctx: OrganizerCtx,
) -> Response:
    """Entries and standings as CSV or JSON (as `oyren export` writes them)."""
    with ctx.session() as session:
        data = export_standings(session, campaign_id=campaign_id, fmt=fmt)
    media = "text/csv; charset=utf-8" if fmt == "csv" else "application/json"
    return Response(
        data,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{campaign_id}-standings.{fmt}"'},
    )


@page("/organizer/campaigns/{campaign_id}/award")
def award_form(campaign_id: CampaignId, ctx: OrganizerCtx) -> Response:
    """What awarding now would freeze, and the confirmation form."""
    with ctx.session() as session:
        data = oversight.award_preview(session, campaign_id=campaign_id, now=ctx.now)
    return ctx.respond("award.html", data, campaign=data.campaign)


@router.post(
    "/organizer/campaigns/{campaign_id}/award",
    tags=["organizer"],
    dependencies=CSRF,
    status_code=201,
    responses=FORM_POST,
)
def award_action(
    campaign_id: CampaignId,
    ctx: OrganizerCtx,
    confirm: Annotated[
        str, Form(max_length=200, description="The campaign's id, typed to confirm")
    ],
    reason: Annotated[str, Form(max_length=2000)] = "",
    despite_jury: Annotated[bool, Form(description="Award although the jury is unsettled")] = False,
) -> Response:
    """Freeze the prizes. Replacing an earlier award needs a reason, which is published."""
    assert ctx.user is not None
    if confirm.strip() != campaign_id:
        raise HTTPException(
            400, detail=ctx.t.gettext("To confirm, type the campaign's id exactly as shown.")
        )
    with ctx.session() as session:
        certainty = jury_certainty(session, campaign_id=campaign_id)
        if certainty is not None and certainty.below and not despite_jury:
            raise HTTPException(
                409,
                detail=ctx.t.gettext(
                    "The jury's leader is below its round's threshold. Ask more questions or "
                    "break the tie, or tick the box to award anyway (the winners page will say so)."
                ),
            )
        supersede = oversight.campaign_award(session, campaign_id=campaign_id) is not None
        record = award(
            session,
            campaign_id=campaign_id,
            by=ctx.user.username,
            supersede=supersede,
            reason=reason,
            at=ctx.now,
        )
    if ctx.wants_json:
        return ctx.json(record, status=201)
    return ctx.redirect(f"/campaigns/{campaign_id}/winners")
