"""Background voice work: refining an instant profile into a better one."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import select

from voxhub.container import Container
from voxhub.engines.base import ProfileStatus, RefiningEngine
from voxhub.jobs.errors import PermanentJobError
from voxhub.jobs.executor import JobContext
from voxhub.voices.forget import forget_discarded
from voxhub.voices.models import Voice, VoiceProfileRow
from voxhub.voices.profiles import (
    commit_stored,
    current_profile,
    load_reference_audio,
    store_profile,
)

SUPERSEDED = "superseded: a newer profile was stored while this one was refined; kept that one"


async def refine_job(c: Container, ctx: JobContext) -> dict[str, Any]:
    """Improve the voice's profile and replace the instant one when done, unless the profile
    was replaced meanwhile (a new reference, an engine upgrade): the newer one is kept."""
    voice_id = str(ctx.payload["voice_id"])
    engine = c.engines.get(ctx.payload.get("engine"))
    if not isinstance(engine, RefiningEngine):
        raise PermanentJobError("not_refinable", f"engine {engine.info.name} cannot refine")
    async with c.sessions() as session:
        voice = await session.get(Voice, voice_id)
        if voice is None:
            raise PermanentJobError("voice_not_found", "the voice was deleted")
        instant, revision = await current_profile(c, session, voice, engine)
        # Read after the revision: a reference added since then bumps it, and the write fails.
        await session.refresh(voice, ["references"])
        reference = await load_reference_audio(c, voice)
    loop = asyncio.get_running_loop()

    def report(fraction: float, message: str) -> None:
        # Called from the engine's worker thread; progress is written on the event loop.
        asyncio.run_coroutine_threadsafe(ctx.progress(fraction * 90, "search", message), loop)

    try:
        refined = await engine.refine(reference, instant, report)
    except Exception:
        await _mark_failed(c, voice_id, engine.info.name, revision)
        raise
    await ctx.progress(95, "store")
    async with c.sessions() as session:
        # The voice row is locked before its profile row, in the order a deletion locks them.
        voice = await session.get(Voice, voice_id, with_for_update=True)
        if voice is None:
            raise PermanentJobError("voice_not_found", "the voice was deleted")
        stored = await store_profile(c, session, voice_id, refined, if_revision=revision)
        if stored is None:  # also when the voice is deleted right now: its row goes with it
            await forget_discarded(c, session, voice_id, [refined])
            await ctx.progress(99, "store", SUPERSEDED)
            return {"voice_id": voice_id, "superseded": True, "metrics": refined.metrics}
        voice.profile_status = ProfileStatus.ready
        voice.profile_similarity = refined.metrics.get("similarity_estimate")
        await commit_stored(c, session, stored)
    return {"voice_id": voice_id, "superseded": False, "metrics": refined.metrics}


async def _mark_failed(c: Container, voice_id: str, engine: str, revision: int) -> None:
    """The voice's status says the refinement failed, unless a newer profile owns it now."""
    async with c.sessions() as session:
        current = await session.scalar(
            select(VoiceProfileRow.revision).where(
                VoiceProfileRow.voice_id == voice_id, VoiceProfileRow.engine == engine
            )
        )
        voice = await session.get(Voice, voice_id)
        if voice is not None and current == revision:
            voice.profile_status = ProfileStatus.failed
            await session.commit()
