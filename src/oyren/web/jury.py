"""The jury's pages: a juror answers questions; an organizer opens, staffs and closes rounds.

Jurors reach only ``/jury`` pages, and only rounds they are invited to; the organizer's round
pages sit under ``/organizer`` with the others. Every form post carries the CSRF token. The
buttons a juror presses are read into one store call (:func:`oyren.store.record_judgment`),
which checks the answer is to the question asked.
"""

from __future__ import annotations

import secrets
from functools import partial
from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException
from fastapi.responses import Response

from oyren import store
from oyren.pages import jury as ballots
from oyren.store.accounts import create_user, list_users
from oyren.web.context import Ctx, add_page, csrf_protected, juror_ctx, organizer_ctx
from oyren.web.params import MAX_SHORTLIST, CampaignId, EntryIds, Places, RoundId
from oyren.web.responses import FORM_POST, SIGNED_IN

__all__ = ["router"]

router = APIRouter(responses=SIGNED_IN)

JurorCtx = Annotated[Ctx, Depends(juror_ctx)]
OrganizerCtx = Annotated[Ctx, Depends(organizer_ctx)]
CSRF = [Depends(csrf_protected)]

page = partial(add_page, router, tags=["jury"])


# --- The juror's pages -------------------------------------------------------------------------


@page("/jury")
def juror_home(ctx: JurorCtx) -> Response:
    """The open rounds the juror is invited to."""
    assert ctx.user is not None
    with ctx.session() as session:
        data = ballots.rounds_of(session, juror=ctx.user.username)
    return ctx.respond("jury_home.html", data)


@page("/jury/rounds/{round_id}")
def juror_round(round_id: RoundId, ctx: JurorCtx) -> Response:
    """The next question: the videos to compare, and the juror's progress (no leader shown)."""
    assert ctx.user is not None
    with ctx.session() as session:
        data = ballots.ballot(session, round_id=round_id, juror=ctx.user.username)
    return ctx.respond("jury_round.html", data)


@router.post(
    "/jury/rounds/{round_id}/answer",
    tags=["jury"],
    dependencies=CSRF,
    status_code=201,
    responses=FORM_POST,
)
def answer(
    round_id: RoundId,
    ctx: JurorCtx,
    entry: EntryIds,
    choice: Annotated[str, Form(pattern="^(left|right|equal|order)$")] = "order",
    place: Places = None,
    skip: Annotated[str | None, Form(max_length=64, description="A video to skip")] = None,
) -> Response:
    """Answer the question: left or right is better, equal, an order for a batch, or a skip."""
    assert ctx.user is not None
    if skip:
        kind, entries = "skip", [skip]
    elif choice == "order":
        if place is None or sorted(place) != list(range(1, len(entry) + 1)):
            raise HTTPException(400, detail=ctx.t.gettext("Give each video a different place."))
        kind, entries = "ranking", [e for _p, e in sorted(zip(place, entry, strict=True))]
    elif len(entry) != 2:
        raise HTTPException(400, detail=ctx.t.gettext("Give each video a different place."))
    elif choice == "equal":
        kind, entries = "tie", entry
    else:
        kind, entries = "pair", entry if choice == "left" else entry[::-1]
    with ctx.session() as session:
        judgment = store.record_judgment(
            session,
            round_id=round_id,
            juror=ctx.user.username,
            kind=kind,
            entries=entries,
            at=ctx.now,
        )
    if ctx.wants_json:
        return ctx.json(judgment, status=201)
    return ctx.redirect(f"/jury/rounds/{round_id}")


@router.post("/jury/rounds/{round_id}/undo", tags=["jury"], dependencies=CSRF, responses=FORM_POST)
def undo(round_id: RoundId, ctx: JurorCtx) -> Response:
    """Take back the juror's latest answer."""
    assert ctx.user is not None
    with ctx.session() as session:
        taken = store.undo_last(session, round_id=round_id, juror=ctx.user.username, at=ctx.now)
    if ctx.wants_json:
        return ctx.json({"undone": taken})
    return ctx.redirect(f"/jury/rounds/{round_id}")


# --- The organizer's round pages ---------------------------------------------------------------


