"""/api/v1/engines: what this deployment can speak with."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter

from voxhub.accounts.deps import CurrentPrincipal
from voxhub.api.deps import ContainerDep

router = APIRouter(prefix="/api/v1/engines", tags=["engines"])


@router.get("")
async def list_engines(_: CurrentPrincipal, c: ContainerDep) -> list[dict[str, Any]]:
    """Enabled engines, default first, with what each supports (signed in, like all of /api/v1)."""
    return [asdict(e.info) | {"default": e.info.name == c.engines.default} for e in c.engines.all()]
