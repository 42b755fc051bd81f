"""Seed 004's queued work: a voice clone and a story's audio, run by a worker.

With Redis configured (scale-out) an API process holds no model: `POST /api/voices/clone` checks
what it can (signature, body, that the audio decodes), stores the recording and queues a
`seed004.clone` job, which a worker turns into a voice with its profile. `POST /api/tts/generate`
queues `seed004.generate` in both modes.

A story's audio record (seed 004's `stories/{story_id}`: `audioStatus`, `audioUrl`,
`audioVersions`) is read from its generate jobs, the rows that already hold the truth: each job
is one generation, its status is the story's `audioStatus`, and its result, committed together
with its success, is the `audioVersions` entry. A version is keyed by its job, so neither a
redelivery nor a re-run after a crash can add a second one, and no second record can drift.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from voxhub.accounts.principal import Principal
from voxhub.audio.decode import decode, probe
from voxhub.compat.seed004_checks import engine_for
from voxhub.compat.seed004_schemas import Seed004Clone
from voxhub.compat.seed004_uploads import CLONE, UPLOADS
from voxhub.container import Container
from voxhub.core.clock import utcnow
from voxhub.core.errors import EngineTimeout, EngineUnavailable, VoxhubError
from voxhub.credits.pricing import clone_cost
from voxhub.jobs.errors import PermanentJobError
from voxhub.jobs.executor import JobContext
from voxhub.jobs.lifecycle import JobCancelled, LeaseLost
from voxhub.jobs.models import Job, JobStatus
from voxhub.jobs.service import new_job
from voxhub.safety import consent
from voxhub.settings import Settings
from voxhub.storage.base import BlobNotFound
from voxhub.storage.outbox import discard, drain, enqueue
from voxhub.synthesis import service as speech
from voxhub.synthesis.jobs import job_principal, synthesize_job
from voxhub.synthesis.schemas import SpeechRequest
from voxhub.voices import service as voices
from voxhub.voices.models import Voice
from voxhub.voices.schemas import VoiceCreate

log = logging.getLogger(__name__)

GENERATE = "seed004.generate"
CLONE_STEPS = ["fetch_audio", "create_voice"]

# The story's `audioStatus` for each job status: seed 004's queued, processing, completed, failed.
AUDIO_STATUS = {
    JobStatus.queued: "queued",
    JobStatus.running: "processing",
    JobStatus.succeeded: "completed",
    JobStatus.failed: "failed",
    JobStatus.dead: "failed",
    JobStatus.cancelled: "failed",
}
# How many of a caller's generate jobs a story listing reads, newest first.
STORY_JOBS_READ = 2000


def voice_paths(voice_id: str, base: str = "") -> tuple[str, str]:
    """The voice's sample and profile; relative in a job's result (a worker knows no host)."""
    root = f"{base}/api/v1/voices/{voice_id}"
    return f"{root}/sample", f"{root}/profile"


def cloned(voice: Voice, report: dict[str, Any], model_type: str, base: str = "") -> dict[str, Any]:
    """Seed 004's clone answer, the same from the synchronous route and from the worker."""
    sample, profile = voice_paths(voice.id, base)
    return {
        "status": "success",
        "voice_id": voice.id,
        "name": voice.name,
        "language": voice.language,
        "is_kids_voice": voice.is_kids_voice,
        "model_type": model_type,
        "profile_status": voice.profile_status,
        "sample_file": sample,
        "embedding_file": profile,
        "metadata": {**report, "profile_status": voice.profile_status},
    }


def _check_decodes(audio: bytes, settings: Settings) -> None:
    """Blocking: refuse, with the synchronous path's errors, a recording that does not decode.

    What needs a model (voice activity, the speaker embedding) is left to the worker.
    """
    info = probe(audio, settings.limits)
    decode(audio, settings.limits, settings.working_sample_rate, info)


