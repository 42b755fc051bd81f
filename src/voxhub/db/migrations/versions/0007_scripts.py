"""scripts and their lines

Revision ID: 0007_scripts
Revises: 0006_chats
Create Date: 2026-12-09 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import voxhub.db.base

revision = "0007_scripts"
down_revision = "0006_chats"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "scripts",
        sa.Column("owner_id", sa.String(length=36), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("prompt", sa.Text(), nullable=False),
        sa.Column("character_ids", sa.JSON(), nullable=False),
        sa.Column("model", sa.String(length=200), nullable=False),
        sa.Column("tokens_in", sa.Integer(), nullable=False),
        sa.Column("tokens_out", sa.Integer(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("created_at", voxhub.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", voxhub.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name=op.f("fk_scripts_owner_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scripts")),
    )
    with op.batch_alter_table("scripts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_scripts_owner_id"), ["owner_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_scripts_created_at"), ["created_at"], unique=False)

    op.create_table(
        "script_lines",
        sa.Column("script_id", sa.String(length=36), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("speaker", sa.String(length=36), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("emotion", sa.String(length=40), nullable=True),
        sa.Column("pause_ms", sa.Integer(), nullable=True),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["script_id"],
            ["scripts.id"],
            name=op.f("fk_script_lines_script_id_scripts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_script_lines")),
    )
    with op.batch_alter_table("script_lines", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_script_lines_script_id"), ["script_id"], unique=False)


def downgrade() -> None:
    op.drop_table("script_lines")
    op.drop_table("scripts")
