"""/api/v1/jobs: progress and results of background work."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from voxhub.accounts.deps import CurrentPrincipal
from voxhub.api.deps import SessionDep
from voxhub.jobs import service
from voxhub.jobs.schemas import JobRead

router = APIRouter(prefix="/api/v1/jobs", tags=["jobs"])


@router.get("", response_model=list[JobRead])
async def list_jobs(
    session: SessionDep, p: CurrentPrincipal, limit: Annotated[int, Query(ge=1, le=100)] = 50
) -> list[JobRead]:
    """Your most recent jobs."""
    return [JobRead.model_validate(j) for j in await service.list_jobs(session, p, limit)]


@router.get("/{job_id}", response_model=JobRead)
async def get_job(job_id: str, session: SessionDep, p: CurrentPrincipal) -> JobRead:
    """A job's status, progress, steps and, when done, its result (e.g. where the audio is)."""
    return JobRead.model_validate(await service.get_job(session, job_id, p))
