"""sign-in sessions, used HMAC signatures, the blob outbox, profile revisions

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 22:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import voxhub.db.base

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

UTC = voxhub.db.base.UtcDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "auth_sessions",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("revoked_at", UTC, nullable=True),
        sa.Column("revoked_reason", sa.String(length=32), nullable=True),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_auth_sessions_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auth_sessions")),
    )
    with op.batch_alter_table("auth_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_auth_sessions_user_id"), ["user_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_auth_sessions_created_at"), ["created_at"], unique=False
        )
    # Refresh families issued before sessions existed become sessions, live while any of
    # their tokens is unrevoked, so nobody is signed out by the upgrade.
    op.execute(
        """
        INSERT INTO auth_sessions (id, user_id, revoked_at, revoked_reason, created_at, updated_at)
        SELECT family_id, MIN(user_id),
               CASE WHEN SUM(CASE WHEN revoked_at IS NULL THEN 1 ELSE 0 END) = 0
                    THEN MAX(revoked_at) END,
               CASE WHEN SUM(CASE WHEN revoked_at IS NULL THEN 1 ELSE 0 END) = 0
                    THEN 'revoked' END,
               MIN(created_at), MAX(created_at)
        FROM refresh_tokens GROUP BY family_id
        """
    )

    op.create_table(
        "hmac_signatures",
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("expires_at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("digest", name=op.f("pk_hmac_signatures")),
    )
    with op.batch_alter_table("hmac_signatures", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_hmac_signatures_expires_at"), ["expires_at"], unique=False
        )

    op.create_table(
        "blob_deletions",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("prefix", sa.String(length=512), nullable=False),
        sa.Column("reason", sa.String(length=64), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("next_attempt_at", UTC, nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_blob_deletions")),
    )
    with op.batch_alter_table("blob_deletions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_blob_deletions_prefix"), ["prefix"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_blob_deletions_next_attempt_at"), ["next_attempt_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_blob_deletions_created_at"), ["created_at"], unique=False
        )

    with op.batch_alter_table("voice_profiles", schema=None) as batch_op:
        batch_op.add_column(sa.Column("revision", sa.Integer(), server_default="1", nullable=False))
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("replayable", sa.Boolean(), server_default=sa.true(), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.drop_column("replayable")
    with op.batch_alter_table("voice_profiles", schema=None) as batch_op:
        batch_op.drop_column("revision")
    op.drop_table("blob_deletions")
    op.drop_table("hmac_signatures")
    op.drop_table("auth_sessions")
