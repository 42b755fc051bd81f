"""marked outputs: the hash of every watermarked file voxhub emitted (detection's lookup)

Revision ID: 0013_marked_outputs
Revises: 0012_audit_outcome
Create Date: 2026-12-07 14:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import voxhub.db.base

revision = "0013_marked_outputs"
down_revision = "0012_audit_outcome"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "marked_outputs",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("object_id", sa.String(length=36), nullable=False),
        sa.Column("owner_id", sa.String(length=36), nullable=True),
        sa.Column("media_type", sa.String(length=64), nullable=False),
        sa.Column("created_at", voxhub.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_marked_outputs")),
    )
    op.create_index("ix_marked_outputs_sha256", "marked_outputs", ["sha256"])


def downgrade() -> None:
    op.drop_index("ix_marked_outputs_sha256", table_name="marked_outputs")
    op.drop_table("marked_outputs")
