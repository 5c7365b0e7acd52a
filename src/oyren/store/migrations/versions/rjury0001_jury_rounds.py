"""Jury rounds, their jurors and judgments; the jury round an award used.

Revision ID: jury0001
Revises: crawl0001
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "jury0001"
down_revision = "crawl0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add jury_rounds, jury_jurors, jury_judgments and the award's jury marks."""
    op.create_table(
        "jury_rounds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.String(63), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=False),
        sa.Column("criteria", sa.Text(), nullable=True),
        sa.Column("rule", sa.Text(), nullable=False),
        sa.Column("shortlist", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_by", sa.Text(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("closed_by", sa.Text(), nullable=True),
        sa.Column("closed_at", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaigns.id"], name="fk_jury_rounds_campaign_id_campaigns"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_jury_rounds"),
    )
    op.create_table(
        "jury_jurors",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(40), nullable=False),
        sa.Column("conflicts", sa.Text(), nullable=False),
        sa.Column("invited_by", sa.Text(), nullable=False),
        sa.Column("invited_at", sa.BigInteger(), nullable=False),
        sa.Column("removed_by", sa.Text(), nullable=True),
        sa.Column("removed_at", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["round_id"], ["jury_rounds.id"], name="fk_jury_jurors_round_id_jury_rounds"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_jury_jurors"),
        sa.UniqueConstraint("round_id", "username", name="uq_jury_jurors_round_id_username"),
    )
    op.create_table(
        "jury_judgments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("juror", sa.String(40), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("entries", sa.Text(), nullable=False),
        sa.Column("scores", sa.Text(), nullable=True),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.Column("undone_at", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["round_id"], ["jury_rounds.id"], name="fk_jury_judgments_round_id_jury_rounds"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_jury_judgments"),
    )
    op.create_index("ix_jury_judgments_round_id_id", "jury_judgments", ["round_id", "id"])
    with op.batch_alter_table("awards") as batch:
        batch.add_column(sa.Column("jury_round_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("last_judgment_id", sa.Integer(), nullable=True))


def downgrade() -> None:
    """Drop what :func:`upgrade` added."""
    with op.batch_alter_table("awards") as batch:
        batch.drop_column("last_judgment_id")
        batch.drop_column("jury_round_id")
    op.drop_index("ix_jury_judgments_round_id_id", table_name="jury_judgments")
    for table in ("jury_judgments", "jury_jurors", "jury_rounds"):
        op.drop_table(table)
