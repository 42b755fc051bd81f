"""Enrolment of a voice's profile, shared by creating a voice and adding a reference: the
instant profile now, a refinement job when the engine refines, and what follows the commit."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from voxhub.container import Container
from voxhub.engines.base import ProfileStatus, Reference, RefiningEngine, VoiceProfile
from voxhub.jobs.service import new_job
from voxhub.voices.models import Voice
from voxhub.voices.profiles import StoredProfile, commit_done, store_profile


async def enroll(
    c: Container,
    session: AsyncSession,
    voice: Voice,
    reference: Reference,
    written: list[str],
    made: list[VoiceProfile],
    engine_name: str | None = None,
) -> tuple[str | None, StoredProfile]:
    """Instant profile now on `engine_name` (None: the default engine), plus a refinement job
    when the engine can refine; the profile goes into `made` at once, so that a failure before
    the commit forgets its clone.

    Returns the job id to submit and the stored profile (the replaced one's blob to drain and
    clone to forget), both after commit.
    """
    engine = c.engines.get(engine_name)
    profile = await engine.enroll(reference)
    made.append(profile)
    stored = await store_profile(c, session, voice.id, profile)
    written.append(stored.blob_key)
    voice.profile_similarity = profile.metrics.get("similarity_estimate")
    voice.profile_status = str(profile.status)
    if isinstance(engine, RefiningEngine) and c.settings.engine.refine_profiles:
        voice.profile_status = ProfileStatus.refining
        job = await new_job(
            session,
            "voice.refine",
            {"voice_id": voice.id, "engine": engine.info.name},
            voice.owner_id,
            steps=["search", "verify", "store"],
            max_attempts=c.settings.jobs.job_max_attempts,
            queued_limit=c.settings.jobs.jobs_queued_per_user,
        )
        await session.flush()
        return job.id, stored
    return None, stored


async def after_commit(c: Container, job_id: str | None, stored: StoredProfile) -> None:
    """Once the voice is committed: settle the stored profile (drain the one it replaced,
    forget its clone) and start the refinement job, if any."""
    await commit_done(c, stored)
    if job_id:
        await c.jobs.submit(job_id)
