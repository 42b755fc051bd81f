"""Background voice work: refining an instant profile into a better one."""

from __future__ import annotations

import asyncio
from typing import Any

from voxhub.bootstrap import Container
from voxhub.engines.base import ProfileStatus, RefiningEngine
from voxhub.jobs.errors import PermanentJobError
from voxhub.jobs.runner import JobContext
from voxhub.voices.models import Voice
from voxhub.voices.profiles import load_reference_audio, profile_for, store_profile


async def refine_job(c: Container, ctx: JobContext) -> dict[str, Any]:
    """Improve the voice's profile and replace the instant one when done."""
    voice_id = str(ctx.payload["voice_id"])
    engine = c.engines.get(ctx.payload.get("engine"))
    if not isinstance(engine, RefiningEngine):
        raise PermanentJobError("not_refinable", f"engine {engine.info.name} cannot refine")
    async with c.sessions() as session:
        voice = await session.get(Voice, voice_id)
        if voice is None:
            raise PermanentJobError("voice_not_found", "the voice was deleted")
        reference = await load_reference_audio(c, voice)
        instant = await profile_for(c, session, voice, engine)
    loop = asyncio.get_running_loop()

    def report(fraction: float, message: str) -> None:
        # Called from the engine's worker thread; progress is written on the event loop.
        asyncio.run_coroutine_threadsafe(ctx.progress(fraction * 90, "search", message), loop)

    try:
        refined = await engine.refine(reference, instant, report)
    except Exception:
        await _mark(c, voice_id, ProfileStatus.failed, None)
        raise
    await ctx.progress(95, "store")
    async with c.sessions() as session:
        voice = await session.get(Voice, voice_id)
        if voice is None:
            raise PermanentJobError("voice_not_found", "the voice was deleted")
        _, old_key = await store_profile(c, session, voice_id, refined)
        voice.profile_status = ProfileStatus.ready
        voice.profile_similarity = refined.metrics.get("similarity_estimate")
        await session.commit()
    if old_key:
        await c.blobs.delete(old_key)
    return {"voice_id": voice_id, "metrics": refined.metrics}


async def _mark(c: Container, voice_id: str, status: ProfileStatus, sim: float | None) -> None:
    async with c.sessions() as session:
        voice = await session.get(Voice, voice_id)
        if voice is not None:
            voice.profile_status = status
            if sim is not None:
                voice.profile_similarity = sim
            await session.commit()
