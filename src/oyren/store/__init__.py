"""The store: a campaign's whole workflow on top of the database.

Register a campaign's rules, import observations, moderate, record removals, read the
standings, award the prizes and freeze them, write the audit bundle. Every function takes a
session and keyword arguments and works inside the caller's transaction (see
:func:`oyren.db.transaction`), and every change appends to the audit log (:mod:`oyren.audit`).
Results always come from :func:`oyren.engine.evaluate_observations`, exactly as ``oyren run``
computes them from files.
"""

from oyren.audit import AuditEntry, AuditPage, audit_page
from oyren.store.awards import (
    Standings,
    award,
    entries_for_username,
    export_bundle,
    export_standings,
    standings,
)
from oyren.store.campaigns import (
    CampaignInfo,
    Registration,
    get_campaign,
    list_campaigns,
    register_campaign,
)
from oyren.store.ingest import IngestSummary, ingest_observations
from oyren.store.moderation import QueueItem, import_decisions, moderate, moderation_queue
from oyren.store.removals import REMOVAL_MISSES, confirm_removals, import_removals, remove_video
from oyren.store.rows import AwardRecord, current_award

__all__ = [
    "REMOVAL_MISSES",
    "AuditEntry",
    "AuditPage",
    "AwardRecord",
    "CampaignInfo",
    "IngestSummary",
    "QueueItem",
    "Registration",
    "Standings",
    "audit_page",
    "award",
    "confirm_removals",
    "current_award",
    "entries_for_username",
    "export_bundle",
    "export_standings",
    "get_campaign",
    "import_decisions",
    "import_removals",
    "ingest_observations",
    "list_campaigns",
    "moderate",
    "moderation_queue",
    "register_campaign",
    "remove_video",
    "standings",
]
