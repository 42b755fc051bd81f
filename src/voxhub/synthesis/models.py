"""The generation history; also the cache of identical requests."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from voxhub.db.base import Base, IdMixin, TimestampMixin

# The engine a generation kept with seed 004's /api/tts/save is recorded with: audio made
# elsewhere, stored as sent (neither marked nor labelled as voxhub's).
SAVED_ENGINE = "external"


class Generation(IdMixin, TimestampMixin, Base):
    __tablename__ = "generations"

    owner_id: Mapped[str | None] = mapped_column(String(36), index=True)
    voice_id: Mapped[str] = mapped_column(ForeignKey("voices.id", ondelete="CASCADE"), index=True)
    # sha256 over voice, profile, engine version, text and parameters: equal key, equal audio.
    cache_key: Mapped[str] = mapped_column(String(64), index=True)
    engine: Mapped[str] = mapped_column(String(64))
    engine_version: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    format: Mapped[str] = mapped_column(String(16))
    sample_rate: Mapped[int] = mapped_column(Integer)
    duration_s: Mapped[float] = mapped_column(Float)
    engine_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    blob_key: Mapped[str] = mapped_column(String(512))
    size_bytes: Mapped[int] = mapped_column(Integer)
    # Which path produced it: "sync", "stream" or "job".
    source: Mapped[str] = mapped_column(String(16), default="sync")

    @property
    def made_here(self) -> bool:
        """Whether voxhub spoke it (and marked it), rather than kept a client's file."""
        return self.engine != SAVED_ENGINE
