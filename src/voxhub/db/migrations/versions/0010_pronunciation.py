"""pronunciation dictionaries

Revision ID: 0010_pronunciation
Revises: 0009_renders
Create Date: 2026-12-04 18:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import voxhub.db.base

revision = "0010_pronunciation"
down_revision = "0009_renders"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pronunciation_dictionaries",
        sa.Column("owner_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("rules", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("created_at", voxhub.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", voxhub.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["users.id"],
            name=op.f("fk_pronunciation_dictionaries_owner_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pronunciation_dictionaries")),
    )
    with op.batch_alter_table("pronunciation_dictionaries", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_pronunciation_dictionaries_owner_id"), ["owner_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_pronunciation_dictionaries_created_at"), ["created_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("pronunciation_dictionaries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pronunciation_dictionaries_created_at"))
        batch_op.drop_index(batch_op.f("ix_pronunciation_dictionaries_owner_id"))
    op.drop_table("pronunciation_dictionaries")
