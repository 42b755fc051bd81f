"""In-process job runner: worker tasks take job ids from a queue and run their handlers.

The database row is the source of truth; this queue only carries ids, so a Redis-backed queue
can replace it without touching handlers. On start-up it requeues what a dead process left.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from voxhub.core.errors import VoxhubError
from voxhub.jobs import service
from voxhub.jobs.errors import PermanentJobError
from voxhub.jobs.models import JobStatus

log = logging.getLogger(__name__)
UNEXPECTED = "the job failed on an unexpected error (logged on the server)"


@dataclass
class JobContext:
    """What a handler gets: its job's id and payload, and a way to report progress."""

    job_id: str
    payload: dict[str, Any]
    attempt: int
    sessions: async_sessionmaker[AsyncSession]
    owner_id: str | None = None

    async def progress(self, percent: float, step: str | None = None, message: str = "") -> None:
        """Record progress (0-100) on the job row."""
        await service.record_progress(self.sessions, self.job_id, percent, step, message)


Handler = Callable[[JobContext], Awaitable[dict[str, Any]]]


class JobRunner:
    """Runs jobs in this process, `workers` at a time, off the request path."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        handlers: dict[str, Handler],
        workers: int = 1,
        retry_delay: float = 1.0,
    ) -> None:
        self._sessions = sessions
        self._handlers = handlers
        self._workers = workers
        self._retry_delay = retry_delay
        self._queue: asyncio.Queue[str] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self._active = 0
        self._idle = asyncio.Event()
        self._idle.set()

    def register(self, kind: str, handler: Handler) -> None:
        """Add a handler for jobs of `kind`."""
        self._handlers[kind] = handler

    async def start(self) -> None:
        """Requeue leftovers and start the workers."""
        for job_id in await service.recoverable_ids(self._sessions):
            self.submit(job_id)
        self._tasks = [
            asyncio.create_task(self._work(), name=f"job-worker-{i}") for i in range(self._workers)
        ]

    def submit(self, job_id: str) -> None:
        """Hand a committed, queued job to the workers."""
        self._idle.clear()
        self._queue.put_nowait(job_id)

    async def wait_idle(self) -> None:
        """Wait until the queue is empty and no job runs (tests, shutdown)."""
        await self._idle.wait()

    async def stop(self) -> None:
        """Stop the workers; running jobs are requeued by the next start."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []

    async def _work(self) -> None:
        while True:
            job_id = await self._queue.get()
            self._active += 1
            try:
                await self._run_one(job_id)
            except Exception:
                log.exception("job %s crashed the runner loop", job_id)
            finally:
                self._active -= 1
                if not self._active and self._queue.empty():
                    self._idle.set()

    async def _run_one(self, job_id: str) -> None:
        job = await service.claim(self._sessions, job_id)
        if job is None:
            return
        handler = self._handlers.get(job.kind)
        if handler is None:
            await service.finish(
                self._sessions,
                job_id,
                JobStatus.failed,
                error={"code": "unknown_job_kind", "message": f"no handler for {job.kind}"},
            )
            return
        ctx = JobContext(job_id, dict(job.payload), job.attempts, self._sessions, job.owner_id)
        try:
            result = await handler(ctx)
        except (PermanentJobError, VoxhubError) as exc:
            code = getattr(exc, "code", "job_failed")
            await service.finish(
                self._sessions,
                job_id,
                JobStatus.failed,
                error={"code": code, "message": str(exc)},
            )
        except Exception:
            # An unexpected failure's text (a library's, a driver's) is for the log, not the
            # job's owner: it can name files, queries and internals.
            log.exception("job %s (%s) failed on attempt %d", job_id, job.kind, job.attempts)
            if job.attempts < job.max_attempts:
                await service.finish(
                    self._sessions,
                    job_id,
                    JobStatus.queued,
                    error={"code": "retrying", "message": UNEXPECTED + "; it will be retried"},
                )
                await asyncio.sleep(self._retry_delay * job.attempts)
                self.submit(job_id)
            else:
                await service.finish(
                    self._sessions,
                    job_id,
                    JobStatus.failed,
                    error={"code": "job_failed", "message": UNEXPECTED},
                )
        else:
            await service.finish(self._sessions, job_id, JobStatus.succeeded, result=result)
