"""audit events: outcome, and an index to find an object's events

Revision ID: 0012_audit_outcome
Revises: 0011_voice_engine
Create Date: 2026-12-04 19:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012_audit_outcome"
down_revision = "0011_voice_engine"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ALTER TABLE, not batch mode: SQLite's table copy would drop the triggers that keep
    # audit_events append-only. Adding a column fires no UPDATE trigger on either database.
    op.add_column(
        "audit_events",
        sa.Column("outcome", sa.String(length=16), server_default="ok", nullable=False),
    )
    op.create_index("ix_audit_events_target", "audit_events", ["target_type", "target_id"])


def downgrade() -> None:
    op.drop_index("ix_audit_events_target", table_name="audit_events")
    # Plain DROP COLUMN (SQLite 3.35+ has it) for the same reason: no table copy, triggers kept.
    op.drop_column("audit_events", "outcome")
