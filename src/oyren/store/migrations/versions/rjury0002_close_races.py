"""Close races: a round's focus on two entries, and the reason of an organizer's tie-break.

Revision ID: jury0002
Revises: signin0001
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "jury0002"
down_revision = "signin0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add jury_rounds.focus (a JSON object) and jury_judgments.note (a tie-break's reason)."""
    op.add_column("jury_rounds", sa.Column("focus", sa.Text(), nullable=True))
    op.add_column("jury_judgments", sa.Column("note", sa.Text(), nullable=True))


def downgrade() -> None:
    """Drop the two columns."""
    op.drop_column("jury_judgments", "note")
    op.drop_column("jury_rounds", "focus")
