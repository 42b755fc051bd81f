"""the engine a voice speaks with

Revision ID: 0011_voice_engine
Revises: 0010_pronunciation
Create Date: 2026-12-04 18:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_voice_engine"
down_revision = "0010_pronunciation"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Null for voices made before: they speak with the default engine, as they did.
    with op.batch_alter_table("voices", schema=None) as batch_op:
        batch_op.add_column(sa.Column("engine", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("voices", schema=None) as batch_op:
        batch_op.drop_column("engine")
