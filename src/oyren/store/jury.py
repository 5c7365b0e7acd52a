"""Jury rounds in the store: shortlists, jurors and their conflicts, judgments, undo, progress.

An organizer builds a round's shortlist from the standings' eligible entries and invites jurors;
each juror answers the questions :func:`oyren.jury.rounds.next_question` chooses. Judgments are only
ever added: undo, and removing a careless juror's votes, mark rows, so the model refitted from
the stored judgments (:mod:`oyren.jury.model`) is exactly the one without them. The most creative
prize comes from the latest closed round, or the open one before any is closed
(:func:`jury_order`).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from oyren.errors import NotAllowed, NotFound, StoreError
from oyren.inputs.judgments import MAX_REASON, Judgment
from oyren.jury import rounds as jury
from oyren.rules.results import Entry
from oyren.store.accounts import UserRow
from oyren.store.audit import now, record_event
from oyren.store.awards import standings
from oyren.store.models import JudgmentRow, JurorRow, JuryRoundRow
from oyren.store.rows import JuryCertainty, jury_certainty, jury_order, stored_judgments

MAX_SHORTLIST = 100_000
"""The most entries a round's "top N" shortlist may ask for."""

__all__ = [
    "MAX_SHORTLIST",
    "JurorInfo",
    "JuryCertainty",
    "RoundInfo",
    "break_tie",
    "build_shortlist",
    "close_round",
    "create_round",
    "focus_round",
    "get_round",
    "invite_juror",
    "juror_rounds",
    "jury_certainty",
    "jury_order",
    "list_rounds",
    "next_question",
    "record_judgment",
    "remove_juror_votes",
    "round_judgments",
    "round_progress",
    "skip",
    "undo_last",
]

MAX_SHORTLIST = 2000  # a jury of a handful cannot be asked about more, even over weeks


@dataclass(frozen=True, slots=True)
class JurorInfo:
    """A juror of a round and the creators or videos they must not judge."""

    username: str
    conflicts: tuple[str, ...]
    invited_by: str
    invited_at: int
    removed: bool


@dataclass(frozen=True, slots=True)
class RoundInfo:
    """A round as stored: how its shortlist was built, how it asks, who judges, its status."""

    id: int
    campaign_id: str
    name: str
    mode: str
    size: int
    threshold: float
    rule: dict[str, Any]
    shortlist: tuple[str, ...]
    creators: dict[str, str]  # video id → creator's username
    status: str
    created_by: str
    created_at: int
    closed_by: str | None
    closed_at: int | None
    jurors: tuple[JurorInfo, ...]
    focus: jury.Focus | None = None


def build_shortlist(
    entries: Sequence[Entry],
    *,
    top: int | None = None,
    topic: str | None = None,
    videos: Collection[str] | None = None,
) -> list[Entry]:
    """Pick a round's entries among the eligible: top N by views, one topic, hand-picked, or all."""
    if sum(x is not None for x in (top, topic, videos)) > 1:
        raise StoreError("build a shortlist by one rule: top, topic or videos")
    eligible = sorted((e for e in entries if e.eligible), key=lambda e: e.sort_key)
    if top is not None:
        if top < 2:
            raise StoreError("a shortlist needs at least 2 entries (--top 2 or more)")
        picked = eligible[:top]
    elif topic is not None:
        wanted = topic.strip().casefold()
        picked = [e for e in eligible if (e.topic or "").casefold() == wanted]
    elif videos is not None:
        by_id = {e.video_id: e for e in eligible}
        missing = [v for v in videos if v not in by_id]
        if missing:
            raise StoreError(
                f"not eligible entries of this campaign: {', '.join(missing[:5])}; "
                "a shortlist takes eligible entries only"
            )
        picked = [by_id[v] for v in dict.fromkeys(videos)]
    else:
        picked = eligible
    if len(picked) < 2:
        raise StoreError(f"the shortlist has {len(picked)} entries: a round needs at least 2")
    if len(picked) > MAX_SHORTLIST:
        raise StoreError(
            f"the shortlist has {len(picked)} entries, more than {MAX_SHORTLIST}: "
            "take the top entries by views (--top N) or one topic (--topic T)"
        )
    return picked


