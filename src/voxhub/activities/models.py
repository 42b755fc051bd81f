"""The activity table and its closed set of types, each in one category.

Targets (script, character, voice, job) are plain ids, not foreign keys: deleting a script
leaves the history of what was done with it. The row goes with its user (ON DELETE CASCADE).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from voxhub.core.clock import utcnow
from voxhub.db.base import Base, IdMixin


class ActivityCategory(StrEnum):
    script = "script"
    character = "character"
    video = "video"
    voice = "voice"
    chat = "chat"


class ActivityType(StrEnum):
    voice_created = "voice_created"
    voice_updated = "voice_updated"
    voice_reference_added = "voice_reference_added"
    voice_deleted = "voice_deleted"
    character_created = "character_created"
    character_updated = "character_updated"
    character_image_added = "character_image_added"
    character_image_removed = "character_image_removed"
    character_deleted = "character_deleted"
    script_generated = "script_generated"
    script_updated = "script_updated"
    script_line_added = "script_line_added"
    script_line_updated = "script_line_updated"
    script_line_deleted = "script_line_deleted"
    script_lines_reordered = "script_lines_reordered"
    script_deleted = "script_deleted"
    dialogue_render_started = "dialogue_render_started"
    dialogue_render_completed = "dialogue_render_completed"
    dialogue_render_failed = "dialogue_render_failed"
    video_generation_started = "video_generation_started"
    video_generation_completed = "video_generation_completed"
    video_generation_failed = "video_generation_failed"
    chat_started = "chat_started"
    chat_message = "chat_message"
    chat_deleted = "chat_deleted"

    @property
    def category(self) -> ActivityCategory:
        # A dialogue render is work on a script (its audio); only the video pipeline's own
        # events count as seed 001's `videoActivities`.
        if self.name.startswith("video_"):
            return ActivityCategory.video
        if self.name.startswith("dialogue_"):
            return ActivityCategory.script
        return ActivityCategory(self.name.split("_", 1)[0])


class Activity(IdMixin, Base):
    __tablename__ = "activities"
    # Leading with user_id, these also serve every "this user's rows" lookup (so user_id needs
    # no index of its own): the first pages by cursor, the second counts a category for stats.
    __table_args__ = (
        Index("ix_activities_user_page", "user_id", "created_at", "id"),
        Index("ix_activities_user_category", "user_id", "category", "created_at"),
    )

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(40))
    category: Mapped[str] = mapped_column(String(16))
    message: Mapped[str] = mapped_column(Text)
    script_id: Mapped[str | None] = mapped_column(String(36), default=None)
    character_id: Mapped[str | None] = mapped_column(String(36), default=None)
    voice_id: Mapped[str | None] = mapped_column(String(36), default=None)
    job_id: Mapped[str | None] = mapped_column(String(36), default=None)
    video_path: Mapped[str | None] = mapped_column(String(512), default=None)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
