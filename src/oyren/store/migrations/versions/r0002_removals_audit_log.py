"""Removals, crawl misses and the append-only audit log; awards record the removals they used.

Revision ID: 0002
Revises: 0001
Create Date: 2024-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

APPEND_ONLY = "the audit log is append-only"


def upgrade() -> None:
    """Add removals, crawl misses and the audit log."""
    op.create_table(
        "removals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.String(63), nullable=False),
        sa.Column("video_id", sa.String(64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaigns.id"], name="fk_removals_campaign_id_campaigns"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_removals"),
        sa.UniqueConstraint("campaign_id", "video_id", name="uq_removals_campaign_id_video_id"),
    )
    op.create_table(
        "crawl_misses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.String(63), nullable=False),
        sa.Column("video_id", sa.String(64), nullable=False),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaigns.id"], name="fk_crawl_misses_campaign_id_campaigns"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_crawl_misses"),
        sa.UniqueConstraint(
            "campaign_id", "video_id", "at", name="uq_crawl_misses_campaign_id_video_id_at"
        ),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.String(63), nullable=True),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaigns.id"], name="fk_audit_log_campaign_id_campaigns"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_audit_log"),
    )
    op.create_index("ix_audit_log_campaign_id_id", "audit_log", ["campaign_id", "id"])
    with op.batch_alter_table("awards") as batch:
        batch.add_column(sa.Column("last_removal_id", sa.Integer(), nullable=True))
    if op.get_context().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN RAISE EXCEPTION '{APPEND_ONLY}'; END $$"
        )
        op.execute(
            "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
            "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()"
        )
        op.execute(
            "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
            "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()"
        )
    else:
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_log_no_{event.lower()} BEFORE {event} ON audit_log "
                f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END"
            )


def downgrade() -> None:
    """Drop what :func:`upgrade` added."""
    if op.get_context().dialect.name == "postgresql":
        op.execute("DROP TRIGGER audit_log_no_truncate ON audit_log")
        op.execute("DROP TRIGGER audit_log_append_only ON audit_log")
        op.execute("DROP FUNCTION audit_log_append_only()")
    else:
        op.execute("DROP TRIGGER audit_log_no_update")
        op.execute("DROP TRIGGER audit_log_no_delete")
    with op.batch_alter_table("awards") as batch:
        batch.drop_column("last_removal_id")
    op.drop_index("ix_audit_log_campaign_id_id", table_name="audit_log")
    for table in ("audit_log", "crawl_misses", "removals"):
        op.drop_table(table)
