"""Every change of a job's state, each one transaction, each one event.

A transition is one conditional UPDATE of the job row (the `where` says from which states, and
for a worker's writes, that it still holds the lease). The UPDATE comes first in its transaction,
so it takes the row (PostgreSQL) or the write lock (SQLite) before anything is read; it also
numbers the event. Whatever goes with the change (the ledger, the webhook outbox) is written in
the same transaction, so a job is captured or released exactly once, when it ends.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from voxhub.accounts.models import User
from voxhub.core.clock import utcnow
from voxhub.credits import ledger
from voxhub.jobs.endings import record_ending
from voxhub.jobs.models import FINAL, RETRYABLE, Job, JobEvent, JobStatus
from voxhub.webhooks.outbox import add_delivery

Sessions = async_sessionmaker[AsyncSession]


class LeaseLost(Exception):
    """This worker no longer holds the job: its lease expired and the job moved on."""


class JobCancelled(Exception):
    """The job's owner cancelled it; the handler stops at this step boundary."""


class OwnerAtLimit(Exception):
    """The job's owner already has as many jobs running as allowed; it stays queued."""


def snapshot(job: Job) -> dict[str, Any]:
    """What an event says of the job: enough for a client to redraw it."""
    return {
        "status": job.status,
        "progress": job.progress,
        "steps": job.steps,
        "attempts": job.attempts,
        "error": job.error,
        "result": job.result,
    }


async def transition(
    session: AsyncSession,
    job_id: str,
    where: list[ColumnElement[bool]],
    values: dict[str, Any],
    event: str,
) -> Job | None:
    """Apply `values` to the job if `where` holds, and record the event; None if it did not."""
    now = utcnow()
    seq = await session.scalar(
        update(Job)
        .where(Job.id == job_id, *where)
        .values(**values, event_seq=Job.event_seq + 1, updated_at=now)
        .returning(Job.event_seq)
        .execution_options(synchronize_session=False)
    )
    if seq is None:
        return None
    job = await session.get(Job, job_id, populate_existing=True)
    assert job is not None
    session.add(JobEvent(job_id=job_id, seq=seq, type=event, data=snapshot(job), created_at=now))
    return job


async def settle(session: AsyncSession, job: Job) -> None:
    """What a final state means for the owner's credits and the job's webhook."""
    if job.owner_id and job.cost:
        move = ledger.capture if job.status == JobStatus.succeeded else ledger.release
        await move(session, job.owner_id, job.id, job.billing_round, job.cost, job.kind)
    add_delivery(session, job)
    record_ending(session, job)


def lapsed(now: datetime) -> ColumnElement[bool]:
    """The lease ran out (a running row with no lease is one a pre-lease version left)."""
    return or_(Job.lease_expires_at.is_(None), Job.lease_expires_at < now)


def _held_by(worker_id: str) -> list[ColumnElement[bool]]:
    return [Job.status == JobStatus.running, Job.lease_owner == worker_id]


_NO_LEASE: dict[str, Any] = {"lease_owner": None, "lease_expires_at": None}


async def claim(
    sessions: Sessions,
    job_id: str,
    worker_id: str,
    lease_s: float,
    *,
    running_limit: int | None = None,
) -> Job | None:
    """Take the job for this worker: a due queued job, or a running one whose worker's lease
    expired with attempts left. None when it is not ours to run (finished, running elsewhere,
    cancelled, not due yet).

    With `running_limit`, raises OwnerAtLimit (and changes nothing) when the job's owner
    already has that many other jobs running."""
    now = utcnow()
    due = and_(Job.status == JobStatus.queued, or_(Job.not_before.is_(None), Job.not_before <= now))
    abandoned = and_(
        Job.status == JobStatus.running,
        lapsed(now),
        Job.attempts < Job.max_attempts,
    )
    async with sessions() as session:
        job = await transition(
            session,
            job_id,
            [or_(due, abandoned), Job.cancel_requested.is_(False)],
            {
                "status": JobStatus.running,
                "lease_owner": worker_id,
                "lease_expires_at": now + timedelta(seconds=lease_s),
                "attempts": Job.attempts + 1,
                "started_at": func.coalesce(Job.started_at, now),
                "not_before": None,
            },
            "status",
        )
        if (
            job is not None
            and job.owner_id
            and running_limit is not None
            and await _running_elsewhere(session, job) >= running_limit
        ):
            await session.rollback()
            raise OwnerAtLimit(job_id)
        await session.commit()
        return job


