"""Chunked speech: bytes leave as each sentence is rendered; the whole is recorded at the end."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator

from voxhub.audio.encode import StreamEncoder
from voxhub.container import Container
from voxhub.observability import metrics
from voxhub.synthesis.service import (
    Rendered,
    SpeechPlan,
    capture_delivered,
    record,
    release,
)

log = logging.getLogger(__name__)
CACHED_CHUNK = 32 * 1024


async def stream_plan(c: Container, plan: SpeechPlan) -> AsyncGenerator[bytes, None]:
    """Encode chunks as the engine yields them; no database session is held meanwhile."""
    rate = plan.engine.info.sample_rate
    encoder = StreamEncoder(plan.format, rate, plan.sample_rate)
    sent: list[bytes] = []
    samples_out = 0
    started = mark = time.perf_counter()
    waited = 0.0  # on the engine only: not encoding, not a slow client reading
    chunks = plan.engine.synthesize(plan.text, plan.profile, plan.params)
    try:
        async for chunk in chunks:
            waited += time.perf_counter() - mark
            samples_out += len(chunk.samples)
            data = await asyncio.to_thread(encoder.feed, chunk.samples)
            if data:
                if not sent:
                    metrics.first_audio(plan.engine.info.name, time.perf_counter() - started)
                sent.append(data)
                yield data
            mark = time.perf_counter()
    finally:  # a client that hung up stops the engine now (a relayed one: on its worker)
        close = getattr(chunks, "aclose", None)
        if close is not None:
            await close()
    engine_seconds = time.perf_counter() - started
    metrics.engine_rendered(plan.engine.info.name, waited, samples_out / rate)
    tail = await asyncio.to_thread(encoder.finish)
    if tail:
        sent.append(tail)
        yield tail
    # Only a stream that ran to the end is worth keeping (a cut one is not the requested audio).
    out = Rendered(b"".join(sent), samples_out / rate, engine_seconds)
    try:
        async with c.sessions() as session:
            await record(c, session, plan, out, "stream")
    except Exception:
        log.exception("could not record streamed generation for voice %s", plan.voice_id)


async def stream_bytes(data: bytes) -> AsyncIterator[bytes]:
    """A stored result, re-sent in chunks."""
    for start in range(0, len(data), CACHED_CHUNK):
        yield data[start : start + CACHED_CHUNK]


async def paid_stream(c: Container, plan: SpeechPlan) -> AsyncGenerator[bytes, None]:
    """`stream_plan` for a plan whose credits are reserved: captured when the generation is
    recorded (in its commit), released when the stream does not run to its end (the engine
    failed, the client went away)."""
    delivered = False
    stream = stream_plan(c, plan)
    try:
        async for data in stream:
            yield data
        delivered = True
    finally:
        await stream.aclose()  # at once, so the engine stops before the credits come back
        if not delivered:
            await release(c, plan)
    # The whole audio went out: it is paid even if recording it failed.
    await capture_delivered(c, plan)


async def primed(stream: AsyncGenerator[bytes, None]) -> AsyncGenerator[bytes, None]:
    """`stream` with its first piece already made, before any response is sent: an engine that
    fails before its first audio (no worker free, a voice it cannot use) is then answered as
    an error with its status, not as a 200 whose body breaks off."""
    try:
        first = await anext(stream)
    except StopAsyncIteration:
        first = b""

    async def rest() -> AsyncGenerator[bytes, None]:
        try:
            if first:
                yield first
            async for data in stream:
                yield data
        finally:
            await stream.aclose()

    return rest()
