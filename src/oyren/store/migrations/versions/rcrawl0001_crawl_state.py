"""Collection's state in the database: each date span's checkpoint, and the daily quota spent.

Revision ID: crawl0001
Revises: web0001
Create Date: 2024-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "crawl0001"
down_revision = "web0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add crawl_checkpoints and quota_ledger."""
    op.create_table(
        "crawl_checkpoints",
        sa.Column("campaign_id", sa.String(63), nullable=False),
        sa.Column("span", sa.String(17), nullable=False),
        sa.Column("cursor", sa.BigInteger(), nullable=False),
        sa.Column("search_id", sa.Text(), nullable=True),
        sa.Column("done", sa.Boolean(), nullable=False),
        sa.Column("started_at", sa.BigInteger(), nullable=True),
        sa.Column("finished_at", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaigns.id"], name="fk_crawl_checkpoints_campaign_id_campaigns"
        ),
        sa.PrimaryKeyConstraint("campaign_id", "span", name="pk_crawl_checkpoints"),
    )
    op.create_table(
        "quota_ledger",
        sa.Column("day", sa.String(10), nullable=False),
        sa.Column("requests", sa.BigInteger(), nullable=False),
        sa.Column("records", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("day", name="pk_quota_ledger"),
    )


def downgrade() -> None:
    """Drop what :func:`upgrade` added."""
    for table in ("quota_ledger", "crawl_checkpoints"):
        op.drop_table(table)
