"""Database tables: what the store keeps, as SQLAlchemy models.

The schema is owned by the Alembic migrations in ``oyren/migrations``; these models must match
them (a test compares the two). Times are Unix seconds, as everywhere else in Öyrən. Rows are
never updated in place except a campaign's current rules and collection's working state (crawl
checkpoints, the quota ledger): observations, decisions, removals,
awards and the audit log only grow, so any past result can be recomputed.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = [
    "AuditRow",
    "AwardRow",
    "Base",
    "CampaignRow",
    "CollectorLeaseRow",
    "CrawlCheckpointRow",
    "CrawlMissRow",
    "CreatorEntryRow",
    "CreatorLoginRow",
    "CreatorParticipationRow",
    "CreatorRow",
    "CreatorTokenRow",
    "CreatorWithdrawalRow",
    "DecidedCreatorRow",
    "DecidedFlagsRow",
    "DecidedStateRow",
    "DecidedTotalsRow",
    "DecidedVideoRow",
    "DecisionRow",
    "JudgmentRow",
    "JurorRow",
    "JuryRoundRow",
    "ObservationRow",
    "QuotaRow",
    "RemovalRow",
    "SigningKeyRow",
    "ThumbnailRow",
    "VideoRow",
]

# Constraint names that are the same on every backend, so migrations can refer to them.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Observations may run to billions of rows over many contests; SQLite only auto-increments a
# column declared INTEGER, which is 64-bit there anyway.
BIG_ID = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    """Base of every table."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class CampaignRow(Base):
    """A contest: its rules file as last registered."""

    __tablename__ = "campaigns"

    id: Mapped[str] = mapped_column(String(63), primary_key=True)
    rules_digest: Mapped[str] = mapped_column(String(64))
    source_text: Mapped[str] = mapped_column(Text)
    registered_at: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[int] = mapped_column(BigInteger)


class VideoRow(Base):
    """A video seen in a campaign's observations."""

    __tablename__ = "videos"
    __table_args__ = (UniqueConstraint("campaign_id", "video_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[str] = mapped_column(ForeignKey("campaigns.id"))
    video_id: Mapped[str] = mapped_column(String(64))
    first_ingested_at: Mapped[int] = mapped_column(BigInteger)


class ObservationRow(Base):
    """One observation, every field kept, so the engine sees exactly what was read."""

    __tablename__ = "observations"
    # An exact duplicate (same video, instant and content) is stored once.
    __table_args__ = (UniqueConstraint("video_pk", "collected_at", "content_hash"),)

    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True)
    video_pk: Mapped[int] = mapped_column(ForeignKey("videos.id"))
    collected_at: Mapped[int] = mapped_column(BigInteger)
    view_count: Mapped[int] = mapped_column(BigInteger)
    username: Mapped[str] = mapped_column(Text)
    create_time: Mapped[int] = mapped_column(BigInteger)
    region_code: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text)
    hashtags: Mapped[str] = mapped_column(Text)  # a JSON list of strings
    duration_s: Mapped[int | None] = mapped_column(BigInteger)
    like_count: Mapped[int | None] = mapped_column(BigInteger)
    comment_count: Mapped[int | None] = mapped_column(BigInteger)
    share_count: Mapped[int | None] = mapped_column(BigInteger)
    music_id: Mapped[str | None] = mapped_column(Text)
    voice_to_text: Mapped[str | None] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(32))
    # research_api, display_api, import, oembed; "unknown" for rows stored before creators0001.
    source: Mapped[str] = mapped_column(String(16), server_default="unknown")


