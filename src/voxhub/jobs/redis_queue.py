"""Scale-out queue: job ids on Redis through streaq (pinned ==7.2.0), run by `voxhub worker`s.

streaq carries one registered task, `voxhub.run_job(job_id)`, which calls `Executor.run`. The
row stays the source of truth: streaq only decides *when* an id is offered again, the row's
lease decides *who* runs it, so a duplicate or late delivery costs one failed claim.

What is left to streaq, and what is kept from it:
- Redelivery. A worker renews the stream entries of the jobs it runs every 0.9 x `idle_timeout`;
  a killed worker stops renewing, and any live worker reclaims its entries once they have been
  idle for `idle_timeout` (= `job_lease_s`, so the row's lease has lapsed by then or soon after)
  even when no new message arrives. The sweep (`sweep_forever`, run by every worker) is the
  other half: an expired lease is requeued (or buried) and its id submitted again.
- Retries, timeouts, results and signals are not streaq's: the executor counts attempts, buries
  dead jobs and times jobs out per kind (the task has no `max_tries`, no `timeout`, `ttl=0`);
  `stop()` is voxhub's graceful shutdown (streaq's signal handler is switched off so a library
  never takes SIGINT/SIGTERM from the process that hosts it).
- Task data is JSON, not pickle: whoever can write to Redis must not get to run code in workers.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from datetime import timedelta
from typing import Any

from anyio import CancelScope
from sqlalchemy import func, select
from streaq import Worker
from streaq.constants import REDIS_RUNNING_SET
from streaq.types import StreaqRetry

from voxhub.core.clock import utcnow
from voxhub.jobs import reclaim
from voxhub.jobs.executor import Executor
from voxhub.jobs.lifecycle import Sessions
from voxhub.jobs.models import Job, JobStatus
from voxhub.jobs.queue import sweep_forever
from voxhub.settings import JobSettings

log = logging.getLogger(__name__)
TASK = "voxhub.run_job"
IDLE_POLL_S = 0.1
LEASE_MARGIN_S = 0.25
SUBMIT_TIMEOUT_S = 5.0
# A reader that stopped on an error is started again after 0.5 s, doubling up to 30 s.
RESTART_MIN_S, RESTART_MAX_S = 0.5, 30.0


def _dumps(data: Any) -> str:
    # Results and failures carry exceptions; their text is all a JSON message can hold.
    return json.dumps(data, default=str)


class _StreaqWorker(Worker[None]):
    """streaq's worker without its signal handler: voxhub decides when a worker stops."""

    async def signal_handler(self, scope: CancelScope) -> None:
        return None

    async def run_consumers(self, receive: Any, *args: Any, **kwargs: Any) -> None:
        # streaq hands each consumer a clone of this stream and never closes the original,
        # which anyio reports as a leak when it is collected.
        with receive:
            await super().run_consumers(receive, *args, **kwargs)


def _worker(url: str, queue_name: str, idle_s: float, concurrency: int, wid: str | None) -> Any:
    worker = _StreaqWorker(
        redis_url=url,
        queue_name=queue_name,
        concurrency=concurrency,
        serializer=_dumps,
        deserializer=json.loads,
        idle_timeout=timedelta(seconds=idle_s),
        handle_signals=False,
        id=wid,
    )
    # No prefetching (streaq's least is one id beyond `concurrency`): a busy worker would hold
    # it, unrenewed, while a minutes-long job runs and other workers idle, until its idle
    # timeout let another take it. A worker reads an id when it has a free slot.
    worker.prefetch = concurrency
    return worker


