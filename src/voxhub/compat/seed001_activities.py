"""Seed 001's activity routes over the activities domain, in the seed's shapes.

`GET /api/my-activities?limit=` is the newest `limit` (default 50) with `totalCount` all the
caller has; the stats count seed 001's three categories, and `totalActivities` every activity
(voices and chats too). A bad `limit` is 422 `validation_error` problem+json, as every other
seed 001 query is.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from voxhub.accounts.deps import CurrentPrincipal
from voxhub.activities import service
from voxhub.activities.models import ActivityCategory
from voxhub.api.deps import SessionDep
from voxhub.compat.seed001 import Seed001Route

router = APIRouter(tags=["compat: seed 001"], route_class=Seed001Route)
MAX_LISTED = 500


class Seed001Activity(BaseModel):
    id: str
    type: str
    message: str
    timestamp: datetime
    scriptId: str | None
    characterId: str | None
    videoPath: str | None


class Seed001Activities(BaseModel):
    activities: list[Seed001Activity]
    totalCount: int
    limit: int


class Seed001ActivityStats(BaseModel):
    scriptActivities: int
    characterActivities: int
    videoActivities: int
    totalActivities: int
    lastActivityAt: datetime | None


class Seed001Cleared(BaseModel):
    message: str
    success: bool


@router.get("/api/my-activities", response_model=Seed001Activities)
async def my_activities(
    session: SessionDep,
    p: CurrentPrincipal,
    limit: Annotated[int, Query(ge=1, le=MAX_LISTED)] = 50,
) -> Seed001Activities:
    """Your activity log, newest first."""
    rows, _ = await service.list_activities(session, p.user_id, service.Filters(), limit, None)
    listed = [
        Seed001Activity(
            id=a.id,
            type=a.type,
            message=a.message,
            timestamp=a.created_at,
            scriptId=a.script_id,
            characterId=a.character_id,
            videoPath=a.video_path,
        )
        for a in rows
    ]
    total = await service.count(session, p.user_id)
    return Seed001Activities(activities=listed, totalCount=total, limit=limit)


@router.get("/api/my-activity-stats", response_model=Seed001ActivityStats)
async def my_activity_stats(session: SessionDep, p: CurrentPrincipal) -> Seed001ActivityStats:
    """How many activities you have, by category, and when the last was."""
    stats = await service.stats(session, p.user_id)
    return Seed001ActivityStats(
        scriptActivities=stats.by_category[ActivityCategory.script],
        characterActivities=stats.by_category[ActivityCategory.character],
        videoActivities=stats.by_category[ActivityCategory.video],
        totalActivities=stats.total,
        lastActivityAt=stats.last_at,
    )


@router.delete("/api/my-activities", response_model=Seed001Cleared)
async def clear_my_activities(session: SessionDep, p: CurrentPrincipal) -> Seed001Cleared:
    """Clear your activity log."""
    await service.clear(session, p.user_id)
    return Seed001Cleared(message="All activities cleared successfully", success=True)
