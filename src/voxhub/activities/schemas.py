"""What the activity routes give."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from voxhub.activities.models import ActivityCategory, ActivityType


class ActivityRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    type: ActivityType
    category: ActivityCategory
    message: str
    script_id: str | None
    character_id: str | None
    voice_id: str | None
    job_id: str | None
    video_path: str | None
    details: dict[str, Any]
    created_at: datetime


class ActivityPage(BaseModel):
    items: list[ActivityRead]
    next_cursor: str | None


class ActivitiesCleared(BaseModel):
    deleted: int


EARLIEST = datetime.min.replace(tzinfo=UTC)
LATEST = datetime.max.replace(tzinfo=UTC)


def in_utc(at: datetime | None) -> datetime | None:
    """A bound in UTC, as rows are compared. A time with no offset is taken as UTC (as a
    cursor's never is: the API makes those); one whose UTC falls outside the years 1 to 9999
    (0001-01-01T00:00:00+14:00) is the first or last instant there is, so it still bounds."""
    if at is None:
        return None
    if at.tzinfo is None:
        return at.replace(tzinfo=UTC)
    try:
        return at.astimezone(UTC)
    except OverflowError:
        return EARLIEST if at.year == 1 else LATEST