class RedisQueue:
    """Submit job ids to Redis; when built with an executor, also run them (a worker)."""

    def __init__(
        self,
        sessions: Sessions,
        settings: JobSettings,
        redis_url: str,
        executor: Executor | None,
        *,
        concurrency: int = 1,
        queue_name: str | None = None,
    ) -> None:
        self._sessions = sessions
        self._settings = settings
        self.executor = executor
        self.queue_name = queue_name or settings.job_queue_name
        self.concurrency = concurrency
        self._url = redis_url
        # The sending side: every process that submits (API processes, workers for retries).
        self._client = self._new_client()
        self._client_task: asyncio.Task[None] | None = None
        self._client_ready: asyncio.Future[None] | None = None
        self._client_done = asyncio.Event()
        self._connect_lock = asyncio.Lock()
        # The running side, only in workers.
        self._runner: Any = None
        self._runner_task: asyncio.Task[None] | None = None
        self._running: dict[asyncio.Task[str | None], str] = {}
        self._sweep: asyncio.Task[None] | None = None
        self._accepting = False

    # -- sending ---------------------------------------------------------------------------

    def _new_client(self) -> Any:
        return _worker(self._url, self.queue_name, self._settings.job_lease_s, 1, None)

    async def _connected(self) -> Any:
        """The sending worker, connected. Its pool lives in a task of its own: coredis opens
        its connections in a task group, which must be left by the task that entered it."""
        async with self._connect_lock:
            if self._client_task is None or self._client_task.done():
                if self._client_task is not None:  # its pool ended (Redis went away): a new one
                    self._client = self._new_client()
                loop = asyncio.get_running_loop()
                self._client_ready = loop.create_future()
                self._client_done.clear()
                self._client_task = asyncio.create_task(self._hold_client(), name="redis-queue")
            assert self._client_ready is not None
            try:
                await asyncio.shield(self._client_ready)
            except Exception:
                # Forget the failed attempt, its client and pool too: the next call connects
                # with fresh ones.
                self._client_task = self._client_ready = None
                self._client = self._new_client()
                raise
        return self._client

    async def _hold_client(self) -> None:
        assert self._client_ready is not None
        try:
            async with self._client:
                self._client_ready.set_result(None)
                await self._client_done.wait()
        except BaseException as exc:
            if not self._client_ready.done():
                self._client_ready.set_exception(exc)
            if not isinstance(exc, Exception):
                raise

    async def submit(self, job_id: str, delay_s: float = 0.0) -> None:
        """Put the id on Redis. The job is committed already, so a Redis that fails or hangs
        does not fail the caller: the id is logged as lost and the sweep hands it again after
        `job_requeue_after_s` (the row says queued, whatever Redis holds)."""
        try:
            async with asyncio.timeout(SUBMIT_TIMEOUT_S):
                client = await self._connected()
                task = client.enqueue_unsafe(TASK, job_id)
                if delay_s > 0:
                    task.start(delay=timedelta(seconds=delay_s))
                await task
        except Exception as exc:
            log.warning(
                "job %s: its id did not reach Redis (%s: %s); the sweep hands it again within %g s",
                job_id,
                type(exc).__name__,
                str(exc),  # not the exception: a record kept by a handler would keep its frames
                self._settings.job_requeue_after_s + self._settings.job_sweep_interval_s,
            )

    async def ping(self) -> None:
        """Raise unless Redis answers (readiness)."""
        client = await self._connected()
        await client.redis.ping()

    async def depth(self) -> int:
        """Ids in the stream or the delayed set that no worker runs yet."""
        client = await self._connected()
        total = await client.queue_size(include_scheduled=True)
        running = await client.redis.scard(client.prefix + REDIS_RUNNING_SET)
        return max(0, int(total) - int(running))

    async def wait_idle(self) -> None:
        """Until no job is queued or running (the row is what knows; Redis may hold
        duplicates of finished ones)."""
        unfinished = select(func.count()).where(
            Job.status.in_([JobStatus.queued, JobStatus.running])
        )
        while True:
            async with self._sessions() as session:
                if not await session.scalar(unfinished):
                    return
            await asyncio.sleep(IDLE_POLL_S)

    # -- running ---------------------------------------------------------------------------

    async def start(self) -> None:
        await self._connected()
        if self.executor is None or self._runner_task is not None:
            return
        self._accepting = True
        # What stopped workers left: expired leases, ids the queue lost.
        for job_id in await reclaim.due_ids(self._sessions, self._settings.job_requeue_after_s):
            await self.submit(job_id)
        self._runner_task = asyncio.create_task(self._read_forever(), name="streaq-worker")
        self._sweep = asyncio.create_task(
            sweep_forever(self._sessions, self._settings, self), name="job-sweep"
        )

    def _new_runner(self) -> Any:
        assert self.executor is not None
        runner = _worker(
            self._url,
            self.queue_name,
            self._settings.job_lease_s,
            self.concurrency,
            self.executor.worker_id,
        )
        runner.task(name=TASK, max_tries=None, timeout=None, ttl=0, silent=True)(self._run_job)
        return runner

    async def _read_forever(self) -> None:
        """Run streaq's worker loop, and again (a fresh one: its lifespan is single-use) when it
        ends on an error, such as Redis restarting: a worker must not sit idle for good after
        its connection dropped. Running jobs are unaffected: the row holds their state."""
        delay = RESTART_MIN_S
        loop = asyncio.get_running_loop()
        while True:
            self._runner = self._new_runner()
            began = loop.time()
            try:
                await self._runner.run_async()
            except Exception as exc:
                log.error(
                    "the Redis queue's reader stopped (%s: %s); starting it again in %g s",
                    type(exc).__name__,
                    str(exc),
                    delay,
                )
            if loop.time() - began > RESTART_MAX_S:
                delay = RESTART_MIN_S  # it ran fine for a while: a new outage starts over
            await asyncio.sleep(delay)
            delay = min(delay * 2, RESTART_MAX_S)

    async def _run_job(self, job_id: str) -> str | None:
        """The streaq task. Runs the executor in a task of its own so that only `stop()` ever
        cancels it (once, which is what makes the executor hand the job back)."""
        if not self._accepting or self.executor is None:
            raise StreaqRetry(delay=0)  # stopping: offer it to another worker at once
        run = asyncio.create_task(self.executor.run(job_id, self.submit), name=f"run-{job_id}")
        self._running[run] = job_id
        try:
            await asyncio.wait({run})
        except asyncio.CancelledError:
            run.cancel()
            with CancelScope(shield=True):
                await asyncio.wait({run})
            raise
        finally:
            self._running.pop(run, None)
        if run.cancelled():
            # Handed back on shutdown (the row is queued again, its attempt not counted).
            raise StreaqRetry(delay=0)
        if (exc := run.exception()) is not None:
            log.error("job %s crashed its runner", job_id, exc_info=exc)
            return None
        status = run.result()
        if status is None and (wait := await self._live_lease_left(job_id)) is not None:
            # Running under another worker's lease that has not lapsed: this may be streaq
            # redelivering a dead worker's message before the row's lease ran out. Look again
            # just after it would lapse (a live worker renews it, and this settles then).
            raise StreaqRetry(delay=timedelta(seconds=wait + LEASE_MARGIN_S))
        return status

    async def _live_lease_left(self, job_id: str) -> float | None:
        """Seconds left on another worker's lease of this running job; None when none is live."""
        async with self._sessions() as session:
            row = (
                await session.execute(
                    select(Job.status, Job.lease_owner, Job.lease_expires_at).where(
                        Job.id == job_id
                    )
                )
            ).one_or_none()
        if row is None or row.status != JobStatus.running or row.lease_expires_at is None:
            return None
        me = self.executor.worker_id if self.executor else None
        left = (row.lease_expires_at - utcnow()).total_seconds()
        return left if left > 0 and row.lease_owner != me else None

    async def stop(self) -> None:
        """Stop taking jobs; let running ones finish for `job_shutdown_grace_s`, then hand
        them back (queued again, attempt not counted) and offer their ids to other workers."""
        self._accepting = False
        if self._sweep is not None:
            self._sweep.cancel()
            await asyncio.gather(self._sweep, return_exceptions=True)
            self._sweep = None
        if self._runner_task is not None:
            # Cancelling streaq's loop stops its reads; a running task's body is shielded by
            # streaq, so it finishes (or is handed back below) and its message is settled.
            self._runner_task.cancel()
            running = list(self._running)
            if running:
                log.info("stopping: waiting for %d running job(s)", len(running))
                _, late = await asyncio.wait(running, timeout=self._settings.job_shutdown_grace_s)
                for task in late:
                    log.info("stopping: handing job %s back", self._running.get(task))
                    task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.gather(self._runner_task, return_exceptions=True)
            self._runner_task = None
        if self._client_task is not None:
            self._client_done.set()
            await asyncio.gather(self._client_task, return_exceptions=True)
            self._client_task = None
