"""Campaigns in the store: registering rules, updating them (flagged once the contest runs),
listing and reading them back."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from oyren.rules.campaign import Campaign, Text
from oyren.store import decided
from oyren.store.audit import now, record_event
from oyren.store.models import CampaignRow, VideoRow
from oyren.store.rows import AwardRecord, current_award, parse_stored, require_campaign

__all__ = ["CampaignInfo", "Registration", "get_campaign", "list_campaigns", "register_campaign"]


@dataclass(frozen=True, slots=True)
class Registration:
    """What registering a campaign file did: ``created``, ``updated`` or ``unchanged``."""

    campaign: Campaign
    status: str
    previous_digest: str | None = None
    after_start: bool = False  # the rules changed once the contest had begun
    awarded: bool = False  # … or even after prizes were awarded (the award stays frozen)


@dataclass(frozen=True, slots=True)
class CampaignInfo:
    """A campaign as listed: its name, rules version, how many videos, and its award."""

    id: str
    name: Text
    rules_digest: str
    rules_version: str
    registered_at: int
    updated_at: int
    videos: int
    award: AwardRecord | None


def get_campaign(session: Session, campaign_id: str) -> Campaign:
    """Return the rules of a stored campaign."""
    return parse_stored(require_campaign(session, campaign_id).source_text, campaign_id)


def register_campaign(
    session: Session, *, campaign: Campaign, by: str, at: int | None = None
) -> Registration:
    """Store a campaign's rules, or update them, flagging a change made after the start."""
    at = now() if at is None else at
    row = session.get(CampaignRow, campaign.id)
    if row is None:
        session.add(
            CampaignRow(
                id=campaign.id,
                rules_digest=campaign.digest,
                source_text=campaign.source_text,
                registered_at=at,
                updated_at=at,
            )
        )
        session.flush()
        decided.start(session, campaign)
        details = {"rules_digest": campaign.digest, "rules_version": campaign.rules_version}
        record_event(
            session,
            campaign_id=campaign.id,
            action="campaign.register",
            by=by,
            at=at,
            details=details,
        )
        return Registration(campaign, "created")
    if row.rules_digest == campaign.digest:
        return Registration(campaign, "unchanged", previous_digest=row.rules_digest)
    previous_digest = row.rules_digest
    previous = parse_stored(row.source_text, campaign.id)
    after_start = at >= previous.window_start_ts
    awarded = current_award(session, campaign_id=campaign.id) is not None
    changes: dict[str, object] = {
        "previous_digest": previous_digest,
        "rules_digest": campaign.digest,
        "previous_version": previous.rules_version,
        "rules_version": campaign.rules_version,
        "after_start": after_start,
        "after_award": awarded,
    }
    record_event(
        session, campaign_id=campaign.id, action="campaign.update", by=by, at=at, details=changes
    )
    row.rules_digest, row.source_text, row.updated_at = campaign.digest, campaign.source_text, at
    # The decided rows follow the new rules: at once for a small campaign, else by a rebuild.
    decided.rules_changed(session, campaign)
    return Registration(campaign, "updated", previous_digest, after_start, awarded)


def list_campaigns(session: Session) -> list[CampaignInfo]:
    """List the stored campaigns, by id."""
    per_campaign = select(VideoRow.campaign_id, func.count()).group_by(VideoRow.campaign_id)
    counts: dict[str, int] = {c: n for c, n in session.execute(per_campaign)}
    out = []
    for row in session.scalars(select(CampaignRow).order_by(CampaignRow.id)):
        campaign = parse_stored(row.source_text, row.id)
        out.append(
            CampaignInfo(
                id=row.id,
                name=campaign.name,
                rules_digest=row.rules_digest,
                rules_version=campaign.rules_version,
                registered_at=row.registered_at,
                updated_at=row.updated_at,
                videos=counts.get(row.id, 0),
                award=current_award(session, campaign_id=row.id),
            )
        )
    return out
