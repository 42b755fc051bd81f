"""/api/v1/credits (the caller's balance, ledger and estimates) and /api/v1/admin/credits."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from voxhub.accounts.deps import AdminPrincipal, CurrentPrincipal, client_ip
from voxhub.api.deps import ContainerDep, SessionDep
from voxhub.credits import service
from voxhub.credits.schemas import (
    CreditsRead,
    EntryPage,
    EstimateRead,
    EstimateRequest,
    GrantRead,
    GrantRequest,
)

router = APIRouter(tags=["credits"])


@router.get("/api/v1/credits", response_model=CreditsRead)
async def get_credits(session: SessionDep, p: CurrentPrincipal) -> CreditsRead:
    """Your available balance, the credits held for unfinished work, and recent entries."""
    return await service.overview(session, p)


@router.get("/api/v1/credits/ledger", response_model=EntryPage)
async def get_ledger(
    session: SessionDep,
    p: CurrentPrincipal,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> EntryPage:
    """Your ledger, newest first; pass `next_cursor` back as `cursor` for the next page."""
    return await service.ledger_page(session, p, limit, cursor)


@router.post("/api/v1/credits/estimate", response_model=EstimateRead)
async def estimate(
    body: EstimateRequest, c: ContainerDep, session: SessionDep, p: CurrentPrincipal
) -> EstimateRead:
    """What a request would cost (speech: per started 1,000 spoken characters), and whether
    your balance covers it. Nothing is held."""
    return await service.estimate(c, session, body, p)


@router.post("/api/v1/admin/credits", response_model=GrantRead, tags=["admin"])
async def grant(
    body: GrantRequest, request: Request, session: SessionDep, p: AdminPrincipal
) -> GrantRead:
    """Grant credits to a user (positive `amount`) or correct their balance (negative; 409
    `balance_would_go_negative` if it would go below 0). Audited."""
    return await service.admin_grant(session, body, p, client_ip(request))
