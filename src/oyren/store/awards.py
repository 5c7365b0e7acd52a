"""Standings and awards: the results now, freezing them as the award, and the audit bundle.

An award stores the results JSON byte for byte, the rules they were computed with, and the last
row of each input table, so the award's audit bundle holds exactly the inputs it rested on
even after more observations, decisions or removals arrive. Until superseded, the award is what
:func:`standings` reports.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from oyren.batch.bundle import BundleContents, bundle_manifest, write_bundle
from oyren.batch.evaluate import decide
from oyren.batch.exports import export_results
from oyren.batch.signing import Signer
from oyren.errors import StoreError
from oyren.inputs.judgments import Judgment, active, tiebreak
from oyren.rules.results import Entry, Results, results_from_dict, results_json
from oyren.rules.videos import collect_videos
from oyren.store.audit import now, record_event
from oyren.store.keys import require_signing_key
from oyren.store.models import AwardRow, JudgmentRow
from oyren.store.rows import (
    AwardRecord,
    Marks,
    award_record,
    current_award_row,
    current_marks,
    iso,
    jury_certainty,
    jury_round_row,
    live_results,
    parse_stored,
    require_campaign,
    stored_decisions,
    stored_judgments,
    stored_observations,
    stored_removals,
)

__all__ = [
    "Standings",
    "award",
    "entries_for_username",
    "export_bundle",
    "export_standings",
    "standings",
]


@dataclass(frozen=True, slots=True)
class Standings:
    """The results, and the award that froze them once prizes are awarded."""

    results: Results
    award: AwardRecord | None


def standings(session: Session, *, campaign_id: str) -> Standings:
    """Return the campaign's results: those frozen by the award in force, else computed now."""
    row = require_campaign(session, campaign_id)
    award_row = current_award_row(session, campaign_id)
    if award_row is not None:
        campaign = parse_stored(award_row.campaign_source, campaign_id)
        frozen = results_from_dict(orjson.loads(award_row.results), tz=campaign.tz)
        return Standings(frozen, award_record(award_row))
    return Standings(live_results(session, parse_stored(row.source_text, campaign_id)), None)


def export_standings(session: Session, *, campaign_id: str, fmt: str) -> bytes:
    """Return the standings as ``csv`` or ``json`` bytes (see :mod:`oyren.batch.exports`)."""
    return export_results(standings(session, campaign_id=campaign_id).results, fmt)


def entries_for_username(session: Session, *, campaign_id: str, username: str) -> list[Entry]:
    """Return a creator's entries in the standings (any case, with or without '@')."""
    wanted = username.strip().lstrip("@").casefold()
    results = standings(session, campaign_id=campaign_id).results
    return [e for e in results.entries if e.username.casefold() == wanted]


def award(
    session: Session,
    *,
    campaign_id: str,
    by: str,
    supersede: bool = False,
    reason: str = "",
    at: int | None = None,
    signer: Signer | None = None,
) -> Standings:
    """Freeze the results now as the award (replacing one needs ``supersede``); return them.

    The award's audit bundle is fixed now: its digest is stored (the digest the winners page
    tells verifiers to expect) and, with ``signer``, the organizer's signature of it.
    """
    row = require_campaign(session, campaign_id)
    campaign = parse_stored(row.source_text, campaign_id)
    at = now() if at is None else at
    if at <= campaign.cutoff_ts:
        raise StoreError(
            f"the contest is open until {campaign.cutoff.isoformat()}: "
            "prizes are awarded after the deadline"
        )
    previous = current_award_row(session, campaign_id)
    reason = reason.replace("\x00", "").strip()
    if previous is not None and not supersede:
        raise StoreError(
            f"prizes for '{campaign_id}' were awarded on {iso(previous.awarded_at)} by "
            f"{previous.actor} (award {previous.number}); to replace that award, supersede it "
            "and say why (--supersede --reason TEXT)"
        )
    if supersede and previous is None:
        raise StoreError(f"'{campaign_id}' has no award to supersede: award without --supersede")
    if supersede and not reason:
        raise StoreError("superseding an award needs a reason (--reason TEXT); it is logged")
    if session.get_bind().dialect.name == "postgresql":
        # No import may commit between reading the inputs and naming their last rows.
        session.execute(text("LOCK TABLE observations, decisions, removals IN SHARE MODE"))
    marks = current_marks(session, campaign_id)
    jury_round = jury_round_row(session, campaign_id)
    last_judgment = None
    if jury_round is not None:
        last_judgment = session.scalar(
            select(func.max(JudgmentRow.id)).where(JudgmentRow.round_id == jury_round.id)
        )
    results = live_results(session, campaign)
    payload = results_json(results)
    digest = hashlib.sha256(payload).hexdigest()
    number = 1 if previous is None else previous.number + 1
    new = AwardRow(
        campaign_id=campaign_id,
        number=number,
        awarded_at=at,
        actor=by,
        reason=reason or None,
        rules_digest=campaign.digest,
        campaign_source=campaign.source_text,
        last_observation_id=marks.observation,
        last_decision_id=marks.decision,
        last_removal_id=marks.removal,
        results=payload.decode(),
        results_digest=digest,
        jury_round_id=None if jury_round is None else jury_round.id,
        last_judgment_id=last_judgment,
    )
    session.add(new)
    w = results.winners
    details = {
        "number": number,
        "supersedes": None if previous is None else previous.number,
        "reason": reason or None,
        "rules_digest": campaign.digest,
        "results_digest": digest,
        "best_video": w.best_video.video_id if w.best_video else None,
        "discover": w.discover.username if w.discover else None,
        "most_creative": w.most_creative.video_id if w.most_creative else None,
        "jury_round": None if jury_round is None else jury_round.id,
    }
    session.flush()
    contents, created_at = _bundle_contents(session, campaign_id, new)
    new.bundle_digest = bundle_manifest(contents, created_at=created_at)["digest"]
    details["bundle_digest"] = new.bundle_digest
    if signer is not None:
        key = require_signing_key(session, key=signer.public, by=by, at=at)
        new.signature = orjson.dumps(signer.sign(new.bundle_digest)).decode()
        details["signed_by"] = key.key_id
    action = "award.supersede" if supersede else "award"
    record_event(session, campaign_id=campaign_id, action=action, by=by, at=at, details=details)
    session.flush()
    return Standings(results, award_record(new))


