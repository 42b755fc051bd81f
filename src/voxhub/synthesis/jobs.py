"""Speech as a background job (long texts, `async: true`)."""

from __future__ import annotations

from typing import Any

from voxhub.bootstrap import Container
from voxhub.jobs.runner import JobContext
from voxhub.synthesis import service
from voxhub.synthesis.schemas import SpeechRequest


async def synthesize_job(c: Container, ctx: JobContext) -> dict[str, Any]:
    """Render the request stored in the job and record it as a generation."""
    req = SpeechRequest.model_validate(ctx.payload)
    owner = ctx.owner_id
    await ctx.progress(5, "synthesize")
    async with c.sessions() as session:
        plan = await service.plan_speech(c, session, req, owner)
        cached = await service.find_cached(c, session, plan)
        if cached is None:
            out = await service.render(plan)
            await ctx.progress(80, "store")
            cached = await service.record(c, session, plan, out, "job")
        return {
            "generation_id": cached.id,
            "audio_url": f"/api/v1/generations/{cached.id}/audio",
            "duration_s": cached.duration_s,
            "format": cached.format,
        }