async def queue_clone(
    c: Container,
    session: AsyncSession,
    audio: bytes,
    body: Seed004Clone,
    meta: VoiceCreate,
    p: Principal,
) -> Job:
    """Queue a clone: the recording is stored and the job created in the request's one
    transaction; a refusal or a failed commit leaves neither."""
    await asyncio.to_thread(_check_decodes, audio, c.settings)
    key = f"{UPLOADS}/{uuid.uuid4()}"
    payload = {
        "upload_key": key,
        "filename": f"{body.name}.{body.audio_format or 'audio'}",
        "name": meta.name,
        "language": meta.language,
        "is_kids_voice": meta.is_kids_voice,
        "model_type": body.model_type,
        # Refused now, not in the job, when no standing attestation covers the caller.
        "consent_via": await consent.check_queued(c, p),
        "consent_policy": c.settings.consent.consent_policy,
    }
    # The job first: its credit hold may refuse the request before anything is stored.
    job = await new_job(
        session,
        CLONE,
        payload,
        p.user_id,
        steps=CLONE_STEPS,
        cost=clone_cost(c.settings.credits),
        max_attempts=c.settings.jobs.job_max_attempts,
        queued_limit=c.settings.jobs.jobs_queued_per_user,
    )
    try:
        await c.blobs.put(key, audio, "application/octet-stream")
        await session.commit()
    except BaseException:
        await session.rollback()
        await discard(c.blobs, [key])
        raise
    await c.jobs.submit(job.id)
    return job


def clone_voice_id(job_id: str) -> str:
    """The voice a clone job creates, named by the job: a re-run finds it instead of adding one."""
    return str(uuid.uuid5(uuid.UUID(job_id), CLONE))


async def clone_job(c: Container, ctx: JobContext) -> dict[str, Any]:
    """Create the voice and its profile from the stored recording, as the synchronous route
    does; then record the answer and the promise to remove the recording with the success.

    A run that ends the job without a voice (a blocked speaker, consent withdrawn since the
    clone was queued, the owner gone, the last attempt spent) promises the removal too: no
    later attempt will read the recording. A cancelled job's recording waits for a retry, and
    the sweep removes it once no retry is likely (voxhub.compat.seed004_uploads)."""
    try:
        return await _clone(c, ctx)
    except (LeaseLost, JobCancelled):
        # Not this run's to end: another worker holds the job now, or its owner cancelled it
        # (a cancelled job may be retried, and the retry reads the recording).
        raise
    except Exception as exc:
        await _give_up_upload(c, ctx, exc)
        raise


def _retried(exc: Exception) -> bool:
    """Whether the executor runs the job again after `exc` while it has attempts left: an
    engine unavailable for now, or an unexpected error; never a refusal (see its `_outcome`)."""
    if isinstance(exc, (EngineUnavailable, EngineTimeout)):
        return True
    return not isinstance(exc, (PermanentJobError, VoxhubError))


async def _give_up_upload(c: Container, ctx: JobContext, exc: Exception) -> None:
    """Promise the recording's removal when this failure ends the job. Never raises, so the
    executor records the job's own error; if the database fails here it cannot record that
    either, and the run that takes the job once its lease lapses decides again."""
    key = ctx.payload["upload_key"]
    try:
        async with c.sessions() as session:
            # Fenced on the lease, and first in its transaction so it takes the job's row (the
            # write lock on SQLite): a worker that lost the job leaves the recording to the
            # run that holds it now.
            held = (
                await session.execute(
                    update(Job)
                    .where(
                        Job.id == ctx.job_id,
                        Job.status == JobStatus.running,
                        Job.lease_owner == ctx.worker_id,
                    )
                    .values(updated_at=utcnow())
                    .returning(Job.attempts, Job.max_attempts)
                    .execution_options(synchronize_session=False)
                )
            ).first()
            if held is None or (_retried(exc) and held.attempts < held.max_attempts):
                return  # the next attempt reads the recording again
            removal = enqueue(session, key, "seed004_clone_failed")
            await session.commit()
    except Exception:
        log.exception("job %s: could not promise the removal of %s", ctx.job_id, key)
        return
    await drain(c.sessions, c.blobs, [removal.id])


