"""The API side of the relay: engines whose work runs on a worker (see `wire` for the keys).

`RelayedEngine` stands in for an engine the API process has not loaded: it has the real
engine's `info` (read without loading it), and `enroll`, `synthesize` and (for an engine that
keeps voices at a provider) `forget` send the request to whichever worker is free, then hand
back what it replies: a profile, audio chunks as the worker produces them (so streaming speech
starts as soon as the worker's first piece exists), or just the end.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any

import anyio
import redis.asyncio as redis

from voxhub.core.errors import EngineFailure, EngineUnavailable
from voxhub.engines.base import (
    AudioChunk,
    Engine,
    EngineInfo,
    ForgettingEngine,
    ProgressCallback,
    Reference,
    RefiningEngine,
    SynthesisParams,
    VoiceProfile,
)
from voxhub.engines.registry import EngineRegistry
from voxhub.engines.relay import wire
from voxhub.settings import Settings

log = logging.getLogger(__name__)

_CANCEL_TTL_S = 300  # longer than any one piece of audio takes
_MARGIN_S = 2.0
_CLEANUP_S = 2.0
# Redis refuses values over 512 MiB; a request this large (minutes of reference audio times
# many references) is refused here with a clear error instead.
MAX_REQUEST_BYTES = 256 << 20


class RelayClient:
    """Sends requests to the workers of one deployment and reads their replies in order."""

    def __init__(self, url: str, name: str, wait_s: float, idle_s: float) -> None:
        # A blocking pop holds its connection up to `idle_s`: the socket must outwait it.
        self._redis = redis.Redis.from_url(url, socket_timeout=max(wait_s, idle_s) + 10)
        self._keys = wire.Keys(name)
        self._wait_s = wait_s
        self._idle_s = idle_s

    async def call(self, request: bytes) -> AsyncGenerator[tuple[dict[str, Any], bytes], None]:
        """Yield the replies to `request` up to its end; a reported error is raised as itself."""
        if len(request) > MAX_REQUEST_BYTES:
            raise EngineFailure(
                f"the request is {len(request) >> 20} MiB; at most "
                f"{MAX_REQUEST_BYTES >> 20} MiB go to a worker"
            )
        rid = secrets.token_hex(12)
        keys, r = self._keys, self._redis
        finished = False
        try:
            async with r.pipeline(transaction=True) as tx:
                # The request outlives our wait by a margin, so that on giving up we find it
                # (and it is ours) unless a worker took it; if we die, it expires soon after.
                tx.set(keys.request(rid), request, px=int((self._wait_s + _MARGIN_S) * 1000))
                tx.lpush(keys.queue, rid)
                await tx.execute()
        except redis.RedisError as exc:
            raise EngineUnavailable("the workers cannot be reached (Redis)") from exc
        try:
            taken = False
            while True:
                reply = await self._next(rid, self._idle_s if taken else self._wait_s)
                if reply is None:
                    if taken:
                        raise EngineFailure(f"the worker stopped answering for {self._idle_s:g} s")
                    if await self._give_up(rid):
                        finished = True  # nobody has it, nobody will: nothing to cancel
                        raise EngineUnavailable(
                            f"no worker took the request within {self._wait_s:g} s "
                            "(all busy, or none running)"
                        )
                    # Gone already: a worker took it just now (its "accepted" is on the way),
                    # or it expired while we stalled (nothing will come).
                    reply = await self._next(rid, _MARGIN_S)
                    if reply is None:
                        finished = True
                        raise EngineUnavailable("no worker accepted the request")
                taken = True
                header, tail = wire.unpack(reply)
                kind = header.get("t")
                if kind == "accepted":
                    continue
                if kind == "end":
                    finished = True
                    return
                if kind == "error":
                    finished = True
                    raise wire.error_of(header)
                yield header, tail
        finally:
            # Shielded: a client that hung up cancels this task, and the cancellation would
            # otherwise hit these awaits too, leaving the worker speaking for nobody.
            with anyio.CancelScope(shield=True), anyio.move_on_after(_CLEANUP_S):
                if not finished:
                    await self._abandon(rid)
                await self._forget(rid)

    async def _next(self, rid: str, timeout_s: float) -> bytes | None:
        try:
            popped = await self._redis.blpop([self._keys.reply(rid)], timeout=timeout_s)
        except redis.RedisError as exc:
            raise EngineUnavailable("the workers cannot be reached (Redis)") from exc
        if popped is None:
            return None
        value = popped[1]
        return value if isinstance(value, bytes) else value.encode()

    async def _give_up(self, rid: str) -> bool:
        """True when no worker had taken the request (now nobody will); False when one had."""
        try:
            async with self._redis.pipeline(transaction=True) as tx:
                tx.delete(self._keys.request(rid))
                tx.lrem(self._keys.queue, 1, rid)  # so no worker pops a dead id later
                deleted, _ = await tx.execute()
            return bool(deleted)
        except redis.RedisError as exc:
            raise EngineUnavailable("the workers cannot be reached (Redis)") from exc

    async def _abandon(self, rid: str) -> None:
        """Our caller went away (a client hung up mid-stream): tell the worker to stop."""
        try:
            async with self._redis.pipeline(transaction=False) as p:
                p.delete(self._keys.request(rid))  # not taken yet: it never starts
                p.set(self._keys.cancel(rid), 1, ex=_CANCEL_TTL_S)
                await p.execute()
        except redis.RedisError:
            log.warning("could not cancel relayed request %s; its worker finishes it", rid)

    async def _forget(self, rid: str) -> None:
        with contextlib.suppress(redis.RedisError):  # else the reply list expires by itself
            await self._redis.delete(self._keys.reply(rid))

    async def aclose(self) -> None:
        await self._redis.aclose()


class RelayedEngine:
    """An engine that runs on the workers; this process holds no model for it."""

    def __init__(
        self, info: EngineInfo, client: RelayClient, replaces: Engine | None = None
    ) -> None:
        self.info = info
        self._client = client
        # The engine this stands in for, never loaded here, but built: it may hold what its
        # constructor opened (a remote engine's connection pool), released with this.
        self._replaces = replaces

    async def load(self) -> None:
        """Nothing to load here: the workers load the model."""

    async def enroll(self, reference: Reference) -> VoiceProfile:
        request = await asyncio.to_thread(wire.enroll_request, self.info.name, reference)
        profile = None
        async with contextlib.aclosing(self._client.call(request)) as replies:
            async for header, tail in replies:  # to the end, so the call closes as finished
                if header.get("t") == "profile":
                    profile = wire.profile_of(header, tail)
        if profile is None:
            raise EngineFailure("the worker ended without a profile")
        return profile

    async def synthesize(
        self, text: str, voice: VoiceProfile, params: SynthesisParams
    ) -> AsyncIterator[AudioChunk]:
        request = wire.synthesize_request(self.info.name, text, voice, params)
        # Closed with us: a listener that stops early cancels the worker's work at once.
        async with contextlib.aclosing(self._client.call(request)) as replies:
            async for header, tail in replies:
                if header.get("t") == "chunk":
                    yield wire.chunk_of(header, tail)

    async def aclose(self) -> None:
        try:
            await self._client.aclose()
        finally:
            if self._replaces is not None:
                await self._replaces.aclose()


class _Forgetting(RelayedEngine):
    """A relayed engine that keeps voices at a provider: deleting one there runs on a worker,
    which holds the provider's client and key."""

    async def forget(self, voice: VoiceProfile) -> None:
        request = wire.forget_request(self.info.name, voice)
        async with contextlib.aclosing(self._client.call(request)) as replies:
            async for _ in replies:  # nothing but the end comes back (or the error, raised)
                pass


