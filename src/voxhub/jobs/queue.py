"""Queues carry job ids to executors; the row decides everything else.

Two implementations: `InProcessQueue` (embedded mode: an asyncio queue in the API process) and
`RedisQueue` in `voxhub.jobs.redis_queue` (scale-out: streaq on Redis, workers anywhere). Both
run the same `Executor` and the same sweep, so leases, retries, dead jobs and cancellation mean
the same thing in both modes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Protocol

from voxhub.credits.stale import release_stale_holds
from voxhub.jobs import reclaim
from voxhub.jobs.executor import Executor
from voxhub.jobs.lifecycle import Sessions
from voxhub.settings import JobSettings

log = logging.getLogger(__name__)


class JobQueue(Protocol):
    """What the rest of voxhub needs from a queue."""

    async def submit(self, job_id: str, delay_s: float = 0.0) -> None:
        """Hand a committed job's id to the workers (after `delay_s`)."""

    async def start(self) -> None:
        """Connect, and run jobs when this process is a worker."""

    async def stop(self) -> None:
        """Stop taking jobs; finish running ones within the grace period, hand back the rest."""

    async def wait_idle(self) -> None:
        """Wait until nothing this queue knows of is waiting or running (tests, benchmarks)."""

    async def depth(self) -> int:
        """Ids waiting to be run (for metrics)."""


async def sweep_forever(sessions: Sessions, settings: JobSettings, queue: JobQueue) -> None:
    """Every `job_sweep_interval_s`: requeue what dead workers and lost messages left."""
    while True:
        await asyncio.sleep(settings.job_sweep_interval_s)
        try:
            for job_id in await reclaim.due_ids(sessions, settings.job_requeue_after_s):
                await queue.submit(job_id)
        except Exception:
            log.exception("job sweep failed; trying again next interval")
        try:  # holds of synchronous speech whose process died before settling them
            await release_stale_holds(sessions)
        except Exception:
            log.exception("stale credit hold sweep failed; trying again next interval")


class InProcessQueue:
    """Embedded mode: `workers` tasks in this process take ids from an asyncio queue."""

    def __init__(
        self,
        sessions: Sessions,
        settings: JobSettings,
        executor: Executor | None,
        workers: int = 1,
    ) -> None:
        self._sessions = sessions
        self._settings = settings
        self.executor = executor
        self._workers = workers
        self._queue: asyncio.Queue[str] = asyncio.Queue()
        self._waiting: set[str] = set()  # ids in the queue, so a duplicate is not queued twice
        self._timers: set[asyncio.TimerHandle] = set()
        self._tasks: list[asyncio.Task[None]] = []
        self._running: dict[str, asyncio.Task[str | None]] = {}
        self._idle = asyncio.Event()
        self._idle.set()
        self._accepting = False

    async def submit(self, job_id: str, delay_s: float = 0.0) -> None:
        if delay_s > 0:
            self._idle.clear()
            loop = asyncio.get_running_loop()
            timer: asyncio.TimerHandle | None = None

            def fire() -> None:
                assert timer is not None
                self._put_later(timer, job_id)

            timer = loop.call_later(delay_s, fire)
            self._timers.add(timer)
            return
        self._put(job_id)

    def _put_later(self, timer: asyncio.TimerHandle, job_id: str) -> None:
        self._timers.discard(timer)
        self._put(job_id)

    def _put(self, job_id: str) -> None:
        if job_id in self._waiting or self.executor is None:
            self._check_idle()
            return
        self._idle.clear()
        self._waiting.add(job_id)
        self._queue.put_nowait(job_id)

    async def start(self) -> None:
        if self.executor is None or self._tasks:
            return
        self._accepting = True
        # What a stopped process left: expired leases and every due queued job, at once.
        await reclaim.expire_leases(self._sessions)
        for job_id in await reclaim.lost_ids(self._sessions, 0.0):
            self._put(job_id)
        self._tasks = [
            asyncio.create_task(self._work(), name=f"job-worker-{i}") for i in range(self._workers)
        ]
        self._tasks.append(
            asyncio.create_task(
                sweep_forever(self._sessions, self._settings, self), name="job-sweep"
            )
        )

    async def wait_idle(self) -> None:
        await self._idle.wait()

    async def depth(self) -> int:
        return self._queue.qsize()

    async def stop(self) -> None:
        self._accepting = False
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()
        workers, self._tasks = self._tasks, []
        for task in workers:
            if task.get_name() == "job-sweep":
                task.cancel()
        running = list(self._running.values())
        if running:
            # Finish what runs within the grace period; the rest is handed back by the executor.
            await asyncio.wait(running, timeout=self._settings.job_shutdown_grace_s)
        for task in workers:
            task.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        while not self._queue.empty():
            self._queue.get_nowait()
        self._waiting.clear()
        self._idle.set()

    async def _work(self) -> None:
        assert self.executor is not None
        while True:
            job_id = await self._queue.get()
            self._waiting.discard(job_id)
            if not self._accepting:
                continue
            run = asyncio.create_task(self.executor.run(job_id, self.submit))
            self._running[job_id] = run
            try:
                with contextlib.suppress(Exception):
                    await asyncio.shield(run)
                if run.done() and not run.cancelled() and run.exception() is not None:
                    log.error("job %s crashed the runner", job_id, exc_info=run.exception())
            except asyncio.CancelledError:
                run.cancel()
                await asyncio.gather(run, return_exceptions=True)
                raise
            finally:
                self._running.pop(job_id, None)
                self._check_idle()

    def _check_idle(self) -> None:
        if not self._running and self._queue.empty() and not self._timers:
            self._idle.set()
