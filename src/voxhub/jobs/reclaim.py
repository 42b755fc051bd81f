"""The job sweep: what dead workers and lost queue messages leave behind.

- A running job whose lease expired lost its worker (killed, frozen, partitioned). With attempts
  left it is queued again; without, it is `dead`, its hold released; if its owner asked to cancel
  it meanwhile, it is cancelled.
- A queued job that no worker picked up for `job_requeue_after_s` (its id was lost with the
  process that enqueued it, or with the queue) is handed to the queue again. A duplicate id costs
  one failed claim: the row decides who runs a job, never the queue.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import or_, select, update

from voxhub.core.clock import utcnow
from voxhub.jobs import lifecycle
from voxhub.jobs.lifecycle import Sessions, lapsed
from voxhub.jobs.models import Job, JobStatus

WORKER_LOST = {
    "code": "worker_lost",
    "message": "the job's worker stopped on every attempt (killed, out of memory or timed out)",
}
CANCELLED = {"code": "cancelled", "message": "cancelled by its owner"}
RETRY_LOST = {"code": "retrying", "message": "the job's worker stopped; it will be retried"}


async def expire_leases(sessions: Sessions, now: datetime | None = None) -> list[str]:
    """Requeue or bury the jobs whose lease expired; returns the ids queued again."""
    now = now or utcnow()
    async with sessions() as session:
        rows = (
            await session.execute(
                select(Job.id, Job.attempts, Job.max_attempts, Job.cancel_requested).where(
                    Job.status == JobStatus.running, lapsed(now)
                )
            )
        ).all()
    expired = [Job.status == JobStatus.running, lapsed(now)]
    again = []
    for job_id, attempts, max_attempts, cancel_requested in rows:
        if cancel_requested:  # its owner cancelled it while it ran: it stops here
            await lifecycle.end(sessions, job_id, JobStatus.cancelled, CANCELLED, where=expired)
        elif attempts >= max_attempts:
            await lifecycle.end(sessions, job_id, JobStatus.dead, WORKER_LOST, where=expired)
        elif await lifecycle.requeue(sessions, job_id, RETRY_LOST, where=expired):
            again.append(job_id)
    return again


async def lost_ids(
    sessions: Sessions, requeue_after_s: float, now: datetime | None = None
) -> list[str]:
    """Queued, due jobs not handed to the queue for `requeue_after_s`; marked handed now."""
    now = now or utcnow()
    stale = now - timedelta(seconds=requeue_after_s)
    lost = [
        Job.status == JobStatus.queued,
        Job.cancel_requested.is_(False),
        or_(Job.enqueued_at.is_(None), Job.enqueued_at < stale),
        or_(Job.not_before.is_(None), Job.not_before <= now),
    ]
    async with sessions() as session:
        ids = list(
            await session.scalars(
                update(Job)
                .where(*lost)
                .values(enqueued_at=now)
                .returning(Job.id)
                .execution_options(synchronize_session=False)
            )
        )
        await session.commit()
    return ids


async def due_ids(sessions: Sessions, requeue_after_s: float) -> list[str]:
    """One pass of the sweep: every id the queue should be handed now."""
    again = await expire_leases(sessions)
    lost = await lost_ids(sessions, requeue_after_s)
    return list(dict.fromkeys(again + lost))
