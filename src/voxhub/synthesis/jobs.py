"""Speech as a background job (long texts, `async: true`)."""

from __future__ import annotations

from typing import Any

from voxhub.accounts.models import Role, User
from voxhub.accounts.principal import Principal
from voxhub.container import Container
from voxhub.jobs.errors import PermanentJobError
from voxhub.jobs.executor import JobContext
from voxhub.synthesis import service
from voxhub.synthesis.schemas import SpeechRequest


async def job_principal(c: Container, owner_id: str | None) -> Principal:
    """The job's owner, with their current role (a deleted account's job fails)."""
    async with c.sessions() as session:
        user = await session.get(User, owner_id) if owner_id else None
    if user is None or user.disabled:
        raise PermanentJobError("owner_gone", "the job's owner no longer exists")
    return Principal(user.id, Role(user.role), "job")


async def synthesize_job(c: Container, ctx: JobContext) -> dict[str, Any]:
    """Render the request stored in the job and record it as a generation."""
    req = SpeechRequest.model_validate(ctx.payload)
    owner = await job_principal(c, ctx.owner_id)
    await ctx.progress(5, "synthesize")
    plan = await service.plan_speech(c, req, owner)
    gen = plan.cached
    if gen is None:
        out = await service.render(c, plan)  # no session held while the engine works
        await ctx.progress(80, "store")
        async with c.sessions() as session:
            gen = await service.record(c, session, plan, out, "job")
    return {
        "generation_id": gen.id,
        "audio_url": f"/api/v1/generations/{gen.id}/audio",
        "duration_s": gen.duration_s,
        "format": gen.format,
    }
