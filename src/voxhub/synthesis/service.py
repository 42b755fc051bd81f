"""Speech use cases: validate and plan, serve from cache, render, record."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from voxhub.accounts.principal import Principal
from voxhub.ambience.mixer import Bed, mix
from voxhub.ambience.schemas import Ambience
from voxhub.audio.encode import FORMATS, encode
from voxhub.audit import service as audit
from voxhub.container import Container
from voxhub.core.errors import InvalidInput
from voxhub.core.ids import new_id
from voxhub.credits import ledger
from voxhub.credits.pricing import speech_cost
from voxhub.credits.schemas import SpeechEstimate
from voxhub.credits.service import paid_by_job
from voxhub.engines.base import Engine, SynthesisParams, VoiceProfile
from voxhub.engines.health import EngineHealth
from voxhub.jobs.models import Job
from voxhub.jobs.service import new_job
from voxhub.observability import metrics
from voxhub.safety.marking import WATERMARK_VERSION, marked, note_output, output_tags
from voxhub.storage.outbox import discard
from voxhub.synthesis.holds import release, reserve
from voxhub.synthesis.models import Generation
from voxhub.synthesis.pauses import spoken_chunks
from voxhub.synthesis.routing import chosen_engine, route
from voxhub.synthesis.schemas import SpeechRequest
from voxhub.synthesis.text_checks import (
    CheckedText,
    checked_text,
    speaks_text,
    spoken_language,
)
from voxhub.synthesis.timings import Timed, WordClock, store_timings
from voxhub.voices.profiles import profile_for
from voxhub.voices.service import get_voice
from voxhub.webhooks.destinations import require_allowed

log = logging.getLogger(__name__)


@dataclass
class SpeechPlan:
    """Everything needed to render a request, gathered in one short database session."""

    voice_id: str
    owner_id: str | None
    engine: Engine
    profile: VoiceProfile
    text: str
    params: SynthesisParams
    format: str
    sample_rate: int
    cache_key: str
    # The caller's identical earlier generation, when its audio is still stored.
    cached: Generation | None = None
    # Characters when spoken: what the text limit counts and speech is priced by.
    spoken: int = 0
    # The generation to record; also the key of the credits reserved for it (`cost`), which
    # `record` captures in the transaction that stores it. A job's plan reserves nothing here:
    # the job holds its credits and settles them with its final state.
    generation_id: str = field(default_factory=new_id)
    cost: int = 0
    ambience: Ambience | None = None  # a bed mixed under the speech (voxhub.ambience)
    # Where an engine that fails to answer is noted down (voxhub.engines.health).
    health: EngineHealth | None = None
    # The engine's words on the audio's timeline, noted as its chunks pass (read while a
    # stream is still running by faces that send timings with each piece).
    clock: WordClock = field(default_factory=WordClock)


@dataclass
class Rendered:
    data: bytes
    duration_s: float
    engine_seconds: float
    words: list[Timed] = field(default_factory=list)


async def plan_speech(
    c: Container, req: SpeechRequest, p: Principal, delivery: str = "file"
) -> SpeechPlan:
    """Validate a request against the voice and engine, in a short session of its own.

    A stale profile is rebuilt and committed there as its own unit of work; the request's one
    commit (its generation, with any idempotency claim) comes only after rendering, so no
    session or transaction is held while the engine works.
    """
    checked = await checked_text(c, req, p, req.run_async)
    text = checked.text
    if req.ambience is not None and delivery == "stream":
        # Ducking follows the whole speech's envelope; a stream's bytes leave before it exists.
        raise InvalidInput("ambience is not mixed into a stream: send it without `stream`")
    async with c.sessions() as session:
        voice = await get_voice(session, req.voice_id, p)
        engine = speaks_text(
            await route(c.engines, session, voice, req.engine, lambda e: fits(e, req, checked)),
            checked,
        )
        language = spoken_language(engine, req.language)
        params = SynthesisParams(speed=req.speed, language=language, lexicon=checked.phonemes)
        rate = req.sample_rate or engine.info.sample_rate
        profile = await profile_for(c, session, voice, engine)
        key = _cache_key(
            voice.id, engine, profile, text, params, req.format, rate, delivery, req.ambience
        )
        cached = await _find_cached(c, session, key, p.user_id)
    return SpeechPlan(
        voice.id,
        p.user_id,
        engine,
        profile,
        text,
        params,
        req.format,
        rate,
        key,
        cached,
        spoken=checked.spoken,
        ambience=req.ambience,
        health=c.engines.health,
    )


def fits(engine: Engine, req: SpeechRequest, checked: CheckedText) -> bool:
    """Whether `engine` can speak this request (its language, its phonemes)."""
    try:
        spoken_language(speaks_text(engine, checked), req.language)
    except InvalidInput:
        return False
    return True


def _cache_key(
    voice_id: str,
    engine: Engine,
    profile: VoiceProfile,
    text: str,
    params: SynthesisParams,
    fmt: str,
    rate: int,
    delivery: str,
    ambience: Ambience | None = None,
) -> str:
    material = {
        "voice": voice_id,
        "profile": hashlib.sha256(profile.data).hexdigest(),
        "engine": engine.info.name,
        "version": engine.info.version,
        "text": text,
        "speed": params.speed,
        "language": params.language,
        "seed": params.seed,
        "format": fmt,
        "rate": rate,
        # A streamed file differs from a whole one (a WAV streams with an open-ended header),
        # and a hit must be exactly what a fresh request would get.
        "delivery": delivery,
        # Audio made before outputs were watermarked never hits: every hit is marked too.
        "watermark": WATERMARK_VERSION,
    }
    if ambience is not None:  # absent when unused, so earlier generations still hit
        material["ambience"] = ambience.model_dump()
    if params.lexicon:  # the same, for phoneme rules (aliases are in the text already)
        material["lexicon"] = [list(pair) for pair in params.lexicon]
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()


async def _find_cached(
    c: Container, session: AsyncSession, cache_key: str, owner_id: str
) -> Generation | None:
    """The caller's own stored generation for an identical request, if its audio is still there.

    Only the caller's: another user's hit would hand over their generation and tell that they
    said exactly this (even a "miss" served fast would, so audio is not shared across users).
    """
    rows = await session.scalars(
        select(Generation)
        .where(Generation.cache_key == cache_key, Generation.owner_id == owner_id)
        .order_by(Generation.created_at.desc())
        .limit(1)
    )
    gen = rows.first()
    if gen is not None and await c.blobs.exists(gen.blob_key):
        return gen
    return None


async def render(c: Container, plan: SpeechPlan) -> Rendered:
    """Run the engine over the whole text, mark it and encode the result."""
    started = time.perf_counter()
    pieces = []
    chunks = spoken_chunks(plan.engine, plan.text, plan.profile, plan.params, plan.health)
    async for chunk in chunks:
        plan.clock.note(chunk)
        pieces.append(chunk.samples)
    engine_seconds = time.perf_counter() - started
    samples = np.concatenate(pieces) if pieces else np.zeros(0, np.float32)
    rate = plan.engine.info.sample_rate
    metrics.engine_rendered(plan.engine.info.name, engine_seconds, len(samples) / rate)
    if plan.ambience is not None:
        a = plan.ambience
        samples = await asyncio.to_thread(mix, samples, rate, Bed(a.bed, a.seed), a.settings())
    samples = await marked(c.watermarker, samples, rate)  # last, so the bed is marked too
    tags = output_tags(plan.generation_id)
    data = await asyncio.to_thread(encode, samples, rate, plan.format, plan.sample_rate, tags)
    # A bed is mixed under the speech without moving it: the words keep their times.
    return Rendered(data, len(samples) / rate, engine_seconds, plan.clock.words)


async def record(
    c: Container, session: AsyncSession, plan: SpeechPlan, out: Rendered, source: str
) -> Generation:
    """Store the audio, its word times and its history row, capturing the credits reserved for
    it (if any) in the same commit; nothing stays stored when any of it fails."""
    gen_id = plan.generation_id
    key = f"voices/{plan.voice_id}/generations/{gen_id}.{FORMATS[plan.format].extension}"
    await c.blobs.put(key, out.data, FORMATS[plan.format].media_type)
    try:
        words_key = await store_timings(c, key, out.words, out.duration_s)
    except BaseException:
        await discard(c.blobs, [key])
        raise
    gen = Generation(
        id=gen_id,
        owner_id=plan.owner_id,
        voice_id=plan.voice_id,
        cache_key=plan.cache_key,
        engine=plan.engine.info.name,
        engine_version=plan.engine.info.version,
        text=plan.text,
        params={"speed": plan.params.speed, "language": plan.params.language}
        | ({"ambience": plan.ambience.model_dump()} if plan.ambience else {}),
        format=plan.format,
        sample_rate=plan.sample_rate,
        duration_s=round(out.duration_s, 3),
        engine_seconds=round(out.engine_seconds, 3),
        blob_key=key,
        size_bytes=len(out.data),
        source=source,
    )
    session.add(gen)
    media_type = FORMATS[plan.format].media_type
    await note_output(
        session,
        out.data,
        kind="speech",
        object_id=gen_id,
        owner_id=plan.owner_id,
        media_type=media_type,
    )
    # Who made what, kept after the generation is deleted (the audit log is append-only).
    audit.record(
        session,
        "speech_generated",
        actor_id=plan.owner_id,
        target_type="generation",
        target_id=gen_id,
        voice_id=plan.voice_id,
        engine=plan.engine.info.name,
        source=source,
        characters=plan.spoken,
        duration_s=gen.duration_s,
    )
    try:
        if (
            plan.cost
            and plan.owner_id
            and not await ledger.capture_reserved(session, plan.owner_id, gen_id, "speech")
        ):
            log.warning("generation %s: its credit hold was no longer open", gen_id)
        await session.commit()
    except BaseException:
        await session.rollback()
        # Both go, even when removing the first fails (the sweep takes what is left): the
        # error that matters is the one being raised.
        await discard(c.blobs, [key, words_key])
        raise
    return gen


async def speak(
    c: Container, session: AsyncSession, req: SpeechRequest, p: Principal, source: str
) -> tuple[Generation, bytes, bool]:
    """Audio for a request: from the cache when identical (free), else paid, rendered and
    recorded.

    `session` is the request's unit of work: used once, to record the generation (and capture
    the credits held for it).
    """
    plan = await plan_speech(c, req, p)
    if plan.cached is not None:
        return plan.cached, await c.blobs.get(plan.cached.blob_key), True
    gen, out = await speak_planned(c, session, plan, p, source)
    return gen, out.data, False


async def speak_planned(
    c: Container, session: AsyncSession, plan: SpeechPlan, p: Principal, source: str
) -> tuple[Generation, Rendered]:
    """Pay for, render and record a plan (not served from the cache)."""
    if not paid_by_job(p):
        await reserve(c, plan)
    try:
        out = await render(c, plan)
        gen = await record(c, session, plan, out, source)
    except BaseException:
        await release(c, plan)
        raise
    return gen, out


async def queue_speech(
    c: Container,
    session: AsyncSession,
    req: SpeechRequest,
    p: Principal,
    *,
    kind: str = "speech.synthesize",
    extra: dict[str, Any] | None = None,
) -> Job:
    """Check what can be checked now (text, voice), then queue the request as a job (a `kind`
    that wraps speech, such as seed 004's story audio, adds its own fields as `extra`)."""
    checked = await checked_text(c, req, p, True)
    # Unknown voices, engines and languages are refused now, not in the job; a down engine is
    # not (the job retries it, or falls over when it runs).
    voice = await get_voice(session, req.voice_id, p)
    spoken_language(speaks_text(chosen_engine(c.engines, voice, req.engine), checked), req.language)
    if req.callback_url:
        await require_allowed(req.callback_url, c.settings.webhooks)
    job = await new_job(
        session,
        kind,
        req.model_dump(by_alias=True)
        | {"async": True}
        # Rendered with the rules it was priced with: a dictionary changed meanwhile is a 409.
        | (
            {"pronunciation_dictionary_versions": dict(checked.versions)}
            if checked.versions
            else {}
        )
        | (extra or {}),
        p.user_id,
        steps=["synthesize", "encode", "store"],
        cost=speech_cost(c.settings.credits, checked.spoken),
        max_attempts=c.settings.jobs.job_max_attempts,
        queued_limit=c.settings.jobs.jobs_queued_per_user,
        callback_url=req.callback_url,
    )
    await session.commit()
    await c.jobs.submit(job.id)
    return job


async def speech_estimate(c: Container, req: SpeechEstimate, p: Principal) -> int:
    """The spoken length a speech request would be priced by, refused as the request would be
    (text, language, voice)."""
    checked = await checked_text(c, req, p, req.run_async)
    async with c.sessions() as session:
        voice = await get_voice(session, req.voice_id, p)
    spoken_language(speaks_text(chosen_engine(c.engines, voice, req.engine), checked), req.language)
    return checked.spoken
