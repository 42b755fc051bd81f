"""Consent challenges: the phrase a speaker must read aloud to consent to a clone."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from voxhub.core.clock import utcnow
from voxhub.db.base import Base, IdMixin


class ConsentChallenge(IdMixin, Base):
    """One phrase issued to one user: good for one voice, until `expires_at`.

    `used_at` is set, only from NULL, in the transaction that creates the voice it consented
    to, so two uploads racing with one phrase cannot both pass.
    """

    __tablename__ = "consent_challenges"

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # What the user was shown, exactly: the everyday sentence, the statement and the code.
    text: Mapped[str] = mapped_column(String(500))
    code: Mapped[str] = mapped_column(String(4))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)
    used_at: Mapped[datetime | None] = mapped_column(default=None)
