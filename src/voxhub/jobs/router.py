"""/api/v1/jobs: progress and results of background work."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from voxhub.api.deps import OwnerId, SessionDep
from voxhub.jobs import service
from voxhub.jobs.schemas import JobRead

router = APIRouter(prefix="/api/v1/jobs", tags=["jobs"])


@router.get("", response_model=list[JobRead])
async def list_jobs(
    session: SessionDep, owner: OwnerId, limit: Annotated[int, Query(ge=1, le=100)] = 50
) -> list[JobRead]:
    """Your most recent jobs."""
    return [JobRead.model_validate(j) for j in await service.list_jobs(session, owner, limit)]


@router.get("/{job_id}", response_model=JobRead)
async def get_job(job_id: str, session: SessionDep, owner: OwnerId) -> JobRead:
    """A job's status, progress, steps and, when done, its result (e.g. where the audio is)."""
    return JobRead.model_validate(await service.get_job(session, job_id, owner))
