"""The video step: the mixed dialogue filmed over its background, one shot per line.

The encoder runs in a thread (it is CPU work for seconds to minutes); this side reports its
progress to the job every half second, which is also where a cancel is noticed, and then
tells the encoder to stop. The MP4 is built in a temporary folder that is always removed.
"""

from __future__ import annotations

import asyncio
import tempfile
import threading
from pathlib import Path

from voxhub.container import Container
from voxhub.jobs.executor import JobContext
from voxhub.renders.backgrounds import background_blob
from voxhub.renders.mixdown import Dialogue
from voxhub.renders.models import ScriptRender
from voxhub.renders.plan import RenderPlan
from voxhub.safety.marking import output_tags
from voxhub.video.compose import Shot, compose
from voxhub.video.cues import cues_from_words

POLL_S = 0.5


async def film(
    c: Container, ctx: JobContext, render: ScriptRender, plan: RenderPlan, dialogue: Dialogue
) -> bytes:
    images: dict[str, bytes] = {}
    for line in plan.lines:
        if line.image_key and line.image_key not in images:
            images[line.image_key] = await c.blobs.get(line.image_key)
    shots = [
        Shot(p.start, p.end, images.get(line.image_key or ""), plan.cast[line.speaker].name)
        for line, p in zip(plan.lines, dialogue.placements, strict=True)
    ]
    cues = cues_from_words([(w.word, w.start, w.end) for w in dialogue.words])
    with tempfile.TemporaryDirectory(prefix="voxhub-video-") as tmp:
        background = None
        if render.options.get("background_id"):
            background = Path(tmp) / "background"
            clip = await background_blob(c, render.options["background_id"], render.owner_id)
            await asyncio.to_thread(background.write_bytes, clip)  # up to the upload cap
        out = Path(tmp) / "final.mp4"
        done = 0.0
        stop = threading.Event()

        def progress(fraction: float) -> None:
            nonlocal done
            done = fraction

        work = asyncio.create_task(
            asyncio.to_thread(
                compose,
                out,
                dialogue.samples,
                dialogue.rate,
                shots,
                cues,
                background,
                progress=progress,
                should_stop=stop.is_set,
                tags=output_tags(render.id),
            )
        )
        try:
            while not work.done():
                await asyncio.wait({work}, timeout=POLL_S)
                await ctx.progress(
                    65 + 28 * done, "video_generation", "Rendering video segments...", 100 * done
                )
        except BaseException:
            stop.set()  # the encoder stops at its next frame; its half file is its own to remove
            await asyncio.gather(work, return_exceptions=True)
            raise
        await work
        return await asyncio.to_thread(out.read_bytes)  # megabytes: not on the event loop