async def _running_elsewhere(session: AsyncSession, job: Job) -> int:
    """How many other jobs of the owner run, counted under the owner's row lock.

    The job's own row is locked first (the claim's UPDATE), then the owner's, the order every
    settle takes too (job, then the balance). Two workers claiming two jobs of one owner each
    hold their job and queue on the owner's row, so the second counts after the first commits
    (PostgreSQL's READ COMMITTED sees it; SQLite serialised them at the first UPDATE already).
    """
    await lock_owner(session, job.owner_id or "")
    n = await session.scalar(
        select(func.count())
        .select_from(Job)
        .where(
            Job.owner_id == job.owner_id,
            Job.status == JobStatus.running,
            Job.id != job.id,
        )
    )
    return n or 0


async def lock_owner(session: AsyncSession, user_id: str) -> None:
    """Take the owner's user row for the rest of the transaction (a no-op UPDATE: PostgreSQL
    locks the row, SQLite takes its write lock), so counts of their jobs stay true until commit.
    """
    await session.execute(
        update(User)
        .where(User.id == user_id)
        .values(credits=User.credits, updated_at=User.updated_at)
        .execution_options(synchronize_session=False)
    )


async def defer(sessions: Sessions, job_id: str, delay_s: float) -> None:
    """Note that a queued job's id is handed again in `delay_s` (so the sweep does not hand it
    a second time meanwhile). Not a transition: nothing about the job changed."""
    async with sessions() as session:
        await session.execute(
            update(Job)
            .where(Job.id == job_id, Job.status == JobStatus.queued)
            .values(enqueued_at=utcnow() + timedelta(seconds=delay_s))
            .execution_options(synchronize_session=False)
        )
        await session.commit()


async def renew(sessions: Sessions, job_id: str, worker_id: str, lease_s: float) -> bool:
    """The heartbeat: move the lease on. False when the job is no longer this worker's."""
    async with sessions() as session:
        res = await session.execute(
            update(Job)
            .where(Job.id == job_id, *_held_by(worker_id))
            .values(lease_expires_at=utcnow() + timedelta(seconds=lease_s))
            .execution_options(synchronize_session=False)
        )
        await session.commit()
        return getattr(res, "rowcount", 0) == 1


def _stepped(
    steps: list[Any], step: str | None, message: str, now: datetime, within: float | None = None
) -> list[Any]:
    """Mark `step` running (`within` percent done) and the steps before it done (a step named
    for the first time is added at the end)."""
    steps = [dict(s) for s in steps]
    if step is None:
        return steps
    names = [s["name"] for s in steps]
    if step not in names:
        steps.append({"name": step, "status": "pending", "progress": 0, "message": ""})
        names.append(step)
    at = names.index(step)
    stamp = now.isoformat()
    for i, s in enumerate(steps):
        if i < at and s["status"] != "completed":
            s.update(status="completed", progress=100, completed_at=stamp)
            s.setdefault("started_at", stamp)
        elif i == at:
            if s["status"] != "in_progress":
                s["started_at"] = stamp
            s.update(status="in_progress", message=message)
            if within is not None:
                s["progress"] = int(min(100.0, max(0.0, within)))
    return steps


