"""Character tables: the character, its images and who starred it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from voxhub.core.clock import utcnow
from voxhub.db.base import Base, IdMixin, TimestampMixin


class Character(IdMixin, TimestampMixin, Base):
    __tablename__ = "characters"

    owner_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    display_name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    persona_prompt: Mapped[str] = mapped_column(Text, default="")
    # A deleted voice leaves the character without one (it can no longer speak) rather than
    # deleting the character and its images with it.
    voice_id: Mapped[str | None] = mapped_column(
        ForeignKey("voices.id", ondelete="SET NULL"), index=True
    )
    visibility: Mapped[str] = mapped_column(String(16), default="private", index=True)
    # Synthesis config, seed 001's `speed`, `nfeSteps`, `crossFadeDuration`, `removeSilences`.
    speed: Mapped[float] = mapped_column(Float, default=1.0)
    nfe_steps: Mapped[int] = mapped_column(Integer, default=32)
    cross_fade_duration: Mapped[float] = mapped_column(Float, default=0.15)
    remove_silences: Mapped[bool] = mapped_column(Boolean, default=False)
    # The voice was made for this character (seed 001's audioFile) and is deleted with it.
    owns_voice: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # The next image key: keys are never reused, so a removed image's URL never shows another.
    image_seq: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    images: Mapped[list[CharacterImage]] = relationship(
        back_populates="character",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="CharacterImage.position",
        lazy="selectin",
    )


class CharacterImage(IdMixin, Base):
    """One stored image: re-encoded (no metadata, nothing appended) plus its thumbnail."""

    __tablename__ = "character_images"
    __table_args__ = (UniqueConstraint("character_id", "key", name="uq_character_images_key"),)

    character_id: Mapped[str] = mapped_column(
        ForeignKey("characters.id", ondelete="CASCADE"), index=True
    )
    key: Mapped[str] = mapped_column(String(12))  # "0", "1", ... as seed 001 names them
    position: Mapped[int] = mapped_column(Integer)  # int(key), for ordering
    label: Mapped[str] = mapped_column(String(40), default="")
    blob_key: Mapped[str] = mapped_column(String(512))
    thumb_key: Mapped[str] = mapped_column(String(512))
    media_type: Mapped[str] = mapped_column(String(32))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    size_bytes: Mapped[int] = mapped_column(Integer)
    source_format: Mapped[str] = mapped_column(String(16))
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    character: Mapped[Character] = relationship(back_populates="images")


class CharacterStar(Base):
    """One user's star on one character: the primary key makes it once per user."""

    __tablename__ = "character_stars"

    character_id: Mapped[str] = mapped_column(
        ForeignKey("characters.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
