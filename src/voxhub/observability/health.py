"""Readiness: can this process do its work? The database, the blob store and, when configured,
Redis each get a short check, run at once, each under its own timeout.

Liveness (`/health`) stays a constant answer: a slow database must not get a live process
restarted. Readiness is what a load balancer or an orchestrator uses to stop sending traffic.
A failing check names its component and the kind of failure, never the error's text (it can
carry a DSN, a host or a bucket name).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import text

if TYPE_CHECKING:
    from voxhub.container import Container

log = logging.getLogger(__name__)
CHECK_TIMEOUT_S = 2.0
# Listing a prefix no blob uses: one cheap request that fails when the store (its bucket, its
# credentials, its endpoint) is unusable.
PROBE_PREFIX = "voxhub-ready-probe/"
_INFLIGHT = "observability.ready_probes"


@dataclass(frozen=True)
class Check:
    component: str
    ok: bool
    detail: str
    seconds: float


async def check_database(c: Container) -> None:
    async with c.db.connect() as conn:
        await conn.execute(text("SELECT 1"))


async def check_blobs(c: Container) -> None:
    # The local store makes its folder on the first write; something else in its place (a
    # file, a broken mount) is a store that cannot work.
    root = getattr(c.blobs, "root", None)
    if isinstance(root, Path) and await asyncio.to_thread(_not_a_folder, root):
        raise NotADirectoryError("the blob folder is not a folder")
    await c.blobs.list(PROBE_PREFIX)


def _not_a_folder(path: Path) -> bool:
    return path.exists() and not path.is_dir()


async def check_redis(url: str, timeout_s: float = CHECK_TIMEOUT_S) -> None:
    import redis.asyncio as redis

    client = redis.Redis.from_url(url, socket_connect_timeout=timeout_s, socket_timeout=timeout_s)
    try:
        await client.ping()
    finally:
        await client.aclose()


async def _timed(
    component: str,
    probe: Callable[[], Coroutine[Any, Any, None]],
    timeout_s: float,
    inflight: dict[str, asyncio.Task[None]],
) -> Check:
    # One probe per component at a time: a store that hangs keeps its probe (a thread, for the
    # blob stores) busy past our timeout, and a new one every poll would fill the thread pool
    # that blob writes and text planning share. A later poll waits on the same probe instead.
    task = inflight.get(component)
    if task is None or task.done():
        task = asyncio.create_task(probe(), name=f"ready-{component}")
        task.add_done_callback(lambda t: t.cancelled() or t.exception())  # retrieved, not lost
        inflight[component] = task
    started = time.perf_counter()
    try:
        await asyncio.wait_for(asyncio.shield(task), timeout_s)
    except TimeoutError:
        detail = f"no answer within {timeout_s:g} s"
    except Exception as exc:
        log.warning("readiness: %s check failed", component, exc_info=True)
        detail = f"check failed ({type(exc).__name__})"
    else:
        return Check(component, True, "ok", time.perf_counter() - started)
    return Check(component, False, detail, time.perf_counter() - started)


async def readiness(c: Container, timeout_s: float = CHECK_TIMEOUT_S) -> list[Check]:
    """Every check of this process's dependencies, run concurrently."""
    probes: dict[str, Callable[[], Coroutine[Any, Any, None]]] = {
        "database": lambda: check_database(c),
        "blobs": lambda: check_blobs(c),
    }
    if url := c.settings.redis_url:
        probes["redis"] = lambda: check_redis(url, timeout_s)
    inflight: dict[str, asyncio.Task[None]] = c.extras.setdefault(_INFLIGHT, {})
    return list(
        await asyncio.gather(*(_timed(name, p, timeout_s, inflight) for name, p in probes.items()))
    )
