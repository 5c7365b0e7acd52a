"""Join the two branches of the schema: crawl state and jury rounds.

Revision ID: 0003
Revises: crawl0001, jury0001
Create Date: 2026-11-26
"""

from __future__ import annotations

revision = "0003"
down_revision = ("crawl0001", "jury0001")
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Nothing to change: both branches' tables already exist."""


def downgrade() -> None:
    """Nothing to change: both branches' tables stay."""