@page("/organizer/campaigns/{campaign_id}/jury")
def rounds(campaign_id: CampaignId, ctx: OrganizerCtx) -> Response:
    """The campaign's jury rounds: progress, leader and P(best), jurors; forms to run them."""
    return _rounds_page(ctx, campaign_id)


def _rounds_page(ctx: Ctx, campaign_id: str, *, added: tuple[str, str] | None = None) -> Response:
    with ctx.session() as session:
        campaign, data = ballots.campaign_rounds(session, campaign_id=campaign_id)
        jurors = [u.username for u in list_users(session) if u.role == "juror" and u.active]
    extra = {"c": campaign, "jurors": jurors, "added": added}
    return ctx.respond("jury_rounds.html", data, campaign=campaign, extra=extra)


@router.post("/organizer/campaigns/{campaign_id}/jurors", tags=["jury"], dependencies=CSRF)
def add_juror(
    campaign_id: CampaignId,
    ctx: OrganizerCtx,
    username: Annotated[str, Form(min_length=2, max_length=40)],
) -> Response:
    """Create a juror's account with a password made here and shown once, to hand to the juror
    (it is stored only as a hash); the juror can then be invited to rounds."""
    assert ctx.user is not None
    password = secrets.token_urlsafe(12)
    with ctx.session() as session:
        ballots.campaign_rounds(session, campaign_id=campaign_id)  # the campaign must exist
        made = create_user(
            session, username=username, password=password, role="juror", by=ctx.user.username,
            at=ctx.now,
        )  # fmt: skip
    if ctx.wants_json:
        return ctx.json({"username": made.username, "password": password}, status=201)
    return _rounds_page(ctx, campaign_id, added=(made.username, password))


def _probability(ctx: Ctx, text: str) -> float:
    """Read a probability typed with the reader's decimal separator, or a point."""
    from babel.numbers import NumberFormatError, parse_decimal

    cleaned = text.strip().replace(" ", "")
    value = None
    for locale in (ctx.t.locale, "en"):
        try:
            value = float(parse_decimal(cleaned, locale=locale, strict=True))
            break
        except NumberFormatError:
            continue
    if value is None or not 0.5 <= value < 1.0:
        raise HTTPException(
            400,
            detail=ctx.t.gettext("Give the stop probability as a number from %(low)s to %(high)s.")
            % {"low": ctx.t.number(0.5), "high": ctx.t.number(0.99)},
        )
    return value


@router.post(
    "/organizer/campaigns/{campaign_id}/jury",
    tags=["jury"],
    dependencies=CSRF,
    status_code=201,
    responses=FORM_POST,
)
def create_round(
    campaign_id: CampaignId,
    ctx: OrganizerCtx,
    name: Annotated[str, Form(min_length=1, max_length=200)],
    rule: Annotated[str, Form(pattern="^(top|topic|videos|all)$")],
    value: Annotated[str, Form(max_length=20000)] = "",
    batch: Annotated[int, Form(ge=2, le=8)] = 2,
    threshold: Annotated[str, Form(max_length=20)] = "0.9",
) -> Response:
    """Open a round on a shortlist: the top N by views, one topic, listed ids, or all.

    ``threshold`` is a probability between 0.5 and 0.99, written with the reader's decimal
    separator (0,9 in Azerbaijani) or a point.
    """
    assert ctx.user is not None
    chance = _probability(ctx, threshold)
    top = topic = videos = None
    if rule == "top":
        digits = value.strip()
        # Checked as text first: int() of thousands of digits is slow, then refused by Python.
        if not (digits.isascii() and digits.isdigit() and len(digits) <= len(str(MAX_SHORTLIST))):
            raise HTTPException(400, detail=ctx.t.gettext("Give the number of entries to take."))
        top = int(digits)
        if not 1 <= top <= MAX_SHORTLIST:
            raise HTTPException(400, detail=ctx.t.gettext("Give the number of entries to take."))
    elif rule == "topic":
        topic = value
    elif rule == "videos":
        videos = [v for v in value.replace(",", " ").split() if v]
    with ctx.session() as session:
        made = store.create_round(
            session,
            campaign_id=campaign_id,
            name=name,
            by=ctx.user.username,
            top=top,
            topic=topic,
            videos=videos,
            size=batch,
            threshold=chance,
            at=ctx.now,
        )
    if ctx.wants_json:
        return ctx.json(made, status=201)
    return ctx.redirect(f"/organizer/campaigns/{campaign_id}/jury")


