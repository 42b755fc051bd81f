"""/api/v1/admin/audit: the audit log, for admins."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import AwareDatetime, BaseModel, ConfigDict

from voxhub.accounts.deps import AdminPrincipal
from voxhub.api.deps import SessionDep
from voxhub.audit import service
from voxhub.audit.service import Outcome

router = APIRouter(prefix="/api/v1/admin", tags=["admin"])


class AuditEventRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    created_at: datetime
    actor_id: str | None
    action: str
    target_type: str | None
    target_id: str | None
    ip: str | None
    outcome: str
    details: dict[str, Any]


class AuditPage(BaseModel):
    items: list[AuditEventRead]
    next_cursor: str | None


@router.get("/audit", response_model=AuditPage)
async def list_audit(
    _: AdminPrincipal,
    session: SessionDep,
    action: Annotated[str | None, Query(max_length=64)] = None,
    actor_id: Annotated[str | None, Query(max_length=36)] = None,
    target_type: Annotated[str | None, Query(max_length=32)] = None,
    target_id: Annotated[str | None, Query(max_length=64)] = None,
    ip: Annotated[str | None, Query(max_length=64)] = None,
    outcome: Outcome | None = None,
    created_after: Annotated[
        AwareDatetime | None, Query(description="At or after (with a UTC offset)")
    ] = None,
    created_before: Annotated[
        AwareDatetime | None, Query(description="Before (with a UTC offset)")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> AuditPage:
    """Newest audit events first, filtered by what was done (`action`), who did it (`actor_id`,
    `ip`), to what (`target_type`, `target_id`), how it ended (`outcome`) and when; paginated by
    cursor."""
    rows, next_cursor = await service.list_events(
        session,
        action=action,
        actor_id=actor_id,
        target_type=target_type,
        target_id=target_id,
        ip=ip,
        outcome=outcome,
        created_after=created_after,
        created_before=created_before,
        limit=limit,
        cursor=cursor,
    )
    return AuditPage(
        items=[AuditEventRead.model_validate(r) for r in rows], next_cursor=next_cursor
    )
