"""/api/v1/activities: the caller's own activity log, newest first, and clearing it."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from voxhub.accounts.deps import CurrentPrincipal
from voxhub.activities import service
from voxhub.activities.models import ActivityCategory, ActivityType
from voxhub.activities.schemas import ActivitiesCleared, ActivityPage, ActivityRead, in_utc
from voxhub.api.deps import SessionDep

router = APIRouter(prefix="/api/v1/activities", tags=["activities"])
Id = Annotated[str | None, Query(max_length=36)]


@router.get("", response_model=ActivityPage)
async def list_activities(
    session: SessionDep,
    p: CurrentPrincipal,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
    types: Annotated[
        list[ActivityType] | None,
        Query(alias="type", description="Only these types (repeat the parameter for several)"),
    ] = None,
    category: Annotated[ActivityCategory | None, Query()] = None,
    since: Annotated[datetime | None, Query(description="From this time (inclusive)")] = None,
    until: Annotated[datetime | None, Query(description="Before this time")] = None,
    script_id: Id = None,
    character_id: Id = None,
) -> ActivityPage:
    """What you did, newest first, paginated by cursor; filters combine (all must hold)."""
    filters = service.Filters(
        types=tuple(types or ()),
        category=category,
        since=in_utc(since),
        until=in_utc(until),
        script_id=script_id,
        character_id=character_id,
    )
    rows, nxt = await service.list_activities(session, p.user_id, filters, limit, cursor)
    return ActivityPage(items=[ActivityRead.model_validate(a) for a in rows], next_cursor=nxt)


@router.delete("", response_model=ActivitiesCleared)
async def clear_activities(session: SessionDep, p: CurrentPrincipal) -> ActivitiesCleared:
    """Clear your activity log (only yours); how many activities it held."""
    return ActivitiesCleared(deleted=await service.clear(session, p.user_id))
