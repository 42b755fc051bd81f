"""What voxhub emitted, by the hash of its bytes: the detector's exact lookup."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from voxhub.core.clock import utcnow
from voxhub.db.base import Base, IdMixin


class MarkedOutput(IdMixin, Base):
    """One watermarked file voxhub stored or sent whole (a generation, a take, a render...).

    Kept when the object it names is deleted: a file downloaded before still traces to this
    instance. Rows are only inserted.
    """

    __tablename__ = "marked_outputs"

    sha256: Mapped[str] = mapped_column(String(64), index=True)
    # What made it: "speech", "take", "render", "chat", "ambience"; and that object's id.
    kind: Mapped[str] = mapped_column(String(16))
    object_id: Mapped[str] = mapped_column(String(36))
    owner_id: Mapped[str | None] = mapped_column(String(36))
    media_type: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
