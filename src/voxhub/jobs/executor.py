"""Running one job, the same way whichever queue delivered its id.

Delivery is at least once, so `run` starts from the row: it claims the job (a lease), and a job
that finished, runs elsewhere or was cancelled is left alone. While the handler works, a
heartbeat renews the lease; if the lease is lost the handler is stopped and nothing it would
write lands (every write is fenced on the lease). The outcome is one transition: succeeded,
failed (retrying cannot help), queued again (with attempts left), dead (out of attempts),
cancelled, or handed back unharmed on shutdown. An engine that is unavailable for now (a
provider's 429 or 5xx, an engine timeout) is retried too, after the wait it asked for; out of
attempts that job is failed on the engine's error.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from voxhub.core.clock import utcnow
from voxhub.core.errors import EngineTimeout, EngineUnavailable, VoxhubError
from voxhub.jobs import lifecycle
from voxhub.jobs.errors import PermanentJobError
from voxhub.jobs.lifecycle import JobCancelled, LeaseLost, OwnerAtLimit, Sessions
from voxhub.jobs.models import Job, JobStatus
from voxhub.observability import metrics
from voxhub.observability.logs import job_logging
from voxhub.settings import JobSettings

log = logging.getLogger(__name__)
UNEXPECTED = "the job failed on an unexpected error (logged on the server)"
CANCELLED = lifecycle.CANCELLED
# How long a job whose owner is at the running limit waits before it is looked at again.
OWNER_BUSY_DELAY_S = 1.0


@dataclass
class JobContext:
    """What a handler gets: its job's id and payload, and a way to report progress."""

    job_id: str
    payload: dict[str, Any]
    attempt: int
    sessions: Sessions
    owner_id: str | None = None
    worker_id: str = ""
    # Set once the handler committed its success with its output (see `succeed_in`).
    settled: bool = field(default=False, repr=False)

    async def progress(
        self,
        percent: float,
        step: str | None = None,
        message: str = "",
        step_percent: float | None = None,
    ) -> None:
        """Record progress (0-100), the step now running and how far into it (0-100). A step
        boundary is where a job stops: this raises JobCancelled when its owner cancelled it."""
        await lifecycle.record_progress(
            self.sessions, self.job_id, self.worker_id, percent, step, message, step_percent
        )

    async def succeed_in(self, session: AsyncSession, result: dict[str, Any]) -> None:
        """Mark the job succeeded in `session`, the transaction that records its output, so the
        output, the job's success and its credits commit together. The caller commits."""
        await lifecycle.succeed_in(session, self.job_id, self.worker_id, result)
        self.settled = True


Handler = Callable[[JobContext], Coroutine[Any, Any, dict[str, Any]]]
# How the executor asks its queue to deliver a job id again, after a delay in seconds.
Resubmit = Callable[[str, float], Awaitable[None]]