@router.post(
    "/organizer/jury/rounds/{round_id}/invite",
    tags=["jury"],
    dependencies=CSRF,
    status_code=201,
    responses=FORM_POST,
)
def invite(
    round_id: RoundId,
    ctx: OrganizerCtx,
    juror: Annotated[str, Form(min_length=1, max_length=40)],
    conflicts: Annotated[str, Form(max_length=5000)] = "",
) -> Response:
    """Invite a juror account, with creators or video ids they must not judge."""
    assert ctx.user is not None
    with ctx.session() as session:
        invited = store.invite_juror(
            session,
            round_id=round_id,
            juror=juror.strip(),
            conflicts=conflicts.replace(",", " ").split(),
            by=ctx.user.username,
            at=ctx.now,
        )
        campaign_id = store.get_round(session, round_id=round_id).campaign_id
    if ctx.wants_json:
        return ctx.json(invited, status=201)
    return ctx.redirect(f"/organizer/campaigns/{campaign_id}/jury")


@router.post(
    "/organizer/jury/rounds/{round_id}/focus", tags=["jury"], dependencies=CSRF, responses=FORM_POST
)
def focus(
    round_id: RoundId,
    ctx: OrganizerCtx,
    mode: Annotated[str, Form(pattern="^(more|faceoff|off)$")],
    entry: Annotated[list[str] | None, Form(max_length=2, description="The two entries")] = None,
) -> Response:
    """A close race: more questions on two entries, a final face-off, or back to usual."""
    assert ctx.user is not None
    if mode != "off" and (entry is None or len(entry) != 2):
        raise HTTPException(400, detail=ctx.t.gettext("Name the two entries."))
    with ctx.session() as session:
        info = store.focus_round(
            session,
            round_id=round_id,
            entries=None if mode == "off" else entry,
            mode="more" if mode == "off" else mode,
            by=ctx.user.username,
            at=ctx.now,
        )
    if ctx.wants_json:
        return ctx.json(info)
    return ctx.redirect(f"/organizer/campaigns/{info.campaign_id}/jury")


@router.post(
    "/organizer/jury/rounds/{round_id}/tiebreak",
    tags=["jury"],
    dependencies=CSRF,
    responses=FORM_POST,
)
def tiebreak(
    round_id: RoundId,
    ctx: OrganizerCtx,
    first: Annotated[str, Form(min_length=1, max_length=64)],
    pair: Annotated[list[str], Form(max_length=2, description="The two close entries")],
    reason: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """The organizer's tie-break between two close entries, with its reason (published)."""
    assert ctx.user is not None
    if len(pair) != 2 or first not in pair or pair[0] == pair[1]:
        raise HTTPException(400, detail=ctx.t.gettext("Name the two entries."))
    second = pair[1] if first == pair[0] else pair[0]
    with ctx.session() as session:
        decided = store.break_tie(
            session,
            round_id=round_id,
            first=first,
            second=second,
            reason=reason,
            by=ctx.user.username,
            at=ctx.now,
        )
        campaign_id = store.get_round(session, round_id=round_id).campaign_id
    if ctx.wants_json:
        return ctx.json(decided, status=201)
    return ctx.redirect(f"/organizer/campaigns/{campaign_id}/jury")


@router.post(
    "/organizer/jury/rounds/{round_id}/close", tags=["jury"], dependencies=CSRF, responses=FORM_POST
)
def close(round_id: RoundId, ctx: OrganizerCtx) -> Response:
    """Close a round: its judgments decide the most creative prize."""
    assert ctx.user is not None
    with ctx.session() as session:
        closed = store.close_round(session, round_id=round_id, by=ctx.user.username, at=ctx.now)
    if ctx.wants_json:
        return ctx.json(closed)
    return ctx.redirect(f"/organizer/campaigns/{closed.campaign_id}/jury")
