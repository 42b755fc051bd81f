"""Script tables: a dialogue (its cast, prompt and title) and its lines in order.

Lines are rows with ids of their own, kept across edits, so what is built on a script later
(a line's rendered audio, its captions) can be keyed by the line and survive edits elsewhere.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from voxhub.db.base import Base, IdMixin, TimestampMixin


class Script(IdMixin, TimestampMixin, Base):
    __tablename__ = "scripts"

    owner_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(200), default="")
    prompt: Mapped[str] = mapped_column(Text, default="")
    # The selected characters' ids, in the order chosen (seed 001's `selectedCharacters`).
    # No foreign key: a character deleted later leaves the script, and its lines are refused
    # by name when edited or rendered rather than vanishing.
    character_ids: Mapped[list[Any]] = mapped_column(JSON, default=list)
    model: Mapped[str] = mapped_column(String(200), default="")
    tokens_in: Mapped[int] = mapped_column(Integer, default=0)
    tokens_out: Mapped[int] = mapped_column(Integer, default=0)
    # Bumped by every edit, so a render can tell whether it is of the current text.
    revision: Mapped[int] = mapped_column(Integer, default=1)

    lines: Mapped[list[ScriptLine]] = relationship(
        back_populates="script",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="ScriptLine.position",
        lazy="selectin",
    )


class ScriptLine(IdMixin, Base):
    """One spoken line: who says it (a character id from the script's cast), what, how."""

    __tablename__ = "script_lines"

    script_id: Mapped[str] = mapped_column(ForeignKey("scripts.id", ondelete="CASCADE"), index=True)
    # Order in the dialogue; not unique, so a reorder can rewrite positions in any order.
    position: Mapped[int] = mapped_column(Integer)
    speaker: Mapped[str] = mapped_column(String(36))
    text: Mapped[str] = mapped_column(Text)
    # One of the speaker's image labels (the image shown while the line is said), or none.
    emotion: Mapped[str | None] = mapped_column(String(40), default=None)
    # Silence after the line, in milliseconds; none: the renderer's default gap.
    pause_ms: Mapped[int | None] = mapped_column(Integer, default=None)

    script: Mapped[Script] = relationship(back_populates="lines")