def create_round(
    session: Session,
    *,
    campaign_id: str,
    name: str,
    by: str,
    top: int | None = None,
    topic: str | None = None,
    videos: Collection[str] | None = None,
    size: int = 2,
    threshold: float = 0.9,
    at: int | None = None,
) -> RoundInfo:
    """Open a round on a shortlist of eligible entries (see :func:`build_shortlist`)."""
    name = name.replace("\x00", "").strip()
    if not name:
        raise StoreError("a round needs a name (--name TEXT)")
    if not 2 <= size <= jury.MAX_SIZE:
        raise StoreError(f"the batch size must be 2 to {jury.MAX_SIZE} (--batch K)")
    if not 0.5 <= threshold < 1.0:
        raise StoreError("the threshold must be at least 0.5 and below 1 (--threshold P)")
    if top is not None and not 1 <= top <= MAX_SHORTLIST:
        raise StoreError(f"a shortlist takes 1 to {MAX_SHORTLIST:,} entries (--top N)")
    results = standings(session, campaign_id=campaign_id).results
    picked = build_shortlist(results.entries, top=top, topic=topic, videos=videos)
    if top is not None:
        rule: dict[str, Any] = {"top": top}
    elif topic is not None:
        rule = {"topic": topic}
    elif videos is not None:
        rule = {"videos": len(picked)}
    else:
        rule = {"all": True}
    at = now() if at is None else at
    row = JuryRoundRow(
        campaign_id=campaign_id,
        name=name,
        mode="compare",
        size=size,
        threshold=threshold,
        criteria=None,
        rule=orjson.dumps(rule).decode(),
        shortlist=orjson.dumps({e.video_id: e.username for e in picked}).decode(),
        status="open",
        created_by=by,
        created_at=at,
    )
    session.add(row)
    session.flush()
    details = {"round": row.id, "name": name, "rule": rule, "entries": len(picked), "size": size}
    details["threshold"] = threshold
    record_event(
        session, campaign_id=campaign_id, action="jury.round", by=by, at=at, details=details
    )
    return _info(session, row)


def get_round(session: Session, *, round_id: int) -> RoundInfo:
    """Return a stored round."""
    return _info(session, _round(session, round_id))


def list_rounds(session: Session, *, campaign_id: str) -> list[RoundInfo]:
    """A campaign's rounds, oldest first."""
    query = select(JuryRoundRow).where(JuryRoundRow.campaign_id == campaign_id)
    return [_info(session, r) for r in session.scalars(query.order_by(JuryRoundRow.id))]


def juror_rounds(session: Session, *, juror: str) -> list[RoundInfo]:
    """The open rounds ``juror`` is invited to (and not removed from)."""
    query = (
        select(JuryRoundRow)
        .join(JurorRow, JurorRow.round_id == JuryRoundRow.id)
        .where(
            JurorRow.username == juror,
            JurorRow.removed_at.is_(None),
            JuryRoundRow.status == "open",
        )
        .order_by(JuryRoundRow.id)
    )
    return [_info(session, r) for r in session.scalars(query)]


def invite_juror(
    session: Session,
    *,
    round_id: int,
    juror: str,
    by: str,
    conflicts: Collection[str] = (),
    at: int | None = None,
) -> JurorInfo:
    """Invite a juror account to a round, with creators (or video ids) they must not judge."""
    row = _open_round(session, round_id)
    user = session.scalar(select(UserRow).where(UserRow.username == juror))
    if user is None or not user.active or user.role != "juror":
        raise StoreError(
            f"no active juror account '{juror}': create it first "
            f"(oyren user add --role juror --username {juror})"
        )
    existing = _juror_row(session, round_id, juror)
    if existing is not None:
        raise StoreError(f"'{juror}' is already invited to round {round_id}")
    names = sorted({c.strip().lstrip("@") for c in conflicts if c.strip().lstrip("@")})
    at = now() if at is None else at
    session.add(
        JurorRow(
            round_id=round_id,
            username=juror,
            conflicts=orjson.dumps(names).decode(),
            invited_by=by,
            invited_at=at,
        )
    )
    details = {"round": round_id, "juror": juror, "conflicts": names}
    record_event(
        session, campaign_id=row.campaign_id, action="jury.invite", by=by, at=at, details=details
    )
    return JurorInfo(juror, tuple(names), by, at, False)