def export_bundle(
    session: Session, *, campaign_id: str, out: str | Path, created_at: int | None = None
) -> dict[str, Any]:
    """Write the audit bundle of the award in force (before one, of the standings now), with the
    organizer's signature when the award was signed."""
    award_row = current_award_row(session, campaign_id)
    contents, at = _bundle_contents(session, campaign_id, award_row)
    signature = None
    if award_row is not None and award_row.signature is not None:
        signature = orjson.loads(award_row.signature)
    return write_bundle(contents, out, created_at=created_at or at, signature=signature)


def _bundle_contents(
    session: Session, campaign_id: str, award_row: AwardRow | None
) -> tuple[BundleContents, int | None]:
    """What the bundle of ``award_row`` (None: of the standings now) holds, and its time."""
    row = require_campaign(session, campaign_id)
    created_at = None
    award_info = None
    if award_row is None:
        campaign = parse_stored(row.source_text, campaign_id)
        marks = current_marks(session, campaign_id)
        jury_round = jury_round_row(session, campaign_id)
        judgments = [] if jury_round is None else stored_judgments(session, jury_round.id)
    else:
        campaign = parse_stored(award_row.campaign_source, campaign_id)
        # An award made before removals were stored (revision 0001) counted none.
        marks = Marks(
            award_row.last_observation_id,
            award_row.last_decision_id,
            award_row.last_removal_id or 0,
        )
        award_info = {
            "number": award_row.number,
            "awarded_at": iso(award_row.awarded_at),
            "by": award_row.actor,
            "reason": award_row.reason,
            "results_digest": award_row.results_digest,
        }
        certainty = jury_certainty(session, campaign_id=campaign_id, award=True)
        if certainty is not None:
            # How sure the jury was when the prize was frozen (below its threshold: it says so).
            award_info["jury"] = certainty.summary()
        judgments = (
            []
            if award_row.jury_round_id is None
            else stored_judgments(
                session,
                award_row.jury_round_id,
                upto=award_row.last_judgment_id or 0,
                as_of=award_row.awarded_at,
            )
        )
    observations = list(stored_observations(session, campaign_id, marks.observation))
    decisions = stored_decisions(session, campaign_id, marks.decision)
    removals = stored_removals(session, campaign_id, marks.removal)
    if award_row is None:
        results = results_json(
            decide(
                campaign,
                collect_videos(observations, cutoff=campaign.cutoff_ts),
                decisions=decisions,
                removals=removals,
                judgments=judgments,
            )
        )
    else:
        results = award_row.results.encode()
        # The award's bundle is stamped with the award's time, so every copy of it (the CLI's,
        # the winners page's download) is byte-identical and has the digest the public sees.
        created_at = award_row.awarded_at
    contents = BundleContents(
        campaign=campaign,
        observations=observations,
        decisions=decisions,
        removals=removals,
        results=results,
        award=award_info,
        judgments=judgments_jsonl(judgments) if active(judgments) else None,
    )
    return contents, created_at


def judgments_jsonl(judgments: list[Judgment]) -> bytes:
    """The active judgments as the JSONL ``oyren run --judgments`` reads, one a line."""
    lines = []
    decided = tiebreak(judgments)  # the organizer's tie-break in force travels with them
    for j in [*active(judgments), *([decided] if decided is not None else [])]:
        record: dict[str, Any] = {"judge": j.judge}
        if j.kind == "pair":
            record |= {"winner": j.entries[0], "loser": j.entries[1]}
        else:
            record[j.kind] = list(j.entries)
        if j.kind == "tiebreak":
            record["reason"] = j.note
        if j.at is not None:
            record["at"] = j.at
        lines.append(orjson.dumps(record) + b"\n")
    return b"".join(lines)