class RelayedRefiningEngine(RelayedEngine):
    """A relayed engine that refines profiles: refinement is queued as a job, which a worker
    runs with its own engine, so this side only has to say that it can."""

    async def refine(
        self, reference: Reference, profile: VoiceProfile, progress: ProgressCallback
    ) -> VoiceProfile:
        raise EngineUnavailable("refinement runs as a job on a worker, not in the API process")


class RelayedForgettingEngine(_Forgetting):
    """A relayed engine whose `forget` deletes the voice at its provider (through a worker)."""


class RelayedRefiningForgettingEngine(RelayedRefiningEngine, _Forgetting):
    """Both: refines (as a job) and forgets (through a worker)."""


def relayed(engine: Engine, settings: Settings) -> RelayedEngine:
    """A stand-in for `engine` (not loaded) that relays its work to the workers."""
    if not settings.redis_url:
        raise ValueError("relaying engines to workers needs VOXHUB_REDIS_URL")
    es = settings.engine
    client = RelayClient(
        settings.redis_url,
        settings.jobs.job_queue_name,
        es.engine_relay_wait_s,
        es.engine_relay_idle_s,
    )
    # Each stand-in offers exactly the optional parts the real engine has, so `isinstance`
    # checks (may it refine? does it keep voices elsewhere?) answer here as they would there.
    refines = isinstance(engine, RefiningEngine)
    forgets = isinstance(engine, ForgettingEngine)
    cls: type[RelayedEngine] = {
        (False, False): RelayedEngine,
        (True, False): RelayedRefiningEngine,
        (False, True): RelayedForgettingEngine,
        (True, True): RelayedRefiningForgettingEngine,
    }[refines, forgets]
    return cls(engine.info, client, replaces=engine)


def relay_registry(local: EngineRegistry, settings: Settings) -> EngineRegistry:
    """The same engines, by the same names, run on the workers instead of in this process;
    closing it closes the engines it replaced too."""
    return EngineRegistry(
        {e.info.name: relayed(e, settings) for e in local.all()},
        local.default,
        local.failover,
        local.health,
    )
