"""voice consents: the attestation every new voice carries (append-only)

Revision ID: 0014_consents
Revises: 0013_marked_outputs
Create Date: 2026-12-07 14:15:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import voxhub.db.base

revision = "0014_consents"
down_revision = "0013_marked_outputs"
branch_labels = None
depends_on = None

TABLES = ("voice_consents", "standing_consents")


def upgrade() -> None:
    # No foreign keys: a consent row outlives the voice and the account it speaks about.
    op.create_table(
        "voice_consents",
        sa.Column("voice_id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=True),
        sa.Column("principal_kind", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("attestation", sa.String(length=24), nullable=True),
        sa.Column("policy", sa.String(length=16), nullable=False),
        sa.Column("ip", sa.String(length=64), nullable=True),
        sa.Column("reference_sha256", sa.JSON(), nullable=False),
        sa.Column("standing_id", sa.String(length=36), nullable=True),
        sa.Column("phrase_id", sa.String(length=36), nullable=True),
        sa.Column("transcript", sa.Text(), nullable=True),
        sa.Column("word_error_rate", sa.Float(), nullable=True),
        sa.Column("speaker_similarity", sa.Float(), nullable=True),
        sa.Column("consent_audio_sha256", sa.String(length=64), nullable=True),
        sa.Column("created_at", voxhub.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("retain_until", voxhub.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_voice_consents")),
    )
    op.create_index("ix_voice_consents_voice_id", "voice_consents", ["voice_id"])
    op.create_index("ix_voice_consents_user_id", "voice_consents", ["user_id"])
    op.create_index("ix_voice_consents_created_at", "voice_consents", ["created_at"])
    op.create_index("ix_voice_consents_retain_until", "voice_consents", ["retain_until"])
    op.create_table(
        "standing_consents",
        sa.Column("holder", sa.String(length=48), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=True),
        sa.Column("principal_kind", sa.String(length=16), nullable=False),
        sa.Column("attestation", sa.String(length=24), nullable=True),
        sa.Column("withdrawn", sa.Boolean(), nullable=False),
        sa.Column("policy", sa.String(length=16), nullable=False),
        sa.Column("ip", sa.String(length=64), nullable=True),
        sa.Column("created_at", voxhub.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("retain_until", voxhub.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_standing_consents")),
    )
    op.create_index("ix_standing_consents_holder", "standing_consents", ["holder", "created_at"])
    op.create_index("ix_standing_consents_retain_until", "standing_consents", ["retain_until"])
    for table in TABLES:
        _append_only(table)


def _append_only(table: str) -> None:
    """The database itself refuses to change a consent row, and to delete one it must keep."""
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            f"CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{table} rows never change'); END"
        )
        # SQLAlchemy stores SQLite datetimes as 'YYYY-MM-DD HH:MM:SS.ffffff' in UTC, which
        # compares as text with SQLite's own UTC clock in the same layout.
        op.execute(
            f"CREATE TRIGGER {table}_no_early_delete BEFORE DELETE ON {table} "
            "WHEN OLD.retain_until > strftime('%Y-%m-%d %H:%M:%f', 'now') "
            f"BEGIN SELECT RAISE(ABORT, '{table} rows are kept until retain_until'); END"
        )
        return
    op.execute(
        f"CREATE FUNCTION {table}_append_only() RETURNS trigger AS $$ BEGIN "
        f"IF TG_OP = 'UPDATE' THEN RAISE EXCEPTION '{table} rows never change'; END IF; "
        f"IF OLD.retain_until > now() THEN "
        f"RAISE EXCEPTION '{table} rows are kept until retain_until'; END IF; "
        "RETURN OLD; END; $$ LANGUAGE plpgsql"
    )
    op.execute(
        f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
        f"FOR EACH ROW EXECUTE FUNCTION {table}_append_only()"
    )


def downgrade() -> None:
    for table in TABLES:
        if op.get_bind().dialect.name != "sqlite":
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
            op.execute(f"DROP FUNCTION IF EXISTS {table}_append_only()")
        # SQLite drops a table's triggers with it.
    op.drop_index("ix_standing_consents_retain_until", table_name="standing_consents")
    op.drop_index("ix_standing_consents_holder", table_name="standing_consents")
    op.drop_table("standing_consents")
    op.drop_index("ix_voice_consents_retain_until", table_name="voice_consents")
    op.drop_index("ix_voice_consents_created_at", table_name="voice_consents")
    op.drop_index("ix_voice_consents_user_id", table_name="voice_consents")
    op.drop_index("ix_voice_consents_voice_id", table_name="voice_consents")
    op.drop_table("voice_consents")
