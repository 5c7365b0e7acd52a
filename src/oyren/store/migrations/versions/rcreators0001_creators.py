"""Creators who take part themselves: their tokens (encrypted), consents, entries, withdrawals,
pending sign-ins, and the source of every observation.

Revision ID: creators0001
Revises: jury0001
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "creators0001"
down_revision = "jury0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the creators' tables and ``observations.source``."""
    with op.batch_alter_table("observations") as batch:
        # Rows stored before this revision do not say where they came from.
        batch.add_column(
            sa.Column("source", sa.String(16), nullable=False, server_default="unknown")
        )
    op.create_table(
        "creators",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("open_id", sa.String(200), nullable=False),
        sa.Column("username", sa.Text(), nullable=False),
        sa.Column("display_name", sa.Text(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("erased_at", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_creators"),
        sa.UniqueConstraint("open_id", name="uq_creators_open_id"),
    )
    op.create_table(
        "creator_tokens",
        sa.Column("creator_id", sa.Integer(), nullable=False),
        sa.Column("access_token", sa.Text(), nullable=False),
        sa.Column("refresh_token", sa.Text(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.Column("refresh_expires_at", sa.BigInteger(), nullable=False),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("problem", sa.String(32), nullable=True),
        sa.Column("problem_at", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["creator_id"], ["creators.id"], name="fk_creator_tokens_creator_id_creators"
        ),
        sa.PrimaryKeyConstraint("creator_id", name="pk_creator_tokens"),
    )
    op.create_table(
        "creator_participations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.String(63), nullable=False),
        sa.Column("creator_id", sa.Integer(), nullable=False),
        sa.Column("accepted_rules_at", sa.BigInteger(), nullable=False),
        sa.Column("minor", sa.Boolean(), nullable=False),
        sa.Column("guardian_name", sa.Text(), nullable=True),
        sa.Column("guardian_contact", sa.Text(), nullable=True),
        sa.Column("guardian_consent_at", sa.BigInteger(), nullable=True),
        sa.Column("region", sa.String(8), nullable=True),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name="fk_creator_participations_campaign_id_campaigns",
        ),
        sa.ForeignKeyConstraint(
            ["creator_id"], ["creators.id"], name="fk_creator_participations_creator_id_creators"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_creator_participations"),
        sa.UniqueConstraint(
            "campaign_id", "creator_id", name="uq_creator_participations_campaign_id_creator_id"
        ),
    )
    op.create_table(
        "creator_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.String(63), nullable=False),
        sa.Column("creator_id", sa.Integer(), nullable=True),
        sa.Column("video_id", sa.String(64), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("username", sa.Text(), nullable=False),
        sa.Column("caption", sa.Text(), nullable=False),
        sa.Column("hashtag", sa.String(8), nullable=False),
        sa.Column("tag_claimed", sa.Boolean(), nullable=False),
        sa.Column("registered_at", sa.BigInteger(), nullable=False),
        sa.Column("problem", sa.String(32), nullable=True),
        sa.Column("problem_at", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaigns.id"], name="fk_creator_entries_campaign_id_campaigns"
        ),
        sa.ForeignKeyConstraint(
            ["creator_id"], ["creators.id"], name="fk_creator_entries_creator_id_creators"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_creator_entries"),
        sa.UniqueConstraint(
            "campaign_id", "video_id", name="uq_creator_entries_campaign_id_video_id"
        ),
    )
    op.create_table(
        "creator_withdrawals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.String(63), nullable=False),
        sa.Column("video_id", sa.String(64), nullable=False),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaigns.id"], name="fk_creator_withdrawals_campaign_id_campaigns"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_creator_withdrawals"),
    )
    op.create_table(
        "creator_logins",
        sa.Column("state_hash", sa.String(64), nullable=False),
        sa.Column("campaign_id", sa.String(63), nullable=False),
        sa.Column("browser_hash", sa.String(64), nullable=False),
        sa.Column("verifier", sa.Text(), nullable=False),
        sa.Column("consent", sa.Text(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("used_at", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaigns.id"], name="fk_creator_logins_campaign_id_campaigns"
        ),
        sa.PrimaryKeyConstraint("state_hash", name="pk_creator_logins"),
    )


def downgrade() -> None:
    """Drop what :func:`upgrade` added."""
    for table in (
        "creator_logins",
        "creator_withdrawals",
        "creator_entries",
        "creator_participations",
        "creator_tokens",
        "creators",
    ):
        op.drop_table(table)
    with op.batch_alter_table("observations") as batch:
        batch.drop_column("source")
