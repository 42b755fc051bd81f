"""Job use cases on the API side: create (inside the caller's transaction), read."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from voxhub.accounts.principal import Principal
from voxhub.core.clock import utcnow
from voxhub.core.errors import JobNotFound
from voxhub.core.ids import new_id
from voxhub.credits import ledger
from voxhub.jobs.lifecycle import snapshot
from voxhub.jobs.models import Job, JobEvent, JobStatus


async def new_job(
    session: AsyncSession,
    kind: str,
    payload: dict[str, Any],
    owner_id: str | None,
    steps: list[str] | None = None,
    *,
    cost: int = 0,
    callback_url: str | None = None,
    max_attempts: int = 3,
) -> Job:
    """Add a queued job to the caller's transaction, holding `cost` credits from its owner
    (InsufficientCredits when they cannot pay); submit its id to the queue after commit."""
    now = utcnow()
    job = Job(
        id=new_id(),
        kind=kind,
        payload=payload,
        owner_id=owner_id,
        status=JobStatus.queued,
        progress=0,
        attempts=0,
        cancel_requested=False,
        billing_round=0,
        steps=[{"name": s, "status": "pending", "progress": 0, "message": ""} for s in steps or []],
        cost=cost if owner_id else 0,
        callback_url=callback_url,
        max_attempts=max_attempts,
        enqueued_at=now,
        event_seq=1,
        created_at=now,
        updated_at=now,
    )
    if job.cost and owner_id:
        await ledger.hold(session, owner_id, job.id, 0, job.cost, kind)
    session.add(job)
    session.add(JobEvent(job_id=job.id, seq=1, type="status", data=snapshot(job), created_at=now))
    return job


async def get_job(session: AsyncSession, job_id: str, p: Principal) -> Job:
    """A job the caller may see."""
    job = await session.get(Job, job_id)
    if job is None or not p.may_change(job.owner_id):
        raise JobNotFound(f"no job {job_id}", job_id=job_id)
    return job


async def list_jobs(session: AsyncSession, p: Principal, limit: int = 50) -> list[Job]:
    """The caller's most recent jobs."""
    rows = await session.scalars(
        select(Job).where(Job.owner_id == p.user_id).order_by(Job.created_at.desc()).limit(limit)
    )
    return list(rows)
