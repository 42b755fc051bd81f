"""/api/v1/admin/audit: the audit log, for admins."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict

from voxhub.accounts.deps import AdminPrincipal
from voxhub.api.deps import SessionDep
from voxhub.audit import service

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
    details: dict[str, Any]


@router.get("/audit", response_model=list[AuditEventRead])
async def list_audit(
    _: AdminPrincipal,
    session: SessionDep,
    action: Annotated[str | None, Query(max_length=64)] = None,
    actor_id: Annotated[str | None, Query(max_length=36)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[AuditEventRead]:
    """Newest audit events first, filtered by action or actor."""
    rows = await service.list_events(session, action=action, actor_id=actor_id, limit=limit)
    return [AuditEventRead.model_validate(r) for r in rows]
