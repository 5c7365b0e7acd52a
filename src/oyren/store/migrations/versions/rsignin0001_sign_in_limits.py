"""Sign-in limits per account, shared by every web process: failures and known addresses.

Revision ID: signin0001
Revises: trust0001
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "signin0001"
down_revision = "trust0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add sign_in_failures and sign_in_known."""
    op.create_table(
        "sign_in_failures",
        sa.Column("username", sa.String(40), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_at", sa.BigInteger(), nullable=False),
        sa.Column("wait_until", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("username", name="pk_sign_in_failures"),
    )
    op.create_index("ix_sign_in_failures_last_at", "sign_in_failures", ["last_at"])
    op.create_table(
        "sign_in_known",
        sa.Column("username", sa.String(40), nullable=False),
        sa.Column("address", sa.String(64), nullable=False),
        sa.Column("last_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("username", "address", name="pk_sign_in_known"),
    )


def downgrade() -> None:
    """Drop them."""
    op.drop_table("sign_in_known")
    op.drop_index("ix_sign_in_failures_last_at", table_name="sign_in_failures")
    op.drop_table("sign_in_failures")
