"""Signatures of accepted HMAC-signed calls, remembered so one captured call cannot run twice."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from voxhub.db.base import Base


class UsedSignature(Base):
    __tablename__ = "hmac_signatures"

    # sha256 of the signature header (the signature itself is no secret, but keep rows small).
    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    # Twice the skew window after acceptance: by then the timestamp alone refuses the call.
    expires_at: Mapped[datetime] = mapped_column(index=True)