async def record_progress(
    sessions: Sessions,
    job_id: str,
    worker_id: str,
    percent: float,
    step: str | None,
    message: str,
    step_percent: float | None = None,
) -> None:
    """Store progress (0-99) and the step. Raises JobCancelled when the owner asked to cancel
    (a step boundary is where a job stops) and LeaseLost when the job is not ours any more."""
    async with sessions() as session:
        # Read what the step update needs; the write below is fenced, so a stale read loses.
        row = (
            await session.execute(
                select(Job.steps, Job.progress, Job.cancel_requested, Job.lease_owner).where(
                    Job.id == job_id
                )
            )
        ).one_or_none()
        # End the read before writing: on SQLite a transaction that read first cannot take the
        # write lock once another writer has committed.
        await session.rollback()
        if row is None or row.lease_owner != worker_id:
            raise LeaseLost(job_id)
        if row.cancel_requested:
            raise JobCancelled(job_id)
        now = utcnow()
        steps = _stepped(row.steps, step, message, now, step_percent)
        progress = max(row.progress, min(99, int(percent)))
        if steps == row.steps and progress == row.progress:
            return
        job = await transition(
            session,
            job_id,
            [*_held_by(worker_id), Job.cancel_requested.is_(False)],
            {"steps": steps, "progress": progress},
            "progress",
        )
        if job is None:
            # The fence failed: either the job moved on without us, or its owner asked to
            # cancel it since the read above. Only the first is a lost lease.
            asked = await session.scalar(
                select(Job.cancel_requested).where(Job.id == job_id, *_held_by(worker_id))
            )
            if asked:
                raise JobCancelled(job_id)
            raise LeaseLost(job_id)
        await session.commit()


def _finished_steps(job: Job, status: str, now: datetime) -> list[Any]:
    stamp = now.isoformat()
    out = []
    for s in job.steps:
        s = dict(s)
        if status == JobStatus.succeeded:
            s.setdefault("started_at", stamp)
            if s["status"] != "completed":
                s.update(status="completed", progress=100, completed_at=stamp)
        elif s["status"] == "in_progress":
            s.update(status=status, completed_at=stamp, error=(job.error or {}).get("code"))
        out.append(s)
    return out


async def succeed_in(
    session: AsyncSession, job_id: str, worker_id: str, result: dict[str, Any]
) -> Job:
    """Mark the job succeeded inside the caller's transaction (the one that records its output),
    capturing its credits; raises LeaseLost when it is not this worker's any more."""
    now = utcnow()
    job = await transition(
        session,
        job_id,
        _held_by(worker_id),
        {
            "status": JobStatus.succeeded,
            "result": result,
            "error": None,
            "progress": 100,
            "finished_at": now,
            **_NO_LEASE,
        },
        "status",
    )
    if job is None:
        raise LeaseLost(job_id)
    job.steps = _finished_steps(job, JobStatus.succeeded, now)
    await settle(session, job)
    return job


async def succeed(sessions: Sessions, job_id: str, worker_id: str, result: dict[str, Any]) -> bool:
    """Close the job as succeeded in a transaction of its own."""
    async with sessions() as session:
        try:
            await succeed_in(session, job_id, worker_id, result)
        except LeaseLost:
            return False
        await session.commit()
        return True


async def end(
    sessions: Sessions,
    job_id: str,
    status: JobStatus,
    error: dict[str, Any],
    *,
    worker_id: str | None = None,
    where: list[ColumnElement[bool]] | None = None,
) -> Job | None:
    """Close the job as failed, dead or cancelled, releasing its hold. A worker's call is fenced
    on its lease; the sweep's and the API's pass their own `where`."""
    assert status in FINAL and status != JobStatus.succeeded
    now = utcnow()
    fence = _held_by(worker_id) if worker_id else (where or [])
    async with sessions() as session:
        job = await transition(
            session,
            job_id,
            fence,
            {"status": status, "error": error, "finished_at": now, **_NO_LEASE},
            "status",
        )
        if job is None:
            return None
        job.steps = _finished_steps(job, status, now)
        await settle(session, job)
        await session.commit()
        return job


