"""The Redis queue (streaq) against the real Redis and both databases.

Each test has a queue name of its own (and removes its keys afterwards), so parallel runs and
other tests never see each other's messages. What is checked is the row and the handler's
calls, never streaq's internals: a job runs once, however often its id is delivered; a killed
worker's job is finished by another, once; a stopping worker hands its job back unharmed.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from tests.api.conftest import make_settings
from tests.conftest import REPO, need_server, truncate_all
from voxhub.bootstrap import build_container, close_container
from voxhub.db.migrate import upgrade_to_head
from voxhub.db.session import create_engine, create_sessionmaker
from voxhub.engines.fake import FakeEngine
from voxhub.engines.registry import EngineRegistry
from voxhub.jobs import service
from voxhub.jobs.executor import Executor, Handler, JobContext
from voxhub.jobs.lifecycle import Sessions
from voxhub.jobs.models import Job, JobEvent, JobStatus
from voxhub.jobs.redis_queue import RedisQueue
from voxhub.settings import JobSettings

REDIS_URL = "redis://127.0.0.1:6379/0"
WAIT_S = 30.0


@pytest.fixture
def queue_name() -> Iterator[str]:
    import redis

    name = f"voxhub-test-{uuid.uuid4().hex[:10]}"
    try:
        with redis.Redis.from_url(REDIS_URL, socket_timeout=2) as probe:
            probe.ping()
    except redis.RedisError as exc:
        need_server(f"Redis not reachable at {REDIS_URL}: {exc}")
    yield name
    with redis.Redis.from_url(REDIS_URL) as r:
        keys = list(r.scan_iter(match=f"streaq:{name}*", count=500))
        if keys:
            r.delete(*keys)


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[Sessions]:
    engine = create_engine(database_url)
    await upgrade_to_head(engine)
    await truncate_all(database_url)
    yield create_sessionmaker(engine)
    await engine.dispose()


def job_settings(**overrides: Any) -> JobSettings:
    values: dict[str, Any] = {
        "job_lease_s": 3.0,
        "job_sweep_interval_s": 3600.0,  # off unless a test wants it: Redis alone delivers
        "job_shutdown_grace_s": 0.2,
        "job_retry_delay_s": 0.1,
    }
    return JobSettings(**(values | overrides))


class Calls:
    """Handler starts by job and by worker, across every worker of a test."""

    def __init__(self) -> None:
        self.starts: list[tuple[str, str]] = []

    def of(self, job_id: str) -> list[str]:
        return [w for j, w in self.starts if j == job_id]


class DeliveryCountingExecutor(Executor):
    """Counts every delivery of an id (each message streaq hands to `run`), claimed or not."""

    def __init__(self, *args: Any, deliveries: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deliveries = deliveries

    async def run(self, job_id: str, resubmit: Any) -> str | None:
        self._deliveries.append(job_id)
        return await super().run(job_id, resubmit)


def make_worker(
    sessions: Sessions,
    settings: JobSettings,
    queue_name: str,
    handler: Callable[[JobContext], Awaitable[dict[str, Any]]],
    name: str,
    concurrency: int = 1,
    deliveries: list[str] | None = None,
) -> RedisQueue:
    handlers: dict[str, Handler] = {"test.echo": handler}  # type: ignore[dict-item]
    worker_id = f"{name}-{uuid.uuid4().hex[:6]}"
    executor = (
        Executor(sessions, handlers, settings, worker_id)
        if deliveries is None
        else DeliveryCountingExecutor(
            sessions, handlers, settings, worker_id, deliveries=deliveries
        )
    )
    return RedisQueue(
        sessions, settings, REDIS_URL, executor, concurrency=concurrency, queue_name=queue_name
    )


async def new_job(sessions: Sessions) -> str:
    async with sessions() as session:
        job = await service.new_job(session, "test.echo", {}, None, max_attempts=3)
        await session.commit()
        return job.id


async def row(sessions: Sessions, job_id: str) -> Job:
    async with sessions() as session:
        job = await session.get(Job, job_id)
        assert job is not None
        return job


async def final_events(sessions: Sessions, job_id: str) -> list[str]:
    async with sessions() as session:
        data = await session.scalars(
            select(JobEvent.data).where(JobEvent.job_id == job_id).order_by(JobEvent.seq)
        )
        return [d["status"] for d in data if d["status"] in {"succeeded", "failed", "dead"}]


async def until(predicate: Callable[[], Awaitable[bool]], timeout: float = WAIT_S) -> None:
    async with asyncio.timeout(timeout):
        while not await predicate():
            await asyncio.sleep(0.05)


def echo(calls: Calls, gate: asyncio.Event | None = None) -> Handler:
    async def handler(ctx: JobContext) -> dict[str, Any]:
        calls.starts.append((ctx.job_id, ctx.worker_id))
        if gate is not None:
            await gate.wait()
        return {"by": ctx.worker_id}

    return handler


async def test_job_submitted_by_an_api_process_runs_once_on_a_worker(
    sessions: Sessions, queue_name: str
) -> None:
    settings = job_settings()
    calls = Calls()
    api = RedisQueue(sessions, settings, REDIS_URL, None, queue_name=queue_name)
    worker = make_worker(sessions, settings, queue_name, echo(calls), "w")
    await api.start()  # an API process: connects, runs nothing
    await worker.start()
    try:
        job_id = await new_job(sessions)
        await api.submit(job_id)
        async with asyncio.timeout(WAIT_S):
            await api.wait_idle()
        job = await row(sessions, job_id)
        assert job.status == JobStatus.succeeded
        assert job.attempts == 1
        assert calls.of(job_id) == [worker.executor.worker_id]  # type: ignore[union-attr]
        assert job.result == {"by": worker.executor.worker_id}  # type: ignore[union-attr]
        await until(lambda: _zero(api.depth()))
    finally:
        await worker.stop()
        await api.stop()


async def _zero(depth: Awaitable[int]) -> bool:
    return await depth == 0


async def test_duplicate_deliveries_run_the_job_once(sessions: Sessions, queue_name: str) -> None:
    settings = job_settings()
    calls = Calls()
    gate = asyncio.Event()
    deliveries: list[str] = []
    workers = [
        make_worker(
            sessions, settings, queue_name, echo(calls, gate), f"w{i}", 2, deliveries=deliveries
        )
        for i in range(2)
    ]
    for w in workers:
        await w.start()
    try:
        job_id = await new_job(sessions)
        for _ in range(5):  # the API, a sweep, a retry: the same id, many messages
            await workers[0].submit(job_id)
        await until(lambda: _started(calls, job_id))
        # Every duplicate reaches a worker while the job runs; none of them runs it again. (A
        # duplicate on the worker that does not hold the lease is offered again when the lease
        # would lapse, so the queue is not empty while the job runs: count deliveries instead.)
        await until(lambda: _delivered(deliveries, job_id, 5))
        await asyncio.sleep(0.5)
        gate.set()
        async with asyncio.timeout(WAIT_S):
            await workers[0].wait_idle()
        await until(lambda: _zero(workers[0].depth()))
        job = await row(sessions, job_id)
        assert job.status == JobStatus.succeeded
        assert job.attempts == 1
        assert len(calls.of(job_id)) == 1
        assert await final_events(sessions, job_id) == ["succeeded"]
    finally:
        gate.set()
        for w in workers:
            await w.stop()


async def _started(calls: Calls, job_id: str) -> bool:
    return bool(calls.of(job_id))


async def _delivered(deliveries: list[str], job_id: str, times: int) -> bool:
    return deliveries.count(job_id) >= times


@pytest.fixture
def spawn(database_url: str, tmp_path: Path) -> Iterator[Callable[[str, float], Any]]:
    procs: list[subprocess.Popen[bytes]] = []

    def start(queue_name: str, lease_s: float) -> tuple[subprocess.Popen[bytes], Path]:
        marker = tmp_path / f"doomed-{len(procs)}.txt"
        marker.touch()
        cmd = [sys.executable, "-m", "tests.jobs.redis_worker"]
        cmd += [database_url, queue_name, str(lease_s), str(marker)]
        with (tmp_path / f"doomed-{len(procs)}.log").open("wb") as log:
            proc = subprocess.Popen(cmd, cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
        procs.append(proc)
        return proc, marker

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)


async def test_killed_worker_job_is_redelivered_and_finished_once_elsewhere(
    sessions: Sessions, queue_name: str, spawn: Callable[[str, float], Any]
) -> None:
    # The doomed worker holds 4 s leases; the rescuer reclaims stream entries idle for 1 s. So
    # streaq redelivers the job while the dead worker's lease still runs (it must look again
    # when the lease lapses, not drop the message), and the sweep is off: nothing else but
    # streaq's redelivery can bring the job back.
    doomed_lease, rescuer_lease = 4.0, 1.0
    proc, marker = spawn(queue_name, doomed_lease)
    settings = job_settings(job_lease_s=rescuer_lease)
    api = RedisQueue(sessions, settings, REDIS_URL, None, queue_name=queue_name)
    job_id = await new_job(sessions)
    await api.submit(job_id)

    async def doomed_started() -> bool:
        assert proc.poll() is None, "the doomed worker exited early"
        return job_id in marker.read_text()

    await until(doomed_started)
    doomed = marker.read_text().split()[1]
    assert (await row(sessions, job_id)).lease_owner == doomed
    # A worker idle all along: no new message will arrive for it.
    calls = Calls()
    rescuer = make_worker(sessions, settings, queue_name, echo(calls), "rescuer")
    await rescuer.start()
    os.kill(proc.pid, signal.SIGKILL)  # no ack, no hand-back, no last heartbeat
    proc.wait(10)
    try:
        async with asyncio.timeout(WAIT_S):
            await rescuer.wait_idle()
        job = await row(sessions, job_id)
        assert job.status == JobStatus.succeeded
        assert job.result == {"by": rescuer.executor.worker_id}  # type: ignore[union-attr]
        assert job.attempts == 2  # the killed attempt counts: a job that kills workers dies
        assert calls.of(job_id) == [rescuer.executor.worker_id]  # type: ignore[union-attr]
        assert marker.read_text().split() == [job_id, doomed]  # started there once, never again
        assert await final_events(sessions, job_id) == ["succeeded"]
        await until(lambda: _zero(api.depth()))
    finally:
        await rescuer.stop()
        await api.stop()


async def test_stopping_worker_hands_its_job_back_and_another_runs_it(
    sessions: Sessions, queue_name: str
) -> None:
    settings = job_settings(job_shutdown_grace_s=0.3)
    calls = Calls()
    never = asyncio.Event()  # the first worker's handler would run past any grace period
    first = make_worker(sessions, settings, queue_name, echo(calls, never), "first")
    await first.start()
    job_id = await new_job(sessions)
    await first.submit(job_id)
    await until(lambda: _started(calls, job_id))

    await first.stop()
    job = await row(sessions, job_id)
    assert job.status == JobStatus.queued
    assert job.attempts == 0  # a hand-back is not the job's fault: no attempt spent
    assert job.lease_owner is None

    second = make_worker(sessions, settings, queue_name, echo(calls), "second")
    await second.start()
    try:
        async with asyncio.timeout(WAIT_S):
            await second.wait_idle()
        job = await row(sessions, job_id)
        assert job.status == JobStatus.succeeded
        assert job.attempts == 1
        assert [w.split("-")[0] for w in calls.of(job_id)] == ["first", "second"]
        assert await final_events(sessions, job_id) == ["succeeded"]
    finally:
        await second.stop()


async def test_stopping_worker_finishes_a_job_within_the_grace_period(
    sessions: Sessions, queue_name: str
) -> None:
    settings = job_settings(job_shutdown_grace_s=10.0)
    calls = Calls()
    gate = asyncio.Event()
    worker = make_worker(sessions, settings, queue_name, echo(calls, gate), "w")
    await worker.start()
    job_id = await new_job(sessions)
    await worker.submit(job_id)
    await until(lambda: _started(calls, job_id))
    stopping = asyncio.create_task(worker.stop())
    await asyncio.sleep(0.3)
    assert not stopping.done()  # waiting for the running job, not abandoning it
    gate.set()
    async with asyncio.timeout(WAIT_S):
        await stopping
    job = await row(sessions, job_id)
    assert job.status == JobStatus.succeeded
    assert job.attempts == 1
    assert len(calls.of(job_id)) == 1


async def test_retry_after_a_failure_is_delivered_again_after_its_delay(
    sessions: Sessions, queue_name: str
) -> None:
    settings = job_settings(job_retry_delay_s=0.5)
    calls = Calls()

    async def flaky(ctx: JobContext) -> dict[str, Any]:
        calls.starts.append((ctx.job_id, ctx.worker_id))
        if ctx.attempt == 1:
            raise RuntimeError("first attempt fails")
        return {"attempt": ctx.attempt}

    worker = make_worker(sessions, settings, queue_name, flaky, "w")
    await worker.start()
    try:
        job_id = await new_job(sessions)
        await worker.submit(job_id)
        async with asyncio.timeout(WAIT_S):
            await worker.wait_idle()
        job = await row(sessions, job_id)
        assert job.status == JobStatus.succeeded
        assert job.result == {"attempt": 2}
        assert len(calls.of(job_id)) == 2
    finally:
        await worker.stop()


class CountingEngine(FakeEngine):
    def __init__(self) -> None:
        super().__init__()
        self.loads = 0

    async def load(self) -> None:
        self.loads += 1


async def test_api_role_only_submits_and_the_worker_role_runs_its_jobs(
    tmp_path: Path, database_url: str, queue_name: str, speaker_encoder: object
) -> None:
    settings = make_settings(tmp_path, database_url)
    settings.redis_url = REDIS_URL
    settings.jobs.job_queue_name = queue_name
    api_engine, worker_engine = CountingEngine(), CountingEngine()
    api = await build_container(
        settings,
        engines=EngineRegistry({"fake": api_engine}, "fake"),
        speaker=speaker_encoder,  # type: ignore[arg-type]
        role="api",
    )
    await truncate_all(database_url)
    worker = await build_container(
        settings,
        engines=EngineRegistry({"fake": worker_engine}, "fake"),
        speaker=speaker_encoder,  # type: ignore[arg-type]
        role="worker",
    )
    try:
        assert isinstance(api.jobs, RedisQueue) and api.jobs.executor is None
        assert isinstance(worker.jobs, RedisQueue) and worker.jobs.executor is not None
        assert (api_engine.loads, worker_engine.loads) == (0, 1)  # the API holds no model
        async with api.sessions() as session:
            job = await service.new_job(session, "no.such.kind", {}, None)
            await session.commit()
        await api.jobs.submit(job.id)
        async with asyncio.timeout(WAIT_S):
            await api.jobs.wait_idle()
        done = await row(api.sessions, job.id)
        # Run (and failed: no handler has that kind) by the worker, never by the API process.
        assert done.status == JobStatus.failed
        assert done.error == {"code": "unknown_job_kind", "message": "no handler for no.such.kind"}
        assert done.lease_owner is None and done.attempts == 1
        async with api.sessions() as session:
            owners = await session.scalars(select(JobEvent.data).where(JobEvent.job_id == job.id))
            assert [d["status"] for d in owners] == ["queued", "running", "failed"]
    finally:
        await close_container(worker)
        await close_container(api)


async def test_an_id_that_never_reached_redis_is_handed_again_by_the_sweep(
    sessions: Sessions, queue_name: str
) -> None:
    settings = job_settings(job_sweep_interval_s=0.2, job_requeue_after_s=1.0)
    with socket.socket() as s:  # a port nothing listens on: Redis is "down" for this API
        s.bind(("127.0.0.1", 0))
        dead_port = s.getsockname()[1]
    api = RedisQueue(
        sessions, settings, f"redis://127.0.0.1:{dead_port}/0", None, queue_name=queue_name
    )
    job_id = await new_job(sessions)
    async with asyncio.timeout(10):
        await api.submit(job_id)  # logged, not raised: the job is committed, the row is queued
    calls = Calls()
    worker = make_worker(sessions, settings, queue_name, echo(calls), "w")
    await worker.start()
    try:
        async with asyncio.timeout(WAIT_S):
            await worker.wait_idle()
        job = await row(sessions, job_id)
        assert job.status == JobStatus.succeeded
        assert len(calls.of(job_id)) == 1
    finally:
        await worker.stop()
        await api.stop()


async def test_a_busy_worker_leaves_waiting_jobs_to_idle_ones(
    sessions: Sessions, queue_name: str
) -> None:
    # Long leases: a job a busy worker had prefetched would reach another only after one.
    settings = job_settings(job_lease_s=20.0)
    calls = Calls()
    gate = asyncio.Event()
    busy = make_worker(sessions, settings, queue_name, echo(calls, gate), "busy")
    await busy.start()
    idle: RedisQueue | None = None
    try:
        first, second = await new_job(sessions), await new_job(sessions)
        await busy.submit(first)
        await until(lambda: _started(calls, first))
        await busy.submit(second)
        await asyncio.sleep(0.5)  # time enough for the busy worker to read it, were it to
        idle = make_worker(sessions, settings, queue_name, echo(calls, gate), "idle")
        await idle.start()
        await until(lambda: _started(calls, second), timeout=5.0)
        assert [w.split("-")[0] for w in calls.of(second)] == ["idle"]
        assert not gate.is_set()  # the first job still holds the busy worker
        gate.set()
        async with asyncio.timeout(WAIT_S):
            await busy.wait_idle()
    finally:
        gate.set()
        await busy.stop()
        if idle is not None:
            await idle.stop()


class RedisProxy:
    """A TCP proxy to the real Redis that the test can cut (every connection closed, new ones
    refused) and restore on the same port: Redis restarting, seen from a worker."""

    def __init__(self) -> None:
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", 6379)
        self._writers |= {writer, up_writer}

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    async def cut(self) -> None:
        assert self._server is not None
        self._server.close()
        for w in list(self._writers):
            w.close()
        self._writers.clear()
        await self._server.wait_closed()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"


async def test_a_worker_takes_jobs_again_after_redis_comes_back(
    sessions: Sessions, queue_name: str
) -> None:
    proxy = RedisProxy()
    await proxy.start()
    settings = job_settings()
    calls = Calls()
    executor = Executor(sessions, {"test.echo": echo(calls)}, settings, "through-proxy")
    worker = RedisQueue(sessions, settings, proxy.url, executor, queue_name=queue_name)
    api = RedisQueue(sessions, settings, REDIS_URL, None, queue_name=queue_name)
    await worker.start()
    try:
        await asyncio.sleep(0.5)
        await proxy.cut()  # Redis "restarts": the worker's connections drop
        await asyncio.sleep(3.0)
        await proxy.start()
        by_api, by_worker = await new_job(sessions), await new_job(sessions)
        await api.submit(by_api)
        await worker.submit(by_worker)  # its sending side lost its connections too
        async with asyncio.timeout(WAIT_S):
            await api.wait_idle()
        for job_id in (by_api, by_worker):
            job = await row(sessions, job_id)
            assert job.status == JobStatus.succeeded
            assert calls.of(job_id) == ["through-proxy"]
    finally:
        await worker.stop()
        await api.stop()
        await proxy.cut()
