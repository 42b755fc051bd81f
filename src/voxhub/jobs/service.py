"""Job use cases: create (inside the caller's transaction), read, and record progress."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from voxhub.accounts.principal import Principal
from voxhub.core.clock import utcnow
from voxhub.core.errors import JobNotFound
from voxhub.jobs.models import Job, JobStatus


def new_job(
    session: AsyncSession,
    kind: str,
    payload: dict[str, Any],
    owner_id: str | None,
    steps: list[str] | None = None,
) -> Job:
    """Add a queued job to the caller's transaction; submit its id to the runner after commit."""
    job = Job(
        kind=kind,
        payload=payload,
        owner_id=owner_id,
        status=JobStatus.queued,
        steps=[{"name": s, "status": "pending", "progress": 0, "message": ""} for s in steps or []],
    )
    session.add(job)
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


async def record_progress(
    sessions: async_sessionmaker[AsyncSession],
    job_id: str,
    progress: float,
    step: str | None,
    message: str,
) -> None:
    """Store progress (0-100) and mark `step` running, the steps before it done."""
    async with sessions() as session:
        job = await session.get(Job, job_id)
        if job is None:
            return
        steps = [dict(s) for s in job.steps]
        if step is not None:
            names = [s["name"] for s in steps]
            if step not in names:
                steps.append({"name": step, "status": "pending", "progress": 0, "message": ""})
                names.append(step)
            at = names.index(step)
            for i, s in enumerate(steps):
                if i < at:
                    s.update(status="completed", progress=100)
                elif i == at:
                    s.update(status="in_progress", message=message)
        job.steps = steps
        job.progress = max(job.progress, min(99, int(progress)))
        job.updated_at = utcnow()
        await session.commit()


async def finish(
    sessions: async_sessionmaker[AsyncSession],
    job_id: str,
    status: JobStatus,
    *,
    result: dict[str, Any] | None = None,
    error: dict[str, Any] | None = None,
) -> None:
    """Close a job as succeeded or failed, or put it back in the queue for a retry."""
    async with sessions() as session:
        job = await session.get(Job, job_id)
        if job is None:
            return
        now = utcnow()
        job.status = status
        job.error = error
        job.updated_at = now
        if status == JobStatus.succeeded:
            job.result = result
            job.progress = 100
            job.steps = [{**s, "status": "completed", "progress": 100} for s in job.steps]
        if status in (JobStatus.succeeded, JobStatus.failed):
            job.finished_at = now
        await session.commit()


async def claim(sessions: async_sessionmaker[AsyncSession], job_id: str) -> Job | None:
    """Atomically move a queued job to running; None if another runner got it first."""
    async with sessions() as session:
        now = utcnow()
        res = await session.execute(
            update(Job)
            .where(Job.id == job_id, Job.status == JobStatus.queued)
            .values(
                status=JobStatus.running, attempts=Job.attempts + 1, started_at=now, updated_at=now
            )
        )
        await session.commit()
        if getattr(res, "rowcount", 0) != 1:
            return None
        return await session.get(Job, job_id)


async def recoverable_ids(sessions: async_sessionmaker[AsyncSession]) -> list[str]:
    """Jobs a dead process left queued or running, requeued, oldest first."""
    async with sessions() as session:
        await session.execute(
            update(Job).where(Job.status == JobStatus.running).values(status=JobStatus.queued)
        )
        await session.commit()
        ids = await session.scalars(
            select(Job.id).where(Job.status == JobStatus.queued).order_by(Job.created_at)
        )
        return list(ids)