def round_judgments(session: Session, *, round_id: int) -> list[Judgment]:
    """Every judgment of the round in order, undone ones marked."""
    return stored_judgments(session, round_id)


def next_question(session: Session, *, round_id: int, juror: str) -> jury.Question | None:
    """The next question for ``juror`` in an open round; None when they have nothing left."""
    row = _open_round(session, round_id)
    return _question(session, row, _juror(session, row, juror))


def record_judgment(
    session: Session,
    *,
    round_id: int,
    juror: str,
    kind: str,
    entries: Sequence[str],
    at: int | None = None,
) -> Judgment:
    """Store an answer to the juror's current question (best first for a pair or a ranking)."""
    row = _open_round(session, round_id)
    member = _juror(session, row, juror)
    question = _question(session, row, member)
    if question is None:
        raise StoreError(f"round {round_id} has no question left for '{juror}'")
    asked = set(question.entries)
    given = list(entries)
    if kind == "skip":
        fits = bool(given) and set(given) <= asked and len(set(given)) == len(given)
    elif kind == "tie":
        fits = len(given) == 2 and set(given) == asked
    elif kind in ("pair", "ranking"):
        fits = set(given) == asked and len(given) == len(asked)
    else:
        raise StoreError(f"unknown answer '{kind}': pair, tie, ranking or skip")
    if not fits:
        raise StoreError(
            "the answer does not match the question asked (the page may be stale): reload it"
        )
    at = now() if at is None else at
    if kind in ("pair", "ranking"):
        judgment = Judgment.ranking(juror, given, at=at)
    elif kind == "tie":
        judgment = Judgment.tie(juror, given[0], given[1], at=at)
    else:
        judgment = Judgment.skip(juror, given, at=at)
    stored = JudgmentRow(
        round_id=round_id,
        juror=juror,
        kind=judgment.kind,
        entries=orjson.dumps(list(judgment.entries)).decode(),
        at=at,
    )
    session.add(stored)
    session.flush()
    details: dict[str, Any] = {"round": round_id, "judgment": stored.id, "kind": judgment.kind}
    details["entries"] = list(judgment.entries)
    record_event(
        session,
        campaign_id=row.campaign_id,
        action="jury.judgment",
        by=juror,
        at=at,
        details=details,
    )
    return judgment


def skip(
    session: Session, *, round_id: int, juror: str, entries: Sequence[str], at: int | None = None
) -> Judgment:
    """The juror cannot judge ``entries`` (a video that will not play, a creator they know)."""
    return record_judgment(
        session, round_id=round_id, juror=juror, kind="skip", entries=entries, at=at
    )


def undo_last(
    session: Session, *, round_id: int, juror: str, at: int | None = None
) -> Judgment | None:
    """Take back the juror's latest answer still in force; None when there is none."""
    row = _open_round(session, round_id)
    _juror(session, row, juror)
    latest = session.scalar(
        select(JudgmentRow)
        .where(
            JudgmentRow.round_id == round_id,
            JudgmentRow.juror == juror,
            JudgmentRow.undone_at.is_(None),
        )
        .order_by(JudgmentRow.id.desc())
        .limit(1)
    )
    if latest is None:
        return None
    at = now() if at is None else at
    latest.undone_at = at
    entries = tuple(orjson.loads(latest.entries))
    details = {"round": round_id, "judgment": latest.id, "kind": latest.kind}
    record_event(
        session, campaign_id=row.campaign_id, action="jury.undo", by=juror, at=at, details=details
    )
    return Judgment(juror, latest.kind, entries, latest.at, True)  # type: ignore[arg-type]


