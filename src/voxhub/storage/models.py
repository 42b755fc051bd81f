"""The blob outbox: removals promised in a committed transaction, retried until done."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from voxhub.db.base import Base, IdMixin, TimestampMixin


class BlobDeletion(IdMixin, TimestampMixin, Base):
    __tablename__ = "blob_deletions"

    # A key prefix ending in "/" (everything under it) or one exact key.
    prefix: Mapped[str] = mapped_column(String(512), index=True)
    reason: Mapped[str] = mapped_column(String(64), default="")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    next_attempt_at: Mapped[datetime] = mapped_column(index=True)