class DecisionRow(Base):
    """A moderator's decision; the latest per video is in force."""

    __tablename__ = "decisions"
    __table_args__ = (Index(None, "campaign_id", "video_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[str] = mapped_column(ForeignKey("campaigns.id"))
    video_id: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(Text)
    at: Mapped[int] = mapped_column(BigInteger)


class AwardRow(Base):
    """Prizes awarded: the frozen results and the exact inputs they were computed from."""

    __tablename__ = "awards"
    __table_args__ = (UniqueConstraint("campaign_id", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[str] = mapped_column(ForeignKey("campaigns.id"))
    number: Mapped[int] = mapped_column(Integer)  # 1, then 2 for the first supersession, …
    awarded_at: Mapped[int] = mapped_column(BigInteger)
    actor: Mapped[str] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)
    rules_digest: Mapped[str] = mapped_column(String(64))
    campaign_source: Mapped[str] = mapped_column(Text)
    # The inputs: every row with an id up to these (ids only grow within a campaign's tables).
    last_observation_id: Mapped[int] = mapped_column(BigInteger)
    last_decision_id: Mapped[int] = mapped_column(Integer)
    last_removal_id: Mapped[int | None] = mapped_column(Integer)  # None: awarded before removals
    results: Mapped[str] = mapped_column(Text)  # results.json, byte for byte
    results_digest: Mapped[str] = mapped_column(String(64))
    # The jury round the most creative prize came from, and its last judgment then (jury0001).
    jury_round_id: Mapped[int | None] = mapped_column(Integer)
    last_judgment_id: Mapped[int | None] = mapped_column(Integer)
    # The award's audit bundle: its digest, and the organizer's signature of it (trust0001).
    bundle_digest: Mapped[str | None] = mapped_column(String(64))
    signature: Mapped[str | None] = mapped_column(Text)  # signature.json


class RemovalRow(Base):
    """A confirmed removal: the video is gone (deleted or made private) and cannot win."""

    __tablename__ = "removals"
    __table_args__ = (UniqueConstraint("campaign_id", "video_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[str] = mapped_column(ForeignKey("campaigns.id"))
    video_id: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(Text)
    at: Mapped[int] = mapped_column(BigInteger)
    source: Mapped[str] = mapped_column(String(16))  # "moderator", "file" or "crawl"


class CrawlMissRow(Base):
    """A crawl that did not return a video it was expected to."""

    __tablename__ = "crawl_misses"
    __table_args__ = (UniqueConstraint("campaign_id", "video_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[str] = mapped_column(ForeignKey("campaigns.id"))
    video_id: Mapped[str] = mapped_column(String(64))
    at: Mapped[int] = mapped_column(BigInteger)


class CrawlCheckpointRow(Base):
    """Where the crawl of one date span stands (see :class:`oyren.collect.checkpoints.Checkpoint`).

    Updated in place as the crawl pages on: it is collection's working state, not an input to
    any result.
    """

    __tablename__ = "crawl_checkpoints"

    campaign_id: Mapped[str] = mapped_column(ForeignKey("campaigns.id"), primary_key=True)
    span: Mapped[str] = mapped_column(String(17), primary_key=True)  # 20240220-20240321
    cursor: Mapped[int] = mapped_column(BigInteger)
    search_id: Mapped[str | None] = mapped_column(Text)
    done: Mapped[bool] = mapped_column(Boolean)
    started_at: Mapped[int | None] = mapped_column(BigInteger)
    finished_at: Mapped[int | None] = mapped_column(BigInteger)


class CollectorLeaseRow(Base):
    """Which process collects a campaign now (``oyren crawl`` or ``oyren track``), until when.

    Collection's working state like the checkpoints: taken, renewed and released in place (see
    :mod:`oyren.store.leases`).
    """

    __tablename__ = "collector_leases"

    campaign_id: Mapped[str] = mapped_column(ForeignKey("campaigns.id"), primary_key=True)
    holder: Mapped[str] = mapped_column(String(64))  # a fresh random token per run
    command: Mapped[str] = mapped_column(String(16))  # crawl, track
    host: Mapped[str] = mapped_column(Text)
    pid: Mapped[int] = mapped_column(Integer)
    acquired_at: Mapped[int] = mapped_column(BigInteger)
    renewed_at: Mapped[int] = mapped_column(BigInteger)
    expires_at: Mapped[int] = mapped_column(BigInteger)


class SigningKeyRow(Base):
    """A public key the organizer signs awards with, as published (never a private key)."""

    __tablename__ = "signing_keys"

    key_id: Mapped[str] = mapped_column(String(16), primary_key=True)
    public_key: Mapped[str] = mapped_column(String(44))  # base64 of the 32 raw bytes
    published_at: Mapped[int] = mapped_column(BigInteger)
    published_by: Mapped[str] = mapped_column(Text)
    retired_at: Mapped[int | None] = mapped_column(BigInteger)  # no new awards after this


class QuotaRow(Base):
    """The Research API quota spent on one UTC day, by every campaign together."""

    __tablename__ = "quota_ledger"

    day: Mapped[str] = mapped_column(String(10), primary_key=True)  # YYYY-MM-DD
    requests: Mapped[int] = mapped_column(BigInteger)
    records: Mapped[int] = mapped_column(BigInteger)


class AuditRow(Base):
    """One entry of the append-only audit log (the database refuses updates and deletes)."""

    __tablename__ = "audit_log"
    __table_args__ = (Index(None, "campaign_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[str | None] = mapped_column(ForeignKey("campaigns.id"))
    at: Mapped[int] = mapped_column(BigInteger)
    actor: Mapped[str] = mapped_column(Text)
    action: Mapped[str] = mapped_column(String(40))
    details: Mapped[str] = mapped_column(Text)  # a JSON object


class JuryRoundRow(Base):
    """A jury round: its shortlist, how questions are asked, and whether it is still open."""

    __tablename__ = "jury_rounds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[str] = mapped_column(ForeignKey("campaigns.id"))
    name: Mapped[str] = mapped_column(Text)
    mode: Mapped[str] = mapped_column(String(16))  # "compare" or "rubric"
    size: Mapped[int] = mapped_column(Integer)  # 2: pairs; more: batches to order
    threshold: Mapped[float] = mapped_column(Float)
    criteria: Mapped[str | None] = mapped_column(Text)  # rubric mode: a JSON {name: weight}
    rule: Mapped[str] = mapped_column(Text)  # how the shortlist was built (a JSON object)
    shortlist: Mapped[str] = mapped_column(Text)  # a JSON list of video ids
    status: Mapped[str] = mapped_column(String(16))  # "open" or "closed"
    created_by: Mapped[str] = mapped_column(Text)
    created_at: Mapped[int] = mapped_column(BigInteger)
    closed_by: Mapped[str | None] = mapped_column(Text)
    closed_at: Mapped[int | None] = mapped_column(BigInteger)
    # Close race: a JSON {"entries": [a, b], "mode": "more" or "faceoff", "by", "at"}, or null.
    focus: Mapped[str | None] = mapped_column(Text)


class JurorRow(Base):
    """A juror invited to a round, with the creators or videos they must not judge."""

    __tablename__ = "jury_jurors"
    __table_args__ = (UniqueConstraint("round_id", "username"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("jury_rounds.id"))
    username: Mapped[str] = mapped_column(String(40))
    conflicts: Mapped[str] = mapped_column(Text)  # a JSON list of creator names or video ids
    invited_by: Mapped[str] = mapped_column(Text)
    invited_at: Mapped[int] = mapped_column(BigInteger)
    removed_by: Mapped[str | None] = mapped_column(Text)  # votes removed from the round
    removed_at: Mapped[int | None] = mapped_column(BigInteger)


class JudgmentRow(Base):
    """One answer of a juror; undoing it marks it, it is never deleted."""

    __tablename__ = "jury_judgments"
    __table_args__ = (Index(None, "round_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("jury_rounds.id"))
    juror: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(16))  # pair, tie, ranking, skip, tiebreak, score
    entries: Mapped[str] = mapped_column(Text)  # a JSON list of video ids, best first
    scores: Mapped[str | None] = mapped_column(Text)  # rubric: a JSON {criterion: score}
    at: Mapped[int] = mapped_column(BigInteger)
    undone_at: Mapped[int | None] = mapped_column(BigInteger)
    note: Mapped[str | None] = mapped_column(Text)  # a tie-break's reason


class CreatorRow(Base):
    """A creator who signed in with TikTok; name fields are blanked when they erase their data."""

    __tablename__ = "creators"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    open_id: Mapped[str] = mapped_column(String(200), unique=True)
    username: Mapped[str] = mapped_column(Text)
    display_name: Mapped[str] = mapped_column(Text)
    created_at: Mapped[int] = mapped_column(BigInteger)
    erased_at: Mapped[int | None] = mapped_column(BigInteger)


class CreatorTokenRow(Base):
    """A creator's TikTok tokens, encrypted; updated in place at each refresh, erased on request."""

    __tablename__ = "creator_tokens"

    creator_id: Mapped[int] = mapped_column(ForeignKey("creators.id"), primary_key=True)
    access_token: Mapped[str] = mapped_column(Text)  # Fernet token
    refresh_token: Mapped[str] = mapped_column(Text)  # Fernet token
    expires_at: Mapped[int] = mapped_column(BigInteger)
    refresh_expires_at: Mapped[int] = mapped_column(BigInteger)
    scope: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16))  # "active" or "lost"
    problem: Mapped[str | None] = mapped_column(String(32))  # revoked, expired, scope_missing
    problem_at: Mapped[int | None] = mapped_column(BigInteger)


class CreatorParticipationRow(Base):
    """A creator taking part in a campaign: rules accepted, age statement, guardian's consent."""

    __tablename__ = "creator_participations"
    __table_args__ = (UniqueConstraint("campaign_id", "creator_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[str] = mapped_column(ForeignKey("campaigns.id"))
    creator_id: Mapped[int] = mapped_column(ForeignKey("creators.id"))
    accepted_rules_at: Mapped[int] = mapped_column(BigInteger)
    minor: Mapped[bool] = mapped_column(Boolean)
    guardian_name: Mapped[str | None] = mapped_column(Text)
    guardian_contact: Mapped[str | None] = mapped_column(Text)
    guardian_consent_at: Mapped[int | None] = mapped_column(BigInteger)
    region: Mapped[str | None] = mapped_column(String(8))


class CreatorEntryRow(Base):
    """A video registered as an entry: by its signed-in creator, or as a link checked by oEmbed."""

    __tablename__ = "creator_entries"
    __table_args__ = (UniqueConstraint("campaign_id", "video_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[str] = mapped_column(ForeignKey("campaigns.id"))
    creator_id: Mapped[int | None] = mapped_column(ForeignKey("creators.id"))
    video_id: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(16))  # display_api or oembed
    username: Mapped[str] = mapped_column(Text)
    caption: Mapped[str] = mapped_column(Text)
    hashtag: Mapped[str] = mapped_column(String(8))  # present, absent, cut
    tag_claimed: Mapped[bool] = mapped_column(Boolean)
    registered_at: Mapped[int] = mapped_column(BigInteger)
    problem: Mapped[str | None] = mapped_column(String(32))  # video_gone
    problem_at: Mapped[int | None] = mapped_column(BigInteger)


class CreatorWithdrawalRow(Base):
    """An entry its creator withdrew (no personal data: the video id and a reason code)."""

    __tablename__ = "creator_withdrawals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[str] = mapped_column(ForeignKey("campaigns.id"))
    video_id: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(32))  # withdrawn_by_creator, data_erased
    at: Mapped[int] = mapped_column(BigInteger)


class CreatorLoginRow(Base):
    """A sign-in on its way through TikTok: the state's hash, the PKCE verifier, the consent."""

    __tablename__ = "creator_logins"

    state_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    campaign_id: Mapped[str] = mapped_column(ForeignKey("campaigns.id"))
    browser_hash: Mapped[str] = mapped_column(String(64))
    verifier: Mapped[str] = mapped_column(Text)  # Fernet token
    consent: Mapped[str] = mapped_column(Text)  # a JSON object
    created_at: Mapped[int] = mapped_column(BigInteger)
    used_at: Mapped[int | None] = mapped_column(BigInteger)


class DecidedVideoRow(Base):
    """A video's verdict as the engine gives it, kept per generation of a campaign's rows.

    Derived, not an input: :mod:`oyren.store.decided` rewrites it in the transaction of every
    write that touches the video, and a change of rules rebuilds a new generation beside it.
    ``rank_key`` is the engine's rank order (most views, earlier post, smaller id) as one text
    of digits and hex letters, so ``ORDER BY rank_key`` over the eligible rows is the ranking.
    """

    __tablename__ = "decided_videos"
    __table_args__ = (
        Index("ix_decided_videos_rank", "campaign_id", "generation", "eligible", "rank_key"),
        Index(
            "ix_decided_videos_creator",
            "campaign_id",
            "generation",
            "username_folded",
            "eligible",
            "rank_key",
        ),
    )

    campaign_id: Mapped[str] = mapped_column(ForeignKey("campaigns.id"), primary_key=True)
    generation: Mapped[int] = mapped_column(Integer, primary_key=True)
    video_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    eligible: Mapped[bool] = mapped_column(Boolean)
    reasons: Mapped[str] = mapped_column(Text)  # reason codes, space-separated
    views: Mapped[int] = mapped_column(BigInteger)  # at the deadline (so far, before it)
    basis: Mapped[str] = mapped_column(String(24))
    gap_s: Mapped[int | None] = mapped_column(BigInteger)
    observations: Mapped[int] = mapped_column(Integer)
    rank_key: Mapped[str] = mapped_column(String(200))
    # The metadata at the deadline that pages show.
    username: Mapped[str] = mapped_column(Text)
    username_folded: Mapped[str] = mapped_column(Text)
    create_time: Mapped[int] = mapped_column(BigInteger)
    description: Mapped[str] = mapped_column(Text)
    duration_s: Mapped[int | None] = mapped_column(BigInteger)
    region_code: Mapped[str | None] = mapped_column(Text)
    topic: Mapped[str | None] = mapped_column(String(64))
    topic_confidence: Mapped[float | None] = mapped_column(Float)
    text_digest: Mapped[str] = mapped_column(String(32))  # the text the topic was computed on


class DecidedCreatorRow(Base):
    """A creator's total over their eligible rows of one generation (the discover ranking)."""

    __tablename__ = "decided_creators"
    __table_args__ = (Index("ix_decided_creators_rank", "campaign_id", "generation", "rank_key"),)

    campaign_id: Mapped[str] = mapped_column(ForeignKey("campaigns.id"), primary_key=True)
    generation: Mapped[int] = mapped_column(Integer, primary_key=True)
    username_folded: Mapped[str] = mapped_column(Text, primary_key=True)
    username: Mapped[str] = mapped_column(Text)  # as on their first eligible post
    views: Mapped[int] = mapped_column(BigInteger)
    videos: Mapped[int] = mapped_column(Integer)
    first_post: Mapped[int] = mapped_column(BigInteger)
    first_post_id: Mapped[str] = mapped_column(String(64))
    rank_key: Mapped[str] = mapped_column(String(200))


class DecidedStateRow(Base):
    """Where a campaign's decided rows stand: the generation pages read and the one being built.

    ``generation`` is complete and was built with ``rules_source``; while the rules differ,
    ``building`` is the generation a rebuild is filling (``done`` of ``total`` videos). The
    integrity flags and the charts' daily series are campaign-wide: computed after writes settle,
    at ``flags_computed_at``.
    """

    __tablename__ = "decided_state"

    campaign_id: Mapped[str] = mapped_column(ForeignKey("campaigns.id"), primary_key=True)
    generation: Mapped[int] = mapped_column(Integer)  # 0: none complete yet
    rules_digest: Mapped[str | None] = mapped_column(String(64))
    rules_source: Mapped[str | None] = mapped_column(Text)
    building: Mapped[int | None] = mapped_column(Integer)
    building_digest: Mapped[str | None] = mapped_column(String(64))
    done: Mapped[int] = mapped_column(Integer)
    total: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[int] = mapped_column(BigInteger)
    flags_computed_at: Mapped[int | None] = mapped_column(BigInteger)
    views_by_day: Mapped[str | None] = mapped_column(Text)  # JSON [[day end, views], …]
    last_observation_at: Mapped[int | None] = mapped_column(BigInteger)  # the newest collected_at


class DecidedFlagsRow(Base):
    """The integrity flags raised on a video when they were last computed (JSON, as results)."""

    __tablename__ = "decided_flags"

    campaign_id: Mapped[str] = mapped_column(ForeignKey("campaigns.id"), primary_key=True)
    video_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    flags: Mapped[str] = mapped_column(Text)


class DecidedTotalsRow(Base):
    """A generation's numbers, kept with its rows: videos, eligible entries, creators, views."""

    __tablename__ = "decided_totals"

    campaign_id: Mapped[str] = mapped_column(ForeignKey("campaigns.id"), primary_key=True)
    generation: Mapped[int] = mapped_column(Integer, primary_key=True)
    videos: Mapped[int] = mapped_column(Integer)
    entries: Mapped[int] = mapped_column(Integer)
    creators: Mapped[int] = mapped_column(Integer)
    views: Mapped[int] = mapped_column(BigInteger)  # of the eligible entries


class ThumbnailRow(Base):
    """A video's thumbnail as Öyrən caches it: where the image came from, until when that address
    works, and the checked image itself (a cache beside the contest's data: replaced in place)."""

    __tablename__ = "thumbnails"
    __table_args__ = (PrimaryKeyConstraint("campaign_id", "video_id"),)

    campaign_id: Mapped[str] = mapped_column(ForeignKey("campaigns.id"))
    video_id: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(16))  # oembed or display_api
    url: Mapped[str | None] = mapped_column(Text)  # the image's address as the platform gave it
    url_expires_at: Mapped[int | None] = mapped_column(BigInteger)
    content_type: Mapped[str | None] = mapped_column(String(16))  # found in the bytes
    image: Mapped[bytes | None] = mapped_column(LargeBinary)
    digest: Mapped[str | None] = mapped_column(String(64))  # sha256 of the image, the ETag
    fetched_at: Mapped[int | None] = mapped_column(BigInteger)
    checked_at: Mapped[int] = mapped_column(BigInteger)
    failures: Mapped[int] = mapped_column(Integer, server_default="0")
    problem: Mapped[str | None] = mapped_column(Text)  # why the last try failed
