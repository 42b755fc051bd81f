"""The pronunciation dictionary table: one row per dictionary, its rules kept together."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from voxhub.db.base import Base, IdMixin, TimestampMixin


class PronunciationDictionary(IdMixin, TimestampMixin, Base):
    __tablename__ = "pronunciation_dictionaries"

    owner_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    # The rules as their JSON (schemas.Rule), in order. A dictionary is read whole by every
    # request that names it and changed whole, so one row keeps each change atomic.
    rules: Mapped[list[Any]] = mapped_column(default=list)
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
