"""consent challenges: phrases a speaker reads to consent to a clone

Revision ID: 0015_consent_challenges
Revises: 0014_consents
Create Date: 2026-12-07 14:15:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import voxhub.db.base

revision = "0015_consent_challenges"
down_revision = "0014_consents"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # No append-only triggers: `used_at` is set once, when the phrase consents to a voice. What
    # must never change is the consent row that records it (voice_consents).
    op.create_table(
        "consent_challenges",
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("text", sa.String(length=500), nullable=False),
        sa.Column("code", sa.String(length=4), nullable=False),
        sa.Column("created_at", voxhub.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", voxhub.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("used_at", voxhub.db.base.UtcDateTime(timezone=True), nullable=True),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_consent_challenges_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_challenges")),
    )
    op.create_index("ix_consent_challenges_user_id", "consent_challenges", ["user_id"])
    op.create_index("ix_consent_challenges_expires_at", "consent_challenges", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_consent_challenges_expires_at", table_name="consent_challenges")
    op.drop_index("ix_consent_challenges_user_id", table_name="consent_challenges")
    op.drop_table("consent_challenges")
