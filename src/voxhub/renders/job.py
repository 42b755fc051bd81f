"""The render job: a script spoken line by line, mixed, captioned and (for a video) filmed.

Steps, each moving its own progress: audio_validation (lines and voices), audio_generation (a
take per line from the cache or the engine; the mix), captioning (cues from the words),
video_generation (videos only), finalizing (store and commit). Cancelling stops it at the next
line or within a second of the encoder; the job's credit hold is released by its final state.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from voxhub.ambience.schemas import Ambience
from voxhub.container import Container
from voxhub.jobs.errors import PermanentJobError
from voxhub.jobs.executor import JobContext
from voxhub.renders import store
from voxhub.renders.mixdown import Dialogue, mix_dialogue
from voxhub.renders.models import LineTake, ScriptRender
from voxhub.renders.plan import RenderPlan, plan_render
from voxhub.renders.takes import LineFailed, take_for
from voxhub.renders.timeline import Take
from voxhub.scripts.models import Script
from voxhub.synthesis.jobs import job_principal

log = logging.getLogger(__name__)

AUDIO_STEPS = ["audio_validation", "audio_generation", "captioning", "finalizing"]
VIDEO_STEPS = [
    "audio_validation",
    "audio_generation",
    "captioning",
    "video_generation",
    "finalizing",
]


async def render_job(c: Container, ctx: JobContext) -> dict[str, Any]:
    render_id = ctx.payload["render_id"]
    owner = await job_principal(c, ctx.owner_id)
    await ctx.progress(1, "audio_validation", "Checking the lines and their voices", 0)
    async with c.sessions() as session:
        render = await session.get(ScriptRender, render_id)
        script = await session.get(Script, render.script_id) if render else None
        if render is None or script is None:
            raise PermanentJobError("script_not_found", "the script was deleted")
        plan = await plan_render(c, session, script, owner)
        await session.commit()
    # A failure's activity is the job's to record, with its final state (jobs/endings.py).
    return await _render(c, ctx, render, plan)


async def _render(
    c: Container, ctx: JobContext, render: ScriptRender, plan: RenderPlan
) -> dict[str, Any]:
    n = len(plan.lines)
    await ctx.progress(4, "audio_validation", f"Found {n} lines and {len(plan.cast)} voices", 100)
    made = await _speak_lines(c, ctx, plan)
    options = render.options
    ambience = Ambience.model_validate(options["ambience"]) if options.get("ambience") else None
    rate = next(iter(plan.cast.values())).engine.info.sample_rate
    dialogue: Dialogue = await asyncio.to_thread(
        mix_dialogue,
        [take for _, take in made],
        plan.lines,
        plan.cast,
        rate,
        c.settings.renders,
        options.get("gap_ms"),
        ambience,
        c.watermarker,  # the file and the video's soundtrack are these marked samples
    )
    await ctx.progress(62, "captioning", "Timing the captions", 0)
    video = None
    if render.kind == "video":
        from voxhub.renders.filming import film  # PyAV's encoder only where videos are made

        await ctx.progress(65, "video_generation", "Rendering video segments...", 0)
        video = await film(c, ctx, render, plan, dialogue)
    await ctx.progress(95, "finalizing", "Storing the results", 0)
    return await store.finish(c, ctx, render, plan, dialogue, [row for row, _ in made], video)


async def _speak_lines(
    c: Container, ctx: JobContext, plan: RenderPlan
) -> list[tuple[LineTake, Take]]:
    """Each line's take, in order; a step boundary per line, so a cancel stops at the next."""
    n = len(plan.lines)
    attempts = c.settings.renders.render_line_attempts
    made: list[tuple[LineTake, Take]] = []
    for i, line in enumerate(plan.lines):
        await ctx.progress(
            5 + 55 * i / n,
            "audio_generation",
            f"Generating audio files... ({i}/{n} completed)",
            100 * i / n,
        )
        try:
            made.append(
                await take_for(c, plan.script_id, plan.cast[line.speaker], line.text, attempts)
            )
        except LineFailed as exc:
            raise PermanentJobError(
                "line_render_failed",
                f"line {line.index} could not be spoken after {attempts} tries: {exc}",
                index=line.index,
                line_id=line.line_id,
            ) from exc
    await ctx.progress(
        60, "audio_generation", f"Generating audio files... ({n}/{n} completed)", 100
    )
    return made