def round_progress(session: Session, *, round_id: int) -> jury.Progress:
    """Answers, coverage, the leader's probability of being the best, and whether to stop."""
    row = _round(session, round_id)
    return jury.progress(
        shortlist=list(_creators(row)),
        judgments=stored_judgments(session, round_id),
        threshold=row.threshold,
        size=row.size,
    )


FOCUS_MODES = ("more", "faceoff")


def focus_round(
    session: Session,
    *,
    round_id: int,
    entries: Sequence[str] | None,
    mode: str = "more",
    by: str,
    at: int | None = None,
) -> RoundInfo:
    """In a close race, ask more about two entries ("more": every question after coverage holds
    both) or hold a final face-off ("faceoff": every juror is asked the pair once more);
    ``entries`` None ends the focus."""
    row = _open_round(session, round_id)
    at = now() if at is None else at
    if entries is None:
        row.focus = None
        details: dict[str, Any] = {"round": round_id, "focus": None}
    else:
        pair = [str(e).strip() for e in entries]
        if mode not in FOCUS_MODES:
            raise StoreError(f"unknown focus '{mode}': {' or '.join(FOCUS_MODES)}")
        _check_pair(row, pair)
        row.focus = orjson.dumps({"entries": pair, "mode": mode, "by": by, "at": at}).decode()
        details = {"round": round_id, "focus": pair, "mode": mode}
    record_event(
        session, campaign_id=row.campaign_id, action="jury.focus", by=by, at=at, details=details
    )
    return _info(session, row)


def break_tie(
    session: Session,
    *,
    round_id: int,
    first: str,
    second: str,
    reason: str,
    by: str,
    at: int | None = None,
) -> Judgment:
    """Record the organizer's tie-break: ``first`` ahead of ``second``, for ``reason``.

    It is kept with the round's judgments (the audit bundle carries it) and orders the two in
    the jury's order; the model's probabilities are left as they are. A later tie-break
    replaces an earlier one.
    """
    row = _round(session, round_id)
    pair = [first.strip(), second.strip()]
    _check_pair(row, pair)
    reason = reason.replace("\x00", "").strip()
    if not reason:
        raise StoreError("a tie-break needs a reason (--reason TEXT); it is published")
    if len(reason) > MAX_REASON:
        raise StoreError(f"the reason is longer than {MAX_REASON} characters")
    at = now() if at is None else at
    stored = JudgmentRow(
        round_id=round_id,
        juror=by[:40],
        kind="tiebreak",
        entries=orjson.dumps(pair).decode(),
        at=at,
        note=reason,
    )
    session.add(stored)
    session.flush()
    details = {"round": round_id, "judgment": stored.id, "first": pair[0], "second": pair[1],
               "reason": reason}  # fmt: skip
    record_event(
        session, campaign_id=row.campaign_id, action="jury.tiebreak", by=by, at=at, details=details
    )
    return Judgment.tiebreak(by[:40], pair[0], pair[1], reason, at=at)


def _check_pair(row: JuryRoundRow, pair: list[str]) -> None:
    shortlist = _creators(row)
    if len(pair) != 2 or pair[0] == pair[1]:
        raise StoreError("name two different entries of the round")
    for entry in pair:
        if entry not in shortlist:
            raise StoreError(f"'{entry[:40]}' is not on round {row.id}'s shortlist: check the id")


def close_round(session: Session, *, round_id: int, by: str, at: int | None = None) -> RoundInfo:
    """Close a round: no more answers; its judgments now decide the most creative prize."""
    row = _open_round(session, round_id)
    at = now() if at is None else at
    progress = round_progress(session, round_id=round_id)
    row.status, row.closed_by, row.closed_at = "closed", by, at
    details = {
        "round": round_id,
        "answers": progress.answers,
        "leader": progress.leader,
        "leader_p_best": round(progress.leader_p_best, 4),
        "done": progress.done,
    }
    record_event(
        session, campaign_id=row.campaign_id, action="jury.close", by=by, at=at, details=details
    )
    return _info(session, row)


