"""The one composition root: builds what the API, the CLI and workers share (`Container`)."""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import secrets
import socket
from importlib.metadata import entry_points

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from voxhub.accounts.secrets import token_config
from voxhub.audio.speaker import SpeakerEncoder
from voxhub.container import Container, Role
from voxhub.db.migrate import upgrade_to_head
from voxhub.db.session import create_engine, create_sessionmaker
from voxhub.engines.health import EngineHealth
from voxhub.engines.registry import EngineRegistry
from voxhub.engines.relay.client import relay_registry
from voxhub.engines.relay.server import RelayServer
from voxhub.jobs.executor import Executor, Handler
from voxhub.jobs.queue import InProcessQueue, JobQueue
from voxhub.llm.factory import open_llm
from voxhub.llm.port import LLM
from voxhub.safety import Watermarker, WatermarkUnavailable, startup_watermarker
from voxhub.security.ratelimit import RateLimiter
from voxhub.settings import Settings
from voxhub.storage.base import BlobStore
from voxhub.storage.factory import open_blob_store
from voxhub.storage.sweep import start_sweep, stop_sweep
from voxhub.webhooks.delivery import start_delivery, stop_delivery

log = logging.getLogger(__name__)


async def build_container(
    settings: Settings,
    *,
    engines: EngineRegistry | None = None,
    blobs: BlobStore | None = None,
    speaker: SpeakerEncoder | None = None,
    watermarker: Watermarker | None = None,
    llm: LLM | None = None,
    run_jobs: bool = True,
    role: Role = "all",
    concurrency: int | None = None,
    worker_id: str | None = None,
) -> Container:
    """Build, migrate and start everything; tests pass fakes for the ports they replace.

    `role` says what this process does with jobs (see `Role`); `concurrency` is how many jobs
    it runs at once (default `settings.job_workers`)."""
    settings.home.mkdir(parents=True, exist_ok=True)
    tokens = token_config(settings)  # fails fast on an insecure secret, before anything starts
    # Fail closed: no process serves or makes unmarked audio. The check (seconds) runs beside
    # the migrations and the engines' loading, and is awaited before the container exists.
    marking = asyncio.ensure_future(_checked(watermarker))
    try:
        db = create_engine(settings.resolved_database_url)
        await upgrade_to_head(db)
        sessions = create_sessionmaker(db)
        speaker = speaker or SpeakerEncoder(threads=settings.engine.engine_threads)
        await asyncio.to_thread(speaker.load)  # the first upload should not pay for it
        if engines is None:
            engines = EngineRegistry.from_entry_points(
                settings.engine.engines,
                settings.engine.default_engine,
                settings.engine.engine_failover,
                EngineHealth(settings.engine.engine_down_s),
                settings=settings,
                speaker_encoder=speaker,
            )
        if role == "api" and settings.queue_backend == "redis":
            # An API machine holds no model: its jobs run on workers, and so do the enrolment and
            # speech its requests wait for, relayed over Redis.
            engines = relay_registry(engines, settings)
        elif role != "api":
            await engines.load_all()
        handlers: dict[str, Handler] = {}
        executor: Executor | None = None
        if role != "api":
            executor = Executor(sessions, handlers, settings.jobs, worker_id or worker_identity())
        jobs = make_queue(settings, sessions, executor, concurrency or settings.job_workers)
        watermarker = await marking
    except BaseException:
        marking.cancel()
        raise
    container = Container(
        settings=settings,
        db=db,
        sessions=sessions,
        blobs=blobs or await open_blob_store(settings),
        engines=engines,
        speaker=speaker,
        watermarker=watermarker,
        jobs=jobs,
        tokens=tokens,
        limiter=RateLimiter(settings),
        llm=llm or open_llm(settings.llm),  # cheap: nothing loads until the first reply
    )
    sec = settings.security
    if sec.oidc_jwks_url and sec.oidc_issuer and sec.oidc_audience:
        from voxhub.accounts.oidc import OidcVerifier

        container.extras["oidc"] = OidcVerifier(
            sec.oidc_jwks_url, sec.oidc_issuer, sec.oidc_audience
        )
    if executor is not None:
        handlers.update(job_handlers(container))
    if run_jobs:
        await jobs.start()
        if role != "worker":  # the blob sweep is the API's; workers run the job sweep
            start_sweep(container)
        # Any number of processes may deliver from the outbox (a row is leased to one sender),
        # so every process that handles jobs also sends their webhooks.
        start_delivery(container)
    # The enrolment and speech that API processes relay: served by every worker, and by an
    # all-in-one process on Redis (not by CLI commands, which run no jobs either).
    if settings.queue_backend == "redis" and (role == "worker" or (role == "all" and run_jobs)):
        relay = RelayServer(engines, settings)
        relay.start()
        container.extras["engine_relay"] = relay
    return container


async def _checked(watermarker: Watermarker | None) -> Watermarker:
    """The self-tested watermarker (the process's own unless one is given), or the reason the
    process must not start, said once in the log."""
    try:
        return await asyncio.to_thread(startup_watermarker, watermarker)
    except WatermarkUnavailable as exc:
        log.critical("voxhub refuses to start: every output must be watermarked. %s", exc)
        raise


def make_queue(
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    executor: Executor | None,
    concurrency: int,
) -> JobQueue:
    """The queue `settings.queue_backend` names; it runs jobs when given an executor."""
    if settings.queue_backend == "redis":
        if not settings.redis_url:
            raise ValueError("VOXHUB_JOB_QUEUE=redis needs VOXHUB_REDIS_URL")
        from voxhub.jobs.redis_queue import RedisQueue

        return RedisQueue(
            sessions, settings.jobs, settings.redis_url, executor, concurrency=concurrency
        )
    return InProcessQueue(sessions, settings.jobs, executor, workers=concurrency)


def worker_identity() -> str:
    """Who holds a lease: host, process and a random part (a pid can be reused)."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


def job_handlers(container: Container) -> dict[str, Handler]:
    """Every job kind's handler, found through the `voxhub.jobs` entry points (domains name
    their own kinds in pyproject.toml; nothing here imports them, so no import cycle)."""
    return {
        ep.name: functools.partial(ep.load(), container) for ep in entry_points(group="voxhub.jobs")
    }


async def close_container(container: Container) -> None:
    """Stop jobs, release engines, storage and the database pool."""
    relay = container.extras.pop("engine_relay", None)
    if isinstance(relay, RelayServer):
        relay.stop_taking()  # while the jobs' grace period runs, take no new speech either
    await container.jobs.stop()
    if isinstance(relay, RelayServer):
        await relay.stop()
    await stop_delivery(container)
    await stop_sweep(container)
    await container.limiter.aclose()
    if container.llm is not None:
        await container.llm.aclose()
    await container.engines.aclose()
    await container.blobs.aclose()
    await container.db.dispose()
