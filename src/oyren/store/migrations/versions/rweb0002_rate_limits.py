"""Rate limits shared by every web process: a token bucket per purpose and client.

Revision ID: web0002
Revises: site0001
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "web0002"
down_revision = "site0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add rate_buckets."""
    op.create_table(
        "rate_buckets",
        sa.Column("purpose", sa.String(16), nullable=False),
        sa.Column("client", sa.String(64), nullable=False),
        sa.Column("tokens", sa.Float(), nullable=False),
        sa.Column("seen", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("purpose", "client", name="pk_rate_buckets"),
    )
    op.create_index("ix_rate_buckets_seen", "rate_buckets", ["seen"])


def downgrade() -> None:
    """Drop it."""
    op.drop_index("ix_rate_buckets_seen", table_name="rate_buckets")
    op.drop_table("rate_buckets")
