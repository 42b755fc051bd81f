"""What a request or a job is handed: the process's shared parts, built by `bootstrap`.

Domains import `Container` from here, never from the composition root, so that building the
container (which starts webhook delivery, sweeps and queues from those domains) imports no
domain that imports it back. Nothing here is imported at run time for the same reason."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

    from voxhub.accounts.tokens import TokenConfig
    from voxhub.audio.speaker import SpeakerEncoder
    from voxhub.engines.registry import EngineRegistry
    from voxhub.jobs.queue import JobQueue
    from voxhub.llm.port import LLM
    from voxhub.safety.watermark import Watermarker
    from voxhub.security.ratelimit import RateLimiter
    from voxhub.settings import Settings
    from voxhub.storage.base import BlobStore

# What a process does with jobs: "all" runs the API and its jobs (embedded mode, or one process
# on Redis); "api" only submits them and loads no engine (scale-out API machines); "worker"
# loads the engines and runs jobs (`voxhub worker`).
Role = Literal["all", "api", "worker"]


@dataclass
class Container:
    """Everything a request or a job needs, built once per process."""

    settings: Settings
    db: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    blobs: BlobStore
    engines: EngineRegistry
    speaker: SpeakerEncoder
    # Marks every audio voxhub emits (voxhub.safety): checked at start-up, never absent.
    watermarker: Watermarker
    jobs: JobQueue
    tokens: TokenConfig
    limiter: RateLimiter
    # Not loaded when built: the embedded model loads on first use (503 until it is ready).
    llm: LLM | None = None
    extras: dict[str, Any] = field(default_factory=dict)
