"""Chat tables: a thread between a user and a character, and its messages in order."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from voxhub.core.clock import utcnow
from voxhub.db.base import Base, IdMixin, TimestampMixin


class ChatThread(IdMixin, TimestampMixin, Base):
    __tablename__ = "chat_threads"

    owner_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # The thread goes with its character: its replies were that persona's.
    character_id: Mapped[str] = mapped_column(
        ForeignKey("characters.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(String(200), default="")
    # Messages so far; the next one's `seq`. Bumped under the thread's row lock, so two
    # messages posted at once get distinct places.
    message_count: Mapped[int] = mapped_column(Integer, default=0)


class MessageStatus:
    complete = "complete"  # a user message, or a reply that ended (stop or length)
    unanswered = "unanswered"  # a user message whose reply failed: `reply` answers it later


class ChatMessageRow(IdMixin, Base):
    """One turn. A reply records what it cost and how it went (tokens, model, latency)."""

    __tablename__ = "chat_messages"
    __table_args__ = (UniqueConstraint("thread_id", "seq", name="uq_chat_messages_seq"),)

    thread_id: Mapped[str] = mapped_column(
        ForeignKey("chat_threads.id", ondelete="CASCADE"), index=True
    )
    seq: Mapped[int] = mapped_column(Integer)
    role: Mapped[str] = mapped_column(String(16))  # "user" | "assistant"
    content: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default=MessageStatus.complete)
    model: Mapped[str] = mapped_column(String(200), default="")
    tokens_in: Mapped[int] = mapped_column(Integer, default=0)
    tokens_out: Mapped[int] = mapped_column(Integer, default=0)
    finish_reason: Mapped[str | None] = mapped_column(String(16), default=None)
    first_token_ms: Mapped[int | None] = mapped_column(Integer, default=None)
    duration_ms: Mapped[int | None] = mapped_column(Integer, default=None)
    # Earlier messages the reply could not see (the model's window is full); 0 when it saw all.
    context_dropped: Mapped[int] = mapped_column(Integer, default=0)
    # The spoken reply, when asked for: its stored audio and format.
    audio_key: Mapped[str | None] = mapped_column(String(512), default=None)
    audio_format: Mapped[str | None] = mapped_column(String(16), default=None)
    error: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