async def _clone(c: Container, ctx: JobContext) -> dict[str, Any]:
    payload = ctx.payload
    owner = await job_principal(c, ctx.owner_id)
    voice_id = clone_voice_id(ctx.job_id)
    await ctx.progress(5, "fetch_audio")
    async with c.sessions() as session:
        voice = await session.get(Voice, voice_id)
    if voice is None:
        try:
            audio = await c.blobs.get(payload["upload_key"])
        except BlobNotFound as exc:
            raise PermanentJobError("upload_gone", "the uploaded recording is gone") from exc
        await ctx.progress(10, "create_voice")
        meta = VoiceCreate(
            name=payload["name"],
            language=payload["language"],
            is_kids_voice=payload["is_kids_voice"],
        )
        upload = voices.Upload(audio, payload["filename"])
        async with c.sessions() as session:
            # Checked again here: this worker may not run the engine the API saw enabled.
            engine = engine_for(c, payload["model_type"])
            voice, reports = await voices.create_voice(
                c,
                session,
                [upload],
                meta,
                owner,
                voice_id=voice_id,
                engine=engine,
                consent=consent.QueuedClone(
                    payload.get("consent_via"), payload.get("consent_policy")
                ),
            )
        report = reports[0].model_dump()
    else:  # an earlier run created it and then lost its worker: answer what it made
        report = dict(voice.references[0].report) if voice.references else {}
    # No step boundary past this point: a cancel that arrives once the voice exists would
    # release the hold and leave the voice unpaid; the success below wins over it instead.
    result = cloned(voice, report, payload["model_type"])
    async with c.sessions() as session:
        await ctx.succeed_in(session, result)
        removal = enqueue(session, payload["upload_key"], "seed004_clone_done")
        await session.commit()
    await drain(c.sessions, c.blobs, [removal.id])
    return result


async def queue_generate(
    c: Container, session: AsyncSession, req: SpeechRequest, story: dict[str, Any], p: Principal
) -> Job:
    """Queue a story's audio: the speech job, with the story it belongs to."""
    return await speech.queue_speech(c, session, req, p, kind=GENERATE, extra={"story": story})


async def generate_job(c: Container, ctx: JobContext) -> dict[str, Any]:
    """Speak the text as a speech job does; the result is also the story's version entry."""
    payload = dict(ctx.payload)
    story = payload.pop("story", None) or {}
    out = await synthesize_job(c, dataclasses.replace(ctx, payload=payload))
    return {**out, **story, "audioStatus": AUDIO_STATUS[JobStatus.succeeded]}


def _version(n: int, job: Job) -> dict[str, Any]:
    result = job.result or {}
    return {
        "version": n,
        "job_id": job.id,
        "generation_id": result.get("generation_id"),
        "audioUrl": result.get("audio_url"),
        "voice_id": job.payload.get("voice_id"),
        "duration_s": result.get("duration_s"),
        "format": result.get("format"),
        "createdAt": job.finished_at.isoformat() if job.finished_at else None,
    }


def story_record(jobs: Sequence[Job]) -> dict[str, Any]:
    """A story's audio record from its generate jobs, oldest first (at least one)."""
    done = [j for j in jobs if j.status == JobStatus.succeeded]
    versions = [_version(n, j) for n, j in enumerate(done, start=1)]
    latest = jobs[-1]
    story = latest.payload.get("story") or {}
    failed = AUDIO_STATUS[JobStatus(latest.status)] == "failed"
    return {
        "story_id": story.get("story_id"),
        "story_type": story.get("story_type"),
        "language": story.get("language"),
        "audioStatus": AUDIO_STATUS[JobStatus(latest.status)],
        # The newest audio that exists: a failed regeneration leaves the last good one in place.
        "audioUrl": versions[-1]["audioUrl"] if versions else None,
        "audioVersions": versions,
        "job_id": latest.id,
        "error": latest.error if failed else None,
    }


async def list_stories(
    session: AsyncSession, p: Principal, language: str, story_type: str
) -> list[dict[str, Any]]:
    """The caller's stories in a language, most recently generated first."""

    def field(name: str) -> Any:
        return Job.payload[("story", name)].as_string()

    rows = await session.scalars(
        select(Job)
        .where(
            Job.kind == GENERATE,
            Job.owner_id == p.user_id,
            field("story_id").is_not(None),
            field("language") == language,
            field("story_type") == story_type,
        )
        .order_by(Job.created_at.desc(), Job.id.desc())
        .limit(STORY_JOBS_READ)
    )
    by_story: dict[str, list[Job]] = {}
    for job in rows:  # newest first, so the first job seen orders its story
        by_story.setdefault(job.payload["story"]["story_id"], []).append(job)
    return [story_record(jobs[::-1]) for jobs in by_story.values()]
