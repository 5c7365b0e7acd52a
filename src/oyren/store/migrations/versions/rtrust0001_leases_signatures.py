"""Collector leases (one crawl or track of a campaign at a time); signed awards and the
organizer's published signing keys.

Revision ID: trust0001
Revises: creators0001
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "trust0001"
down_revision = "creators0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add collector_leases, signing_keys and the award's bundle digest and signature."""
    op.create_table(
        "collector_leases",
        sa.Column("campaign_id", sa.String(63), nullable=False),
        sa.Column("holder", sa.String(64), nullable=False),
        sa.Column("command", sa.String(16), nullable=False),
        sa.Column("host", sa.Text(), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("acquired_at", sa.BigInteger(), nullable=False),
        sa.Column("renewed_at", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaigns.id"], name="fk_collector_leases_campaign_id_campaigns"
        ),
        sa.PrimaryKeyConstraint("campaign_id", name="pk_collector_leases"),
    )
    op.create_table(
        "signing_keys",
        sa.Column("key_id", sa.String(16), nullable=False),
        sa.Column("public_key", sa.String(44), nullable=False),
        sa.Column("published_at", sa.BigInteger(), nullable=False),
        sa.Column("published_by", sa.Text(), nullable=False),
        sa.Column("retired_at", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("key_id", name="pk_signing_keys"),
    )
    with op.batch_alter_table("awards") as batch:
        batch.add_column(sa.Column("bundle_digest", sa.String(64), nullable=True))
        batch.add_column(sa.Column("signature", sa.Text(), nullable=True))


def downgrade() -> None:
    """Drop what :func:`upgrade` added."""
    with op.batch_alter_table("awards") as batch:
        batch.drop_column("signature")
        batch.drop_column("bundle_digest")
    op.drop_table("signing_keys")
    op.drop_table("collector_leases")