class Executor:
    """Runs jobs by id for one worker identity."""

    def __init__(
        self,
        sessions: Sessions,
        handlers: dict[str, Handler],
        settings: JobSettings,
        worker_id: str,
    ) -> None:
        self.sessions = sessions
        self.handlers = handlers
        self.settings = settings
        self.worker_id = worker_id

    def timeout_for(self, kind: str) -> float:
        return self.settings.job_timeouts.get(kind, self.settings.job_default_timeout_s)

    async def run(self, job_id: str, resubmit: Resubmit) -> str | None:
        """Run the job if it is ours to run; returns the status it ended in (None: not ours)."""
        with job_logging(job_id):  # every record logged for it (and by its tasks) names it
            return await self._run(job_id, resubmit)

    async def _run(self, job_id: str, resubmit: Resubmit) -> str | None:
        s = self.settings
        try:
            job = await lifecycle.claim(
                self.sessions,
                job_id,
                self.worker_id,
                s.job_lease_s,
                running_limit=s.jobs_running_per_user,
            )
        except OwnerAtLimit:
            # Its owner already runs their share: leave it queued, untouched (no attempt
            # counted), and look again shortly; the sweep would hand it again anyway.
            await lifecycle.defer(self.sessions, job_id, OWNER_BUSY_DELAY_S)
            await resubmit(job_id, OWNER_BUSY_DELAY_S)
            return None
        if job is None:
            return None
        metrics.job_claimed(job.kind, job.enqueued_at or job.created_at, utcnow())
        handler = self.handlers.get(job.kind)
        if handler is None:
            error = {"code": "unknown_job_kind", "message": f"no handler for {job.kind}"}
            metrics.job_failed(job.kind, error["code"])
            await lifecycle.end(
                self.sessions, job_id, JobStatus.failed, error, worker_id=self.worker_id
            )
            return JobStatus.failed
        ctx = JobContext(
            job_id,
            dict(job.payload),
            job.attempts,
            self.sessions,
            job.owner_id,
            self.worker_id,
        )
        work = asyncio.create_task(handler(ctx), name=f"job-{job_id}")
        beat = asyncio.create_task(self._heartbeat(job_id, work), name=f"lease-{job_id}")
        started = time.perf_counter()
        try:
            status = await self._outcome(job, ctx, work, resubmit)
            metrics.job_ended(job.kind, status, time.perf_counter() - started)
            return status
        finally:
            beat.cancel()
            await asyncio.gather(beat, return_exceptions=True)

    async def _outcome(
        self, job: Job, ctx: JobContext, work: asyncio.Task[dict[str, Any]], resubmit: Resubmit
    ) -> str | None:
        job_id, sessions, me = job.id, self.sessions, self.worker_id
        try:
            result = await asyncio.wait_for(work, self.timeout_for(job.kind))
        except asyncio.CancelledError:
            running = asyncio.current_task()
            if running is None or not running.cancelling():
                # The heartbeat stopped the handler: the lease is lost, the job is not ours.
                log.warning("job %s: lease lost; another worker owns it now", job_id)
                return None
            # This worker is shutting down past its grace period: stop the handler and hand
            # the job back without counting the attempt.
            work.cancel()
            await asyncio.gather(work, return_exceptions=True)
            await self._requeue(job_id, None, count_attempt=False)
            raise
        except LeaseLost:
            log.warning("job %s: lease lost; another worker owns it now", job_id)
            return None
        except JobCancelled:
            await lifecycle.end(sessions, job_id, JobStatus.cancelled, CANCELLED, worker_id=me)
            return JobStatus.cancelled
        except TimeoutError:
            log.warning("job %s (%s) timed out on attempt %d", job_id, job.kind, job.attempts)
            error = {"code": "job_timeout", "message": "the job ran past its time limit"}
            return await self._retry_or_bury(job, error, resubmit)
        except (EngineUnavailable, EngineTimeout) as exc:
            # A provider that refused for now (429, 5xx, nothing listening) or did not answer in
            # time may well answer a later attempt, after the wait it asked for; out of
            # attempts, the job failed on that error (it did not lose its worker: not dead).
            log.warning("job %s (%s) attempt %d: %s", job_id, job.kind, job.attempts, exc)
            return await self._retry_or_bury(
                job, _failure(exc), resubmit, delay_s=_retry_after(exc), last=JobStatus.failed
            )
        except (PermanentJobError, VoxhubError) as exc:
            failure = _failure(exc)
            metrics.job_failed(job.kind, failure["code"])
            await lifecycle.end(sessions, job_id, JobStatus.failed, failure, worker_id=me)
            return JobStatus.failed
        except Exception:
            # An unexpected failure's text (a library's, a driver's) is for the log, not the
            # job's owner: it can name files, queries and internals.
            log.exception("job %s (%s) failed on attempt %d", job_id, job.kind, job.attempts)
            error = {"code": "job_failed", "message": UNEXPECTED}
            return await self._retry_or_bury(job, error, resubmit)
        if not ctx.settled and not await lifecycle.succeed(sessions, job_id, me, result):
            log.warning("job %s finished after its lease was lost; result dropped", job_id)
            return None
        return JobStatus.succeeded

    async def _retry_or_bury(
        self,
        job: Job,
        error: dict[str, Any],
        resubmit: Resubmit,
        *,
        delay_s: float | None = None,
        last: JobStatus = JobStatus.dead,
    ) -> str | None:
        """Queue the job again after `delay_s` (default: a delay growing with the attempts)
        while it has attempts left, else end it as `last`."""
        me = self.worker_id
        metrics.job_failed(job.kind, error["code"])
        if job.attempts < job.max_attempts:
            delay = self.settings.job_retry_delay_s * job.attempts if delay_s is None else delay_s
            retrying = {
                **error,
                "code": "retrying",
                "message": error["message"] + "; retrying",
                "cause": error["code"],  # what the next attempt will have to get past
            }
            again = await self._requeue(job.id, retrying, delay_s=delay)
            if again is None:
                return None
            if again.status == JobStatus.cancelled:
                return JobStatus.cancelled
            await resubmit(job.id, delay)
            return JobStatus.queued
        ended = await lifecycle.end(self.sessions, job.id, last, error, worker_id=me)
        return last if ended else None

    async def _requeue(self, job_id: str, error: dict[str, Any] | None, **kw: Any) -> Job | None:
        """Put the job back in the queue; if its owner cancelled it while it ran (no step
        boundary came), end it cancelled instead: a worker's claim skips a job whose cancel was
        requested, so it would wait in the queue forever."""
        job = await lifecycle.requeue(self.sessions, job_id, error, worker_id=self.worker_id, **kw)
        if job is None or not job.cancel_requested:
            return job
        async with self.sessions() as session:
            cancelled = await lifecycle.cancel_queued_in(
                session, job_id, [Job.cancel_requested.is_(True)]
            )
            await session.commit()
        return cancelled

    async def _heartbeat(self, job_id: str, work: asyncio.Task[Any]) -> None:
        """Renew the lease every third of it; stop the handler once the job is not ours."""
        lease = self.settings.job_lease_s
        while not work.done():
            await asyncio.sleep(lease / 3)
            try:
                ours = await lifecycle.renew(self.sessions, job_id, self.worker_id, lease)
            except Exception:
                log.exception("job %s: heartbeat failed; trying again", job_id)
                continue
            if not ours:
                log.warning("job %s: lease lost; stopping its handler", job_id)
                work.cancel(msg="lease lost")
                return


def _retry_after(exc: VoxhubError) -> float | None:
    """The wait the error asks for (a provider's Retry-After), if it names one."""
    value = exc.extra.get("retry_after")
    try:
        return max(0.0, float(value)) if value is not None else None
    except (TypeError, ValueError):
        return None


def _failure(exc: PermanentJobError | VoxhubError) -> dict[str, Any]:
    """A failed job's error: its code, message and what it names (a line's index, a field)."""
    error: dict[str, Any] = {"code": getattr(exc, "code", "job_failed"), "message": str(exc)}
    if exc.extra:
        error["details"] = exc.extra
    return error
