"""Job use cases on the API side: create (inside the caller's transaction), read, list, cancel,
retry."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, func, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from voxhub.accounts.principal import Principal
from voxhub.core.clock import utcnow
from voxhub.core.errors import JobLimitReached, JobNotFound, JobStateConflict
from voxhub.core.ids import new_id
from voxhub.core.pagination import as_utc
from voxhub.credits import ledger
from voxhub.db.pages import newest_first
from voxhub.jobs import lifecycle
from voxhub.jobs.lifecycle import snapshot
from voxhub.jobs.models import FINAL, Job, JobEvent, JobStatus

if TYPE_CHECKING:
    from voxhub.jobs.queue import JobQueue

# What a refused submission's Retry-After says: queued jobs drain at the pace of the workers,
# which nobody here can predict; half a minute is a polite first guess.
QUEUED_LIMIT_RETRY_AFTER_S = 30


async def check_queued_limit(
    session: AsyncSession, owner_id: str, limit: int, *, besides: str | None = None
) -> None:
    """JobLimitReached when the owner already has `limit` jobs queued (`besides` not counted).

    The count is taken under the owner's row lock, held until the caller commits, so of two
    concurrent submissions at the limit the second counts the first's job (PostgreSQL) or waits
    for its write lock (SQLite) and is refused.
    """
    await lifecycle.lock_owner(session, owner_id)
    stmt = (
        select(func.count())
        .select_from(Job)
        .where(Job.owner_id == owner_id, Job.status == JobStatus.queued)
    )
    if besides is not None:
        stmt = stmt.where(Job.id != besides)
    queued = await session.scalar(stmt) or 0
    if queued >= limit:
        raise JobLimitReached(
            f"you already have {queued} jobs waiting (at most {limit}); try again when some "
            "have run",
            retry_after=QUEUED_LIMIT_RETRY_AFTER_S,
            limit=limit,
        )


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
    queued_limit: int | None = None,
) -> Job:
    """Add a queued job to the caller's transaction, holding `cost` credits from its owner
    (InsufficientCredits when they cannot pay; JobLimitReached when `queued_limit` of theirs
    are queued already); submit its id to the queue after commit."""
    if owner_id and queued_limit is not None:
        await check_queued_limit(session, owner_id, queued_limit)
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


def _mine(p: Principal) -> ColumnElement[bool]:
    """Jobs `p` may act on: their own; every job for an admin (as `Principal.may_change`)."""
    return true() if p.is_admin else Job.owner_id == p.user_id


async def get_job(session: AsyncSession, job_id: str, p: Principal) -> Job:
    """A job the caller may see (others' answer exactly as a job that does not exist)."""
    job = await session.get(Job, job_id, populate_existing=True)
    if job is None or not p.may_change(job.owner_id):
        raise JobNotFound(f"no job {job_id}", job_id=job_id)
    return job


async def list_jobs(
    session: AsyncSession,
    p: Principal,
    *,
    kind: str | None = None,
    status: JobStatus | None = None,
    created_after: datetime | None = None,
    created_before: datetime | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> tuple[list[Job], str | None]:
    """A page of the caller's jobs, newest first, with the cursor of the next page.

    `created_after` is inclusive, `created_before` exclusive, so adjacent ranges never share a
    job. Times are compared in UTC (SQLite compares stored text)."""
    stmt = select(Job).where(Job.owner_id == p.user_id)
    if kind is not None:
        stmt = stmt.where(Job.kind == kind)
    if status is not None:
        stmt = stmt.where(Job.status == status)
    if created_after is not None:
        stmt = stmt.where(Job.created_at >= as_utc(created_after))
    if created_before is not None:
        stmt = stmt.where(Job.created_at < as_utc(created_before))
    return await newest_first(session, stmt, Job, limit, cursor)


async def cancel_job(session: AsyncSession, job_id: str, p: Principal) -> Job:
    """Cancel the job `job_id` for `p` and commit `session`; returns the job as it now is.

    - queued → `cancelled` at once, its credit hold released, in this one transaction: it never
      starts (a worker's claim of it finds it cancelled).
    - running → stays `running` with `cancel_requested` set and a `cancel_requested` event;
      its handler stops at its next step boundary (`JobContext.progress`) and the executor ends
      it as `cancelled`, releasing the hold. Asking again changes nothing and answers the same.
    - finished (succeeded, failed, cancelled, dead) → JobStateConflict (409), nothing written.
    - not `p`'s (admins may cancel any) or no such job → JobNotFound (404), the same answer.

    Every write is a conditional UPDATE first in its transaction (the lifecycle's rule), so a
    cancel racing the job's claim or its end is decided by whichever commits first.
    """
    mine = [_mine(p)]
    try:
        for _ in range(3):
            job = await lifecycle.cancel_queued_in(session, job_id, mine)
            if job is None:
                job = await lifecycle.request_cancel_in(session, job_id, mine)
            if job is not None:
                await session.commit()
                return job
            job = await get_job(session, job_id, p)
            if job.status in FINAL:
                raise JobStateConflict(
                    f"job {job_id} already {job.status}; there is nothing to cancel",
                    job_id=job_id,
                    job_status=job.status,
                )
            if job.status == JobStatus.running and job.cancel_requested:
                # Nothing changes; the commit stores the request's idempotency key, if any.
                await session.commit()
                return job
            # It moved between the two UPDATEs (queued → running → queued on a retry): again.
        raise JobStateConflict(f"job {job_id} is changing state; try again", job_id=job_id)
    except BaseException:
        await session.rollback()
        raise


async def retry_job(
    session: AsyncSession,
    queue: JobQueue | None,
    job_id: str,
    p: Principal,
    *,
    queued_limit: int | None = None,
) -> Job:
    """Run the failed, dead or cancelled job `job_id` again for `p`; commits `session`, then
    submits the id to `queue` (None: the caller submits it after this returns).

    In one transaction: the job goes back to `queued` with its attempts, progress, steps,
    error and result reset and `billing_round` + 1 (a new round: the ledger's unique
    (job_id, round, kind) admits the new hold, and the old round's capture or release stays as
    it was); its `cost` is held again from the owner. Refusals write nothing:
    - InsufficientCredits (402) when the balance cannot cover the cost;
    - JobLimitReached (429, retry_after) when `queued_limit` of the owner's jobs are queued;
    - JobStateConflict (409) when the job is queued, running or succeeded;
    - JobNotFound (404) when it is not `p`'s (admins may retry any) or does not exist.
    """
    try:
        job = await lifecycle.retry_in(session, job_id, [_mine(p)])
        if job is None:
            job = await get_job(session, job_id, p)
            raise JobStateConflict(
                f"job {job_id} is {job.status}; only failed, dead or cancelled jobs are retried",
                job_id=job_id,
                job_status=job.status,
            )
        if job.owner_id:
            if queued_limit is not None:
                await check_queued_limit(session, job.owner_id, queued_limit, besides=job.id)
            await ledger.hold(session, job.owner_id, job.id, job.billing_round, job.cost, job.kind)
        await session.commit()
    except BaseException:
        await session.rollback()
        raise
    if queue is not None:
        await queue.submit(job.id)
    return job
