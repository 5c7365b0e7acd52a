"""The store: a campaign's whole workflow on top of the database.

Register a campaign's rules, import observations, moderate, record removals, run jury rounds,
read the standings, award the prizes and freeze them, write the audit bundle. Every function
takes a session and keyword arguments and works inside the caller's transaction (see
:func:`oyren.store.db.transaction`), and every change appends to the audit log
(:mod:`oyren.store.audit`). Results always come from :func:`oyren.batch.evaluate.decide`, exactly
as ``oyren run`` computes them from files.

The store is the database: the engine and sessions (:mod:`~oyren.store.db`), the tables
(:mod:`~oyren.store.models`), their Alembic migrations, and every SQL query the product makes,
page data included (:mod:`~oyren.store.reads`). It is the only package that imports SQLAlchemy.
May import the batch layer and everything below it; never collection, pages or the shells.
"""

from oyren.store.audit import AuditEntry, AuditPage, audit_page
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
from oyren.store.decided import rebuild, refresh_flags
from oyren.store.ingest import IngestSummary, ingest_observations
from oyren.store.jury import (
    JurorInfo,
    JuryCertainty,
    RoundInfo,
    break_tie,
    build_shortlist,
    close_round,
    create_round,
    focus_round,
    get_round,
    invite_juror,
    juror_rounds,
    jury_certainty,
    jury_order,
    list_rounds,
    next_question,
    record_judgment,
    remove_juror_votes,
    round_judgments,
    round_progress,
    skip,
    undo_last,
)
from oyren.store.moderation import (
    QueueChoice,
    QueueItem,
    current_queue,
    import_decisions,
    moderate,
    moderation_queue,
    waiting,
    waiting_in,
)
from oyren.store.ratelimits import spend_token
from oyren.store.removals import REMOVAL_MISSES, confirm_removals, import_removals, remove_video
from oyren.store.rows import AwardRecord, current_award
from oyren.store.signins import account_wait, record_failure, record_success

__all__ = [
    "REMOVAL_MISSES",
    "AuditEntry",
    "AuditPage",
    "AwardRecord",
    "CampaignInfo",
    "IngestSummary",
    "JurorInfo",
    "JuryCertainty",
    "QueueChoice",
    "QueueItem",
    "Registration",
    "RoundInfo",
    "Standings",
    "account_wait",
    "audit_page",
    "award",
    "break_tie",
    "build_shortlist",
    "close_round",
    "confirm_removals",
    "create_round",
    "current_award",
    "current_queue",
    "entries_for_username",
    "export_bundle",
    "export_standings",
    "focus_round",
    "get_campaign",
    "get_round",
    "import_decisions",
    "import_removals",
    "ingest_observations",
    "invite_juror",
    "juror_rounds",
    "jury_certainty",
    "jury_order",
    "list_campaigns",
    "list_rounds",
    "moderate",
    "moderation_queue",
    "next_question",
    "rebuild",
    "record_failure",
    "record_judgment",
    "record_success",
    "refresh_flags",
    "register_campaign",
    "remove_juror_votes",
    "remove_video",
    "round_judgments",
    "round_progress",
    "skip",
    "spend_token",
    "standings",
    "undo_last",
    "waiting",
    "waiting_in",
]