async def requeue(
    sessions: Sessions,
    job_id: str,
    error: dict[str, Any] | None,
    *,
    delay_s: float = 0.0,
    worker_id: str | None = None,
    where: list[ColumnElement[bool]] | None = None,
    count_attempt: bool = True,
) -> Job | None:
    """Put the job back in the queue, due after `delay_s`. A hand-back on shutdown does not
    count the attempt (`count_attempt=False`): the job did nothing wrong."""
    now = utcnow()
    fence = _held_by(worker_id) if worker_id else (where or [])
    values: dict[str, Any] = {
        "status": JobStatus.queued,
        "error": error,
        "not_before": now + timedelta(seconds=delay_s) if delay_s else None,
        "enqueued_at": now + timedelta(seconds=delay_s),
        **_NO_LEASE,
    }
    if not count_attempt:
        values["attempts"] = Job.attempts - 1
    async with sessions() as session:
        job = await transition(session, job_id, fence, values, "status")
        await session.commit()
        return job


# --- The owner's side: cancel and retry, each inside the caller's transaction ---------------

CANCELLED = {"code": "cancelled", "message": "cancelled by its owner"}


async def cancel_queued_in(
    session: AsyncSession, job_id: str, where: list[ColumnElement[bool]]
) -> Job | None:
    """queued → cancelled with its hold released, in the caller's transaction; None when the
    job is not queued (or `where` excludes it). The caller commits.

    A queued job may carry `cancel_requested` already (a cancelled running job that the sweep
    or a hand-back put back in the queue): it is cancelled all the same."""
    now = utcnow()
    job = await transition(
        session,
        job_id,
        [Job.status == JobStatus.queued, *where],
        {
            "status": JobStatus.cancelled,
            "error": CANCELLED,
            "cancel_requested": True,
            "finished_at": now,
            "not_before": None,
            **_NO_LEASE,
        },
        "status",
    )
    if job is None:
        return None
    job.steps = _finished_steps(job, JobStatus.cancelled, now)
    _resnap(session, job)
    await settle(session, job)
    return job


async def request_cancel_in(
    session: AsyncSession, job_id: str, where: list[ColumnElement[bool]]
) -> Job | None:
    """Ask a running job to stop at its next step boundary (`record_progress` raises
    JobCancelled there, and the executor ends it as cancelled and releases its hold). None when
    it is not running or already asked. The caller commits."""
    return await transition(
        session,
        job_id,
        [Job.status == JobStatus.running, Job.cancel_requested.is_(False), *where],
        {"cancel_requested": True},
        "cancel_requested",
    )


def _fresh_steps(steps: list[Any]) -> list[Any]:
    return [{"name": s["name"], "status": "pending", "progress": 0, "message": ""} for s in steps]


def _resnap(session: AsyncSession, job: Job) -> None:
    """Let the event this transaction just added show the job as it now is (steps fixed up in
    Python after the UPDATE, which had to come first to take the lock)."""
    for obj in session.new:
        if isinstance(obj, JobEvent) and obj.job_id == job.id and obj.seq == job.event_seq:
            obj.data = snapshot(job)


async def retry_in(
    session: AsyncSession, job_id: str, where: list[ColumnElement[bool]]
) -> Job | None:
    """failed, dead or cancelled → queued again, as a new billing round with its attempts and
    steps reset; None when the job is not in one of those states. The caller holds the cost for
    the new round (`ledger.hold(..., job.billing_round, ...)`), commits, then submits the id."""
    now = utcnow()
    job = await transition(
        session,
        job_id,
        [Job.status.in_(RETRYABLE), *where],
        {
            "status": JobStatus.queued,
            "billing_round": Job.billing_round + 1,
            "attempts": 0,
            "progress": 0,
            "error": None,
            "result": None,
            "cancel_requested": False,
            "started_at": None,
            "finished_at": None,
            "not_before": None,
            "enqueued_at": now,
            **_NO_LEASE,
        },
        "status",
    )
    if job is None:
        return None
    job.steps = _fresh_steps(job.steps)
    _resnap(session, job)
    return job
