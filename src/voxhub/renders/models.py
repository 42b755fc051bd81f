"""Render tables: a render of a script (its audio, captions and maybe video) and the line cache.

A take is one line rendered once: its audio blob, its words, and the key of everything that
made it (voice profile, engine and its version, text, speed, trimming). Editing one line
changes one key, so the next render speaks only that line again. Takes belong to a script
(deleted with it), not to the account, so deleting a script removes every file it made.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from voxhub.core.clock import utcnow
from voxhub.db.base import Base, IdMixin, TimestampMixin


class LineTake(IdMixin, Base):
    __tablename__ = "line_takes"
    __table_args__ = (UniqueConstraint("script_id", "cache_key", name="uq_line_takes_key"),)

    script_id: Mapped[str] = mapped_column(ForeignKey("scripts.id", ondelete="CASCADE"), index=True)
    cache_key: Mapped[str] = mapped_column(String(64))
    blob_key: Mapped[str] = mapped_column(String(512))
    sample_rate: Mapped[int] = mapped_column(Integer)
    duration_s: Mapped[float] = mapped_column(Float)
    # [[word, start, end], ...] in seconds from the take's start.
    words: Mapped[list[Any]] = mapped_column(JSON, default=list)
    engine: Mapped[str] = mapped_column(String(64))
    engine_version: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ScriptRender(IdMixin, TimestampMixin, Base):
    """One render of a script, made by one job; its outputs are set when the job succeeds."""

    __tablename__ = "script_renders"

    owner_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    script_id: Mapped[str] = mapped_column(ForeignKey("scripts.id", ondelete="CASCADE"), index=True)
    job_id: Mapped[str] = mapped_column(String(36), index=True)
    # "audio" (dialogue audio and captions) or "video" (those and an MP4).
    kind: Mapped[str] = mapped_column(String(16))
    # The script's revision when the render was asked for; lines are read when it runs.
    revision: Mapped[int] = mapped_column(Integer)
    # What was asked: format, gap, ambience, loudness target, background.
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    audio_key: Mapped[str | None] = mapped_column(String(512), default=None)
    video_key: Mapped[str | None] = mapped_column(String(512), default=None)
    duration_s: Mapped[float | None] = mapped_column(Float, default=None)
    audio_size: Mapped[int | None] = mapped_column(Integer, default=None)
    video_size: Mapped[int | None] = mapped_column(Integer, default=None)
    loudness_lufs: Mapped[float | None] = mapped_column(Float, default=None)
    true_peak_dbtp: Mapped[float | None] = mapped_column(Float, default=None)
    # [{line_id, take_id, index, speaker, start, end}] and [[word, start, end]] on the
    # dialogue's timeline; the captions are made from the words when asked for.
    lines: Mapped[list[Any]] = mapped_column(JSON, default=list)
    words: Mapped[list[Any]] = mapped_column(JSON, default=list)


class VideoBackground(IdMixin, TimestampMixin, Base):
    """A clip a user uploaded to film their dialogues over (checked: a video, within limits)."""

    __tablename__ = "video_backgrounds"
    __table_args__ = (UniqueConstraint("owner_id", "name", name="uq_video_backgrounds_name"),)

    owner_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # What seed 001's `backgroundVideo` names it by (the uploaded file's name).
    name: Mapped[str] = mapped_column(String(200))
    blob_key: Mapped[str] = mapped_column(String(512))
    duration_s: Mapped[float] = mapped_column(Float)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    size_bytes: Mapped[int] = mapped_column(Integer)
