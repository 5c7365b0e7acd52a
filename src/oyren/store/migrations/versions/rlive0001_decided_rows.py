"""Decided rows: each video's verdict kept by the store, creators' totals, and their state.

Revision ID: live0001
Revises: web0002
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "live0001"
down_revision = "web0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add decided_videos, decided_creators, decided_totals, decided_state and decided_flags.

    Campaigns stored before have no state row: their rows are built by ``oyren rebuild``, and
    pages say they are being computed until then.
    """
    op.create_table(
        "decided_videos",
        sa.Column("campaign_id", sa.String(63), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("video_id", sa.String(64), nullable=False),
        sa.Column("eligible", sa.Boolean(), nullable=False),
        sa.Column("reasons", sa.Text(), nullable=False),
        sa.Column("views", sa.BigInteger(), nullable=False),
        sa.Column("basis", sa.String(24), nullable=False),
        sa.Column("gap_s", sa.BigInteger(), nullable=True),
        sa.Column("observations", sa.Integer(), nullable=False),
        sa.Column("rank_key", sa.String(200), nullable=False),
        sa.Column("username", sa.Text(), nullable=False),
        sa.Column("username_folded", sa.Text(), nullable=False),
        sa.Column("create_time", sa.BigInteger(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("duration_s", sa.BigInteger(), nullable=True),
        sa.Column("region_code", sa.Text(), nullable=True),
        sa.Column("topic", sa.String(64), nullable=True),
        sa.Column("topic_confidence", sa.Float(), nullable=True),
        sa.Column("text_digest", sa.String(32), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaigns.id"], name="fk_decided_videos_campaign_id_campaigns"
        ),
        sa.PrimaryKeyConstraint("campaign_id", "generation", "video_id", name="pk_decided_videos"),
    )
    op.create_index(
        "ix_decided_videos_rank",
        "decided_videos",
        ["campaign_id", "generation", "eligible", "rank_key"],
    )
    op.create_index(
        "ix_decided_videos_creator",
        "decided_videos",
        ["campaign_id", "generation", "username_folded", "eligible", "rank_key"],
    )
    op.create_table(
        "decided_creators",
        sa.Column("campaign_id", sa.String(63), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("username_folded", sa.Text(), nullable=False),
        sa.Column("username", sa.Text(), nullable=False),
        sa.Column("views", sa.BigInteger(), nullable=False),
        sa.Column("videos", sa.Integer(), nullable=False),
        sa.Column("first_post", sa.BigInteger(), nullable=False),
        sa.Column("first_post_id", sa.String(64), nullable=False),
        sa.Column("rank_key", sa.String(200), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaigns.id"], name="fk_decided_creators_campaign_id_campaigns"
        ),
        sa.PrimaryKeyConstraint(
            "campaign_id", "generation", "username_folded", name="pk_decided_creators"
        ),
    )
    op.create_index(
        "ix_decided_creators_rank", "decided_creators", ["campaign_id", "generation", "rank_key"]
    )
    op.create_table(
        "decided_state",
        sa.Column("campaign_id", sa.String(63), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("rules_digest", sa.String(64), nullable=True),
        sa.Column("rules_source", sa.Text(), nullable=True),
        sa.Column("building", sa.Integer(), nullable=True),
        sa.Column("building_digest", sa.String(64), nullable=True),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.Column("flags_computed_at", sa.BigInteger(), nullable=True),
        sa.Column("views_by_day", sa.Text(), nullable=True),
        sa.Column("last_observation_at", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaigns.id"], name="fk_decided_state_campaign_id_campaigns"
        ),
        sa.PrimaryKeyConstraint("campaign_id", name="pk_decided_state"),
    )
    op.create_table(
        "decided_totals",
        sa.Column("campaign_id", sa.String(63), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("videos", sa.Integer(), nullable=False),
        sa.Column("entries", sa.Integer(), nullable=False),
        sa.Column("creators", sa.Integer(), nullable=False),
        sa.Column("views", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaigns.id"], name="fk_decided_totals_campaign_id_campaigns"
        ),
        sa.PrimaryKeyConstraint("campaign_id", "generation", name="pk_decided_totals"),
    )
    op.create_table(
        "decided_flags",
        sa.Column("campaign_id", sa.String(63), nullable=False),
        sa.Column("video_id", sa.String(64), nullable=False),
        sa.Column("flags", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaigns.id"], name="fk_decided_flags_campaign_id_campaigns"
        ),
        sa.PrimaryKeyConstraint("campaign_id", "video_id", name="pk_decided_flags"),
    )


def downgrade() -> None:
    """Drop them."""
    op.drop_table("decided_flags")
    op.drop_table("decided_totals")
    op.drop_table("decided_state")
    op.drop_index("ix_decided_creators_rank", table_name="decided_creators")
    op.drop_table("decided_creators")
    op.drop_index("ix_decided_videos_creator", table_name="decided_videos")
    op.drop_index("ix_decided_videos_rank", table_name="decided_videos")
    op.drop_table("decided_videos")
