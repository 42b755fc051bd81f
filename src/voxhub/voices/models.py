"""Voice tables: the voice, its reference recordings and its engine profiles."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    Boolean,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from voxhub.db.base import Base, IdMixin, TimestampMixin


class Voice(IdMixin, TimestampMixin, Base):
    __tablename__ = "voices"

    # Nullable until accounts exist; every query already filters through it.
    owner_id: Mapped[str | None] = mapped_column(String(36), index=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    language: Mapped[str] = mapped_column(String(16), default="en", index=True)
    is_kids_voice: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    tags: Mapped[list[str]] = mapped_column(default=list)
    visibility: Mapped[str] = mapped_column(String(16), default="private")
    # The unit-length mean speaker embedding of all references, as .npy bytes.
    embedding: Mapped[bytes] = mapped_column(LargeBinary)
    profile_status: Mapped[str] = mapped_column(String(16), default="ready")
    profile_similarity: Mapped[float | None] = mapped_column(Float)
    # The engine it was enrolled on, which speaks it unless a request names another (null:
    # made before voices named one; the default engine speaks it).
    engine: Mapped[str | None] = mapped_column(String(64))

    references: Mapped[list[VoiceReference]] = relationship(
        back_populates="voice",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="VoiceReference.created_at",
        lazy="selectin",
    )


class VoiceReference(IdMixin, TimestampMixin, Base):
    __tablename__ = "voice_references"

    voice_id: Mapped[str] = mapped_column(ForeignKey("voices.id", ondelete="CASCADE"), index=True)
    # Cleaned client filename, metadata only: blobs are stored under generated keys.
    filename: Mapped[str] = mapped_column(String(255), default="")
    file_type: Mapped[str] = mapped_column(String(8), default="audio")
    blob_key: Mapped[str] = mapped_column(String(512))
    duration_s: Mapped[float] = mapped_column(Float)
    speech_s: Mapped[float] = mapped_column(Float)
    sample_rate_in: Mapped[int] = mapped_column(Integer)
    embedding: Mapped[bytes] = mapped_column(LargeBinary)
    report: Mapped[dict[str, Any]] = mapped_column(default=dict)
    sha256: Mapped[str] = mapped_column(String(64))

    voice: Mapped[Voice] = relationship(back_populates="references")


class VoiceProfileRow(IdMixin, TimestampMixin, Base):
    """One engine's profile of a voice; replaced when refinement or a new reference improves it."""

    __tablename__ = "voice_profiles"
    __table_args__ = (
        UniqueConstraint("voice_id", "engine", name="uq_voice_profiles_voice_engine"),
    )

    voice_id: Mapped[str] = mapped_column(ForeignKey("voices.id", ondelete="CASCADE"), index=True)
    engine: Mapped[str] = mapped_column(String(64))
    engine_version: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    blob_key: Mapped[str] = mapped_column(String(512))
    metrics: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Bumped on every replacement, so a slow writer (refinement) can tell it was overtaken.
    revision: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
