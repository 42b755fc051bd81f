"""blocked voices: speakers no new voice may be cloned from

Revision ID: 0016_blocked_voices
Revises: 0015_consent_challenges
Create Date: 2026-12-07 14:15:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import voxhub.db.base

revision = "0016_blocked_voices"
down_revision = "0015_consent_challenges"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # An embedding per blocked speaker and no audio at all (see BlockedVoice): the list must
    # not become a store of the voices it protects.
    op.create_table(
        "blocked_voices",
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("embedding", sa.LargeBinary(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("source_sha256", sa.String(length=64), nullable=True),
        sa.Column("source_voice_id", sa.String(length=36), nullable=True),
        sa.Column("created_by", sa.String(length=36), nullable=True),
        sa.Column("created_at", voxhub.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_blocked_voices")),
        sa.UniqueConstraint("source_sha256", name=op.f("uq_blocked_voices_source_sha256")),
        sa.UniqueConstraint("source_voice_id", name=op.f("uq_blocked_voices_source_voice_id")),
    )
    op.create_index("ix_blocked_voices_created_at", "blocked_voices", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_blocked_voices_created_at", table_name="blocked_voices")
    op.drop_table("blocked_voices")
