"""script renders and the line cache

Revision ID: 0009_renders
Revises: 0008_activities
Create Date: 2026-12-02 20:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import voxhub.db.base

revision = "0009_renders"
down_revision = "0008_activities"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "line_takes",
        sa.Column("script_id", sa.String(length=36), nullable=False),
        sa.Column("cache_key", sa.String(length=64), nullable=False),
        sa.Column("blob_key", sa.String(length=512), nullable=False),
        sa.Column("sample_rate", sa.Integer(), nullable=False),
        sa.Column("duration_s", sa.Float(), nullable=False),
        sa.Column("words", sa.JSON(), nullable=False),
        sa.Column("engine", sa.String(length=64), nullable=False),
        sa.Column("engine_version", sa.String(length=64), nullable=False),
        sa.Column("created_at", voxhub.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["script_id"],
            ["scripts.id"],
            name=op.f("fk_line_takes_script_id_scripts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_line_takes")),
        sa.UniqueConstraint("script_id", "cache_key", name="uq_line_takes_key"),
    )
    with op.batch_alter_table("line_takes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_line_takes_script_id"), ["script_id"], unique=False)

    op.create_table(
        "script_renders",
        sa.Column("owner_id", sa.String(length=36), nullable=False),
        sa.Column("script_id", sa.String(length=36), nullable=False),
        sa.Column("job_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("audio_key", sa.String(length=512), nullable=True),
        sa.Column("video_key", sa.String(length=512), nullable=True),
        sa.Column("duration_s", sa.Float(), nullable=True),
        sa.Column("audio_size", sa.Integer(), nullable=True),
        sa.Column("video_size", sa.Integer(), nullable=True),
        sa.Column("loudness_lufs", sa.Float(), nullable=True),
        sa.Column("true_peak_dbtp", sa.Float(), nullable=True),
        sa.Column("lines", sa.JSON(), nullable=False),
        sa.Column("words", sa.JSON(), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("created_at", voxhub.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", voxhub.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["users.id"],
            name=op.f("fk_script_renders_owner_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["script_id"],
            ["scripts.id"],
            name=op.f("fk_script_renders_script_id_scripts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_script_renders")),
    )
    with op.batch_alter_table("script_renders", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_script_renders_owner_id"), ["owner_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_script_renders_script_id"), ["script_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_script_renders_job_id"), ["job_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_script_renders_created_at"), ["created_at"], unique=False
        )

    op.create_table(
        "video_backgrounds",
        sa.Column("owner_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("blob_key", sa.String(length=512), nullable=False),
        sa.Column("duration_s", sa.Float(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("created_at", voxhub.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", voxhub.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["users.id"],
            name=op.f("fk_video_backgrounds_owner_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_video_backgrounds")),
        sa.UniqueConstraint("owner_id", "name", name="uq_video_backgrounds_name"),
    )
    with op.batch_alter_table("video_backgrounds", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_video_backgrounds_owner_id"), ["owner_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_video_backgrounds_created_at"), ["created_at"], unique=False
        )


def downgrade() -> None:
    op.drop_table("video_backgrounds")
    op.drop_table("script_renders")
    op.drop_table("line_takes")
