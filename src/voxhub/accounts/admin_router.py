"""/api/v1/admin/users: account management, for admins."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request

from voxhub.accounts import admin
from voxhub.accounts.deps import AdminPrincipal, client_ip
from voxhub.accounts.schemas import UserAdminRead, UserAdminUpdate
from voxhub.api.deps import SessionDep

router = APIRouter(prefix="/api/v1/admin/users", tags=["admin"])


@router.get("", response_model=list[UserAdminRead])
async def list_users(
    _: AdminPrincipal,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> list[UserAdminRead]:
    """Every account, oldest first."""
    users = await admin.list_users(session, limit=limit, offset=offset)
    return [UserAdminRead.model_validate(u) for u in users]


@router.patch("/{user_id}", response_model=UserAdminRead)
async def update_user(
    user_id: Annotated[str, Path(max_length=64)],
    body: UserAdminUpdate,
    p: AdminPrincipal,
    request: Request,
    session: SessionDep,
) -> UserAdminRead:
    """Disable an account (every session ends at once, its API keys stop working) or enable it."""
    user = await admin.set_disabled(
        session, user_id, body.disabled, actor_id=p.user_id, ip=client_ip(request)
    )
    return UserAdminRead.model_validate(user)
