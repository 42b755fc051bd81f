"""The worker side of the relay: take requests from API processes, run them on this process's
loaded engines, and push the replies back as they are made (see `wire` for the keys).

Relayed requests are interactive (someone waits for the first byte), so they are not jobs: no
row, no retry. A worker serves `engine_relay_slots` of them at once beside its jobs; the engine
itself bounds how much computes at once. A request is at most once: a worker that dies while
serving one leaves the API to report the failure after `engine_relay_idle_s`, and the client
decides whether to ask again.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import suppress

import redis.asyncio as redis

from voxhub.core.errors import EngineUnavailable, VoxhubError
from voxhub.engines.base import ForgettingEngine
from voxhub.engines.registry import EngineRegistry
from voxhub.engines.relay import wire
from voxhub.settings import Settings

log = logging.getLogger(__name__)

POLL_S = 1  # a free slot's blocking pop returns this often, so stopping is prompt
_REPLY_TTL_S = 120  # replies nobody reads (their API died) vanish after this


class RelayServer:
    """Serves relayed enrolment, speech and forgetting from `engines` until stopped."""

    def __init__(self, engines: EngineRegistry, settings: Settings) -> None:
        if not settings.redis_url:
            raise ValueError("serving relayed requests needs VOXHUB_REDIS_URL")
        self._engines = engines
        self._keys = wire.Keys(settings.jobs.job_queue_name)
        self._redis = redis.Redis.from_url(settings.redis_url, socket_timeout=POLL_S + 10)
        self._slots = settings.engine.engine_relay_slots
        self._grace_s = settings.jobs.job_shutdown_grace_s
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = asyncio.Event()

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._slot(), name=f"engine-relay-{i}") for i in range(self._slots)
        ]

    def stop_taking(self) -> None:
        """Take no more requests (those being served go on); `stop` waits for them."""
        self._stopping.set()

    async def stop(self) -> None:
        """Take no more requests; let the ones being served finish within the grace period."""
        self._stopping.set()
        if self._tasks:
            _, late = await asyncio.wait(self._tasks, timeout=self._grace_s + POLL_S + 1)
            for task in late:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._redis.aclose()

    async def _slot(self) -> None:
        backoff = 0.5
        while not self._stopping.is_set():
            try:
                popped = await self._redis.brpop([self._keys.queue], timeout=POLL_S)
                backoff = 0.5
            except redis.RedisError as exc:
                log.warning("relay: cannot read requests (%s); again in %.1f s", exc, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 30.0)
                continue
            if popped is None:
                continue
            rid = _text(popped[1])
            try:
                await self.serve(rid)
            except redis.RedisError as exc:  # Redis went away mid-request: the API gives up
                log.warning("relay: request %s lost with Redis (%s)", rid, exc)
            except Exception:
                log.exception("relay: request %s failed outside its engine", rid)

    async def serve(self, rid: str) -> None:
        """Take request `rid` if its API still waits, run it and push every reply."""
        request = await self._redis.getdel(self._keys.request(rid))
        if not isinstance(request, bytes):
            return  # its API gave up (or died) before anyone took it
        reply = self._keys.reply(rid)
        await self._push(reply, wire.ACCEPTED)  # the API now waits for pieces, not for a taker
        try:
            header, tail = await asyncio.to_thread(wire.unpack, request)  # maybe megabytes
            engine = self._engines.get(header.get("engine"))
            if header["op"] == "enroll":
                profile = await engine.enroll(wire.reference_of(header, tail))
                await self._push(reply, wire.profile_reply(profile))
            elif header["op"] == "synthesize":
                voice = wire.profile_of(header["voice"], tail)
                pieces = engine.synthesize(str(header["text"]), voice, wire.params_of(header))
                try:
                    async for chunk in pieces:
                        if await self._redis.delete(self._keys.cancel(rid)):
                            log.info("relay: request %s cancelled by its client", rid)
                            return
                        await self._push(reply, wire.chunk_reply(chunk))
                finally:  # a cancelled request stops the engine now, not when collected
                    close = getattr(pieces, "aclose", None)
                    if close is not None:
                        await close()
            elif header["op"] == "forget":
                # A worker whose engine keeps nothing at a provider has nothing to delete.
                if isinstance(engine, ForgettingEngine):
                    await engine.forget(wire.profile_of(header["voice"], tail))
            else:
                raise ValueError(f"unknown relay operation {header['op']!r}")
        except asyncio.CancelledError:
            await asyncio.shield(
                self._push_quietly(reply, wire.error_reply(EngineUnavailable("the worker stopped")))
            )
            raise
        except redis.RedisError:
            raise
        except Exception as exc:
            if not isinstance(exc, VoxhubError):
                log.exception("relay: engine failed on request %s", rid)
            await self._push(reply, wire.error_reply(exc))
            return
        await self._push(reply, wire.END)

    async def _push(self, key: str, message: bytes) -> None:
        async with self._redis.pipeline(transaction=True) as tx:
            tx.rpush(key, message)
            tx.expire(key, _REPLY_TTL_S)
            await tx.execute()

    async def _push_quietly(self, key: str, message: bytes) -> None:
        with suppress(redis.RedisError):
            await self._push(key, message)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
