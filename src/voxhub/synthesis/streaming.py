"""Chunked speech: bytes leave as each sentence is rendered; the whole is recorded at the end."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass

import numpy as np
from sqlalchemy.ext.asyncio import AsyncSession

from voxhub.accounts.principal import Principal
from voxhub.audio.encode import FORMATS, StreamEncoder
from voxhub.container import Container
from voxhub.observability import metrics
from voxhub.safety.marking import generated_headers, output_tags
from voxhub.synthesis.holds import capture_delivered, release, reserve
from voxhub.synthesis.pauses import spoken_chunks
from voxhub.synthesis.schemas import SpeechRequest
from voxhub.synthesis.service import (
    Rendered,
    SpeechPlan,
    plan_speech,
    record,
)

log = logging.getLogger(__name__)
CACHED_CHUNK = 32 * 1024


async def stream_plan(c: Container, plan: SpeechPlan) -> AsyncGenerator[bytes, None]:
    """Encode chunks as the engine yields them; no database session is held meanwhile."""
    rate = plan.engine.info.sample_rate
    encoder = StreamEncoder(plan.format, rate, plan.sample_rate, output_tags(plan.generation_id))
    watermarker = c.watermarker

    def marked_bytes(samples: np.ndarray) -> bytes:
        # Each chunk is marked on its own (a 1 s excerpt still detects, so a cut stream does).
        return encoder.feed(watermarker.apply(samples, rate))

    sent: list[bytes] = []
    samples_out = 0
    started = mark = time.perf_counter()
    waited = 0.0  # on the engine only: not encoding, not a slow client reading
    chunks = spoken_chunks(plan.engine, plan.text, plan.profile, plan.params, plan.health)
    try:
        async for chunk in chunks:
            waited += time.perf_counter() - mark
            samples_out += len(chunk.samples)
            plan.clock.note(chunk)
            data = await asyncio.to_thread(marked_bytes, chunk.samples)
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
    out = Rendered(b"".join(sent), samples_out / rate, engine_seconds, plan.clock.words)
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


@dataclass(frozen=True)
class OpenStream:
    """A speech stream ready to send: its bytes (the first already made), how to label them,
    and the characters it is priced by."""

    chunks: AsyncIterator[bytes]
    media_type: str
    headers: dict[str, str]
    spoken: int


async def open_stream(
    c: Container, session: AsyncSession, req: SpeechRequest, p: Principal
) -> OpenStream:
    """Plan, pay and start streamed speech for any face: every refusal (a missing voice, too
    little credit, no worker free, an engine failing before its first audio) is raised here,
    before a status line is sent. The request's session is closed: none is held while it
    streams."""
    plan = await plan_speech(c, req, p, delivery="stream")
    await session.close()
    media_type = FORMATS[req.format].media_type
    headers = {
        "X-Voxhub-Engine": f"{plan.engine.info.name}/{plan.engine.info.version}",
        "Cache-Control": "no-store",
    }
    if plan.cached is not None:
        data = await c.blobs.get(plan.cached.blob_key)
        hit = {"X-Voxhub-Cache": "hit"} | generated_headers(plan.cached.id)
        return OpenStream(stream_bytes(data), media_type, headers | hit, plan.spoken)
    await reserve(c, plan)  # 402 before any byte is sent
    chunks = await primed(paid_stream(c, plan))  # 503 when no worker could start it
    # The id the generation is recorded under once the stream has run to its end.
    miss = {"X-Voxhub-Cache": "miss"} | generated_headers(plan.generation_id)
    return OpenStream(chunks, media_type, headers | miss, plan.spoken)