def remove_juror_votes(
    session: Session, *, round_id: int, juror: str, by: str, reason: str, at: int | None = None
) -> int:
    """Drop every answer of a juror from the round (kept, marked); return how many counted."""
    row = _round(session, round_id)
    member = _juror_row(session, round_id, juror)
    if member is None:
        raise StoreError(f"'{juror}' is not a juror of round {round_id}")
    if member.removed_at is not None:
        raise StoreError(f"the votes of '{juror}' were already removed from round {round_id}")
    reason = reason.replace("\x00", "").strip()
    if not reason:
        raise StoreError("removing a juror's votes needs a reason (--reason TEXT); it is logged")
    counted = sum(1 for j in stored_judgments(session, round_id) if j.judge == juror and j.counts)
    at = now() if at is None else at
    member.removed_by, member.removed_at = by, at
    details = {"round": round_id, "juror": juror, "reason": reason, "judgments": counted}
    record_event(
        session,
        campaign_id=row.campaign_id,
        action="jury.remove_votes",
        by=by,
        at=at,
        details=details,
    )
    return counted


# --- Helpers -------------------------------------------------------------------------------------


def _round(session: Session, round_id: int) -> JuryRoundRow:
    row = session.get(JuryRoundRow, round_id)
    if row is None:
        raise NotFound(f"no jury round {round_id}")
    return row


def _open_round(session: Session, round_id: int) -> JuryRoundRow:
    row = _round(session, round_id)
    if row.status != "open":
        raise StoreError(f"jury round {round_id} is closed")
    return row


def _juror_row(session: Session, round_id: int, juror: str) -> JurorRow | None:
    return session.scalar(
        select(JurorRow).where(JurorRow.round_id == round_id, JurorRow.username == juror)
    )


def _juror(session: Session, row: JuryRoundRow, juror: str) -> JurorRow:
    member = _juror_row(session, row.id, juror)
    if member is None or member.removed_at is not None:
        raise NotAllowed(f"'{juror}' is not a juror of round {row.id}")
    return member


def _creators(row: JuryRoundRow) -> dict[str, str]:
    creators: dict[str, str] = orjson.loads(row.shortlist)
    return creators


def _question(session: Session, row: JuryRoundRow, member: JurorRow) -> jury.Question | None:
    creators = _creators(row)
    avoid = jury.avoided_entries(
        member.username,
        creator_of=creators,
        conflicts={member.username: orjson.loads(member.conflicts)},
    )
    # An undone skip no longer keeps those entries away.
    judgments = [
        j for j in stored_judgments(session, row.id) if not (j.kind == "skip" and j.undone)
    ]
    return jury.next_question(
        shortlist=list(creators),
        judgments=judgments,
        juror=member.username,
        size=row.size,
        avoid=avoid,
        focus=_focus(row),
    )


def _focus(row: JuryRoundRow) -> jury.Focus | None:
    if not row.focus:
        return None
    data = orjson.loads(row.focus)
    return jury.Focus((data["entries"][0], data["entries"][1]), data["mode"], data["at"])


def _info(session: Session, row: JuryRoundRow) -> RoundInfo:
    query = select(JurorRow).where(JurorRow.round_id == row.id).order_by(JurorRow.username)
    jurors = tuple(
        JurorInfo(
            j.username,
            tuple(orjson.loads(j.conflicts)),
            j.invited_by,
            j.invited_at,
            j.removed_at is not None,
        )
        for j in session.scalars(query)
    )
    creators = _creators(row)
    return RoundInfo(
        id=row.id,
        campaign_id=row.campaign_id,
        name=row.name,
        mode=row.mode,
        size=row.size,
        threshold=row.threshold,
        rule=orjson.loads(row.rule),
        shortlist=tuple(creators),
        creators=creators,
        status=row.status,
        created_by=row.created_by,
        created_at=row.created_at,
        closed_by=row.closed_by,
        closed_at=row.closed_at,
        jurors=jurors,
        focus=_focus(row),
    )
