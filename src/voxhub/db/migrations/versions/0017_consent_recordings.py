"""voice consents keep the spoken consent's recording (its blob key)

Revision ID: 0017_consent_recordings
Revises: 0016_blocked_voices
Create Date: 2026-12-07 23:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017_consent_recordings"
down_revision = "0016_blocked_voices"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A new column, not a change to any row: the append-only triggers stand (rows made before
    # this keep no recording, only its sha256).
    op.add_column(
        "voice_consents", sa.Column("consent_audio_key", sa.String(length=200), nullable=True)
    )


def downgrade() -> None:
    # Dropping the keys would orphan the recordings they name, evidence kept for the retention
    # period; and the rows can never be updated to name them again after a re-upgrade.
    kept = (
        op.get_bind()
        .execute(sa.text("SELECT count(*) FROM voice_consents WHERE consent_audio_key IS NOT NULL"))
        .scalar()
    )
    if kept:
        raise RuntimeError(
            f"{kept} consent rows name their spoken consent's recording: downgrading past "
            "0017 would lose track of that evidence; keep this revision"
        )
    # Not a batch (copy-and-rename) on SQLite: that would drop the table's triggers. SQLite
    # 3.35+ drops a column in place.
    op.execute("ALTER TABLE voice_consents DROP COLUMN consent_audio_key")
