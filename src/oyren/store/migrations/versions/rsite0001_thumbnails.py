"""Thumbnails: each video's image cached by Öyrən, with where it came from and until when.

Revision ID: site0001
Revises: jury0002
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "site0001"
down_revision = "jury0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add thumbnails."""
    op.create_table(
        "thumbnails",
        sa.Column("campaign_id", sa.String(63), nullable=False),
        sa.Column("video_id", sa.String(64), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("url_expires_at", sa.BigInteger(), nullable=True),
        sa.Column("content_type", sa.String(16), nullable=True),
        sa.Column("image", sa.LargeBinary(), nullable=True),
        sa.Column("digest", sa.String(64), nullable=True),
        sa.Column("fetched_at", sa.BigInteger(), nullable=True),
        sa.Column("checked_at", sa.BigInteger(), nullable=False),
        sa.Column("failures", sa.Integer(), server_default="0", nullable=False),
        sa.Column("problem", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaigns.id"], name="fk_thumbnails_campaign_id_campaigns"
        ),
        sa.PrimaryKeyConstraint("campaign_id", "video_id", name="pk_thumbnails"),
    )


def downgrade() -> None:
    """Drop it."""
    op.drop_table("thumbnails")
