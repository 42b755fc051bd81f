"""The no-go list: speakers no new voice may be cloned from."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from voxhub.core.clock import utcnow
from voxhub.db.base import Base, IdMixin


class BlockedVoice(IdMixin, Base):
    """One blocked speaker, kept as a speaker embedding and nothing more.

    No audio is kept, neither the uploaded recording nor the source voice's: a list meant to
    protect people (public figures, anyone who asked) must not become a store of their voices
    that a leak or a rogue admin could clone from. The embedding is enough to compare against and
    cannot be turned back into speech.
    """

    __tablename__ = "blocked_voices"

    # Who it is, for admins (e.g. a public figure's name); never shown to the refused caller.
    label: Mapped[str] = mapped_column(String(200))
    # The unit-length speaker embedding, as .npy bytes (like voices.embedding).
    embedding: Mapped[bytes] = mapped_column(LargeBinary)
    # Where it came from: "recording" (then source_sha256 is the upload's hash) or "voice" (then
    # source_voice_id names it; no foreign key: the block outlives the voice).
    source: Mapped[str] = mapped_column(String(16))
    source_sha256: Mapped[str | None] = mapped_column(String(64), unique=True)
    source_voice_id: Mapped[str | None] = mapped_column(String(36), unique=True)
    created_by: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
