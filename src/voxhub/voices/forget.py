"""What a voice leaves at remote providers (an ElevenLabs voice, a Fish Audio model) is deleted
there by a `voice.forget` job, never inside the request that made it obsolete.

The job is added in the transaction that deletes the voice (or replaces or discards its
profile), so it exists exactly when that commits: a rollback leaves the stored profile and its
clone alone, and a client that hangs up after the commit cannot skip it. The payload carries the
profile itself (bytes, base64), because the voice's rows and blobs are gone by the time it runs.
It is a system job (no owner, no credits): the voice it concerns is often already deleted.
"""

from __future__ import annotations

import base64
import contextlib
import logging
from typing import Any

import anyio
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from voxhub.container import Container
from voxhub.core.errors import EngineNotFound
from voxhub.engines.base import ForgettingEngine, ProfileStatus, VoiceProfile
from voxhub.jobs.executor import JobContext
from voxhub.jobs.service import new_job
from voxhub.storage.base import BlobNotFound
from voxhub.voices.models import VoiceProfileRow

log = logging.getLogger(__name__)
KIND = "voice.forget"
_CLEANUP_S = 10.0  # a database that takes longer is down: the clone is logged as left


def forgets(c: Container, engine: str) -> bool:
    """Whether `engine` is enabled here and keeps something of a voice outside voxhub."""
    try:
        return isinstance(c.engines.get(engine), ForgettingEngine)
    except EngineNotFound:
        return False  # not enabled in this process: nothing to call


async def forget_later(
    c: Container, session: AsyncSession, voice_id: str, profiles: list[VoiceProfile]
) -> list[str]:
    """Add a `voice.forget` job to the caller's transaction for each profile whose engine keeps
    it at a provider; returns their ids, to submit (`submit_forgets`) after the commit."""
    ids = []
    for profile in profiles:
        if not forgets(c, profile.engine):
            continue
        payload = {
            "voice_id": voice_id,
            "engine": profile.engine,
            "engine_version": profile.engine_version,
            "status": str(profile.status),
            "profile": base64.b64encode(profile.data).decode(),
        }
        job = await new_job(
            session, KIND, payload, None, max_attempts=c.settings.jobs.job_max_attempts
        )
        ids.append(job.id)
    return ids


async def forget_discarded(
    c: Container, session: AsyncSession, voice_id: str, profiles: list[VoiceProfile]
) -> None:
    """Profiles enrolled but never stored (a lost race, a failed creation): their forget jobs,
    committed in `session` (whose own work was rolled back or never written) and submitted.

    Cleanup of a failure already on its way: a failure here is logged, not raised over it.
    Shielded: a client that hung up mid-upload cancels the request, and the cancellation
    would otherwise hit these awaits too, leaving the clone at the provider."""
    if not any(forgets(c, p.engine) for p in profiles):
        return
    with anyio.CancelScope(shield=True), anyio.move_on_after(_CLEANUP_S) as late:
        try:
            ids = await forget_later(c, session, voice_id, profiles)
            await session.commit()
            await submit_forgets(c, ids)
        except Exception:
            log.exception("could not queue the deletion of voice %s's unused clone", voice_id)
            with contextlib.suppress(Exception):
                await session.rollback()
    if late.cancelled_caught:
        log.warning("gave up queueing the deletion of voice %s's unused clone", voice_id)


async def submit_forgets(c: Container, job_ids: list[str]) -> None:
    """Hand committed forget jobs to the queue (a lost hand-off: the sweep hands them again)."""
    for job_id in job_ids:
        await c.jobs.submit(job_id)


async def stored_profiles(c: Container, session: AsyncSession, voice_id: str) -> list[VoiceProfile]:
    """The voice's stored profiles held by engines that keep something at a provider."""
    rows = (
        await session.scalars(select(VoiceProfileRow).where(VoiceProfileRow.voice_id == voice_id))
    ).all()
    found = []
    for row in rows:
        if not forgets(c, row.engine):
            continue
        with contextlib.suppress(BlobNotFound):
            data = await c.blobs.get(row.blob_key)
            found.append(
                VoiceProfile(row.engine, row.engine_version, data, ProfileStatus(row.status))
            )
    return found


async def forget_job(c: Container, ctx: JobContext) -> dict[str, Any]:
    """Delete one profile's model at its provider (already gone there: done too)."""
    p = ctx.payload
    engine = c.engines.get(str(p["engine"]))  # not enabled on this worker: the job fails
    if not isinstance(engine, ForgettingEngine):
        return {"voice_id": p["voice_id"], "engine": engine.info.name, "forgotten": False}
    profile = VoiceProfile(
        engine=str(p["engine"]),
        engine_version=str(p["engine_version"]),
        data=base64.b64decode(p["profile"]),
        status=ProfileStatus(p["status"]),
    )
    await engine.forget(profile)
    return {"voice_id": p["voice_id"], "engine": engine.info.name, "forgotten": True}
