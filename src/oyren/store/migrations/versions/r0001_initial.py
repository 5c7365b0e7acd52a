"""Initial schema: campaigns, videos, observations, moderation decisions and awards.

Revision ID: 0001
Revises:
Create Date: 2024-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """Create the first tables."""
    op.create_table(
        "campaigns",
        sa.Column("id", sa.String(63), nullable=False),
        sa.Column("rules_digest", sa.String(64), nullable=False),
        sa.Column("source_text", sa.Text(), nullable=False),
        sa.Column("registered_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_campaigns"),
    )
    op.create_table(
        "videos",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.String(63), nullable=False),
        sa.Column("video_id", sa.String(64), nullable=False),
        sa.Column("first_ingested_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaigns.id"], name="fk_videos_campaign_id_campaigns"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_videos"),
        sa.UniqueConstraint("campaign_id", "video_id", name="uq_videos_campaign_id_video_id"),
    )
    op.create_table(
        "observations",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("video_pk", sa.Integer(), nullable=False),
        sa.Column("collected_at", sa.BigInteger(), nullable=False),
        sa.Column("view_count", sa.BigInteger(), nullable=False),
        sa.Column("username", sa.Text(), nullable=False),
        sa.Column("create_time", sa.BigInteger(), nullable=False),
        sa.Column("region_code", sa.Text(), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("hashtags", sa.Text(), nullable=False),
        sa.Column("duration_s", sa.BigInteger(), nullable=True),
        sa.Column("like_count", sa.BigInteger(), nullable=True),
        sa.Column("comment_count", sa.BigInteger(), nullable=True),
        sa.Column("share_count", sa.BigInteger(), nullable=True),
        sa.Column("music_id", sa.Text(), nullable=True),
        sa.Column("voice_to_text", sa.Text(), nullable=True),
        sa.Column("content_hash", sa.String(32), nullable=False),
        sa.ForeignKeyConstraint(
            ["video_pk"], ["videos.id"], name="fk_observations_video_pk_videos"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_observations"),
        sa.UniqueConstraint(
            "video_pk",
            "collected_at",
            "content_hash",
            name="uq_observations_video_pk_collected_at_content_hash",
        ),
    )
    op.create_table(
        "decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.String(63), nullable=False),
        sa.Column("video_id", sa.String(64), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaigns.id"], name="fk_decisions_campaign_id_campaigns"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_decisions"),
    )
    op.create_index("ix_decisions_campaign_id_video_id", "decisions", ["campaign_id", "video_id"])
    op.create_table(
        "awards",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.String(63), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("awarded_at", sa.BigInteger(), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("rules_digest", sa.String(64), nullable=False),
        sa.Column("campaign_source", sa.Text(), nullable=False),
        sa.Column("last_observation_id", sa.BigInteger(), nullable=False),
        sa.Column("last_decision_id", sa.Integer(), nullable=False),
        sa.Column("results", sa.Text(), nullable=False),
        sa.Column("results_digest", sa.String(64), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaigns.id"], name="fk_awards_campaign_id_campaigns"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_awards"),
        sa.UniqueConstraint("campaign_id", "number", name="uq_awards_campaign_id_number"),
    )


def downgrade() -> None:
    """Drop every table."""
    for table in ("awards", "decisions", "observations", "videos", "campaigns"):
        op.drop_table(table)
