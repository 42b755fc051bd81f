"""The render's one commit: its files stored, its row filled, the job succeeded, the activity
written, older renders of the script let go; or, on failure, the failure's activity.

Files are written before the commit and removed if it fails. Renders that this one replaces
(the script's earlier ones of the same kind) and the takes no render uses any more are removed
through the blob outbox, promised in the same commit.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, select

from voxhub.activities.service import record as record_activity
from voxhub.audio.encode import FORMATS, encode
from voxhub.audit import service as audit
from voxhub.container import Container
from voxhub.jobs.executor import JobContext
from voxhub.jobs.lifecycle import JobCancelled
from voxhub.renders.mixdown import Dialogue
from voxhub.renders.models import LineTake, ScriptRender
from voxhub.renders.plan import RenderPlan
from voxhub.safety.marking import note_output, output_tags
from voxhub.storage import outbox
from voxhub.storage.outbox import drain


def audio_key(render: ScriptRender, fmt: str) -> str:
    return f"scripts/{render.script_id}/renders/{render.id}.{FORMATS[fmt].extension}"


def video_key(render: ScriptRender) -> str:
    return f"scripts/{render.script_id}/renders/{render.id}.mp4"


def _activity(kind: str, outcome: str) -> str:
    return f"{'video_generation' if kind == 'video' else 'dialogue_render'}_{outcome}"


async def finish(
    c: Container,
    ctx: JobContext,
    render: ScriptRender,
    plan: RenderPlan,
    dialogue: Dialogue,
    takes: Sequence[LineTake],
    video: bytes | None,
) -> dict[str, Any]:
    fmt = render.options.get("format", "wav")
    tags = output_tags(render.id)
    data = await asyncio.to_thread(
        encode, dialogue.samples, dialogue.rate, fmt, dialogue.rate, tags
    )
    keys = [audio_key(render, fmt)]
    await c.blobs.put(keys[0], data, FORMATS[fmt].media_type)
    if video is not None:
        keys.append(video_key(render))
        await c.blobs.put(keys[1], video, "video/mp4")
    duration_s = round(len(dialogue.samples) / dialogue.rate, 3)
    lufs = _rounded(dialogue.loudness.integrated_lufs)
    peak = _rounded(dialogue.loudness.true_peak_dbtp)
    result = {
        "render_id": render.id,
        "script_id": render.script_id,
        "duration_s": duration_s,
        "loudness_lufs": lufs,
        "true_peak_dbtp": peak,
        "audio_url": f"/api/v1/renders/{render.id}/audio",
        "video_url": f"/api/v1/renders/{render.id}/video" if video is not None else None,
    }
    deletions: list[str] = []
    try:
        async with c.sessions() as session:
            row = await session.get(ScriptRender, render.id)
            if row is None:
                raise JobCancelled(ctx.job_id)  # the script was deleted while it rendered
            row.audio_key = keys[0]
            row.audio_size = len(data)
            row.video_key = keys[1] if video is not None else None
            row.video_size = len(video) if video is not None else None
            row.duration_s, row.loudness_lufs, row.true_peak_dbtp = duration_s, lufs, peak
            row.lines = [
                {
                    "index": line.index,
                    "line_id": line.line_id,
                    "speaker": line.speaker,
                    "take_id": take.id,
                    "start": round(p.start, 3),
                    "end": round(p.end, 3),
                }
                for line, take, p in zip(plan.lines, takes, dialogue.placements, strict=True)
            ]
            row.words = [[w.word, w.start, w.end] for w in dialogue.words]
            deletions = await _let_go(session, row, {t.id for t in takes})
            owner = row.owner_id
            media_type = FORMATS[fmt].media_type
            await note_output(
                session,
                data,
                kind="render",
                object_id=row.id,
                owner_id=owner,
                media_type=media_type,
            )
            # Who made what, kept after the render is deleted (the audit log is append-only).
            audit.record(
                session,
                "render_generated",
                actor_id=owner,
                target_type="render",
                target_id=row.id,
                script_id=row.script_id,
                kind=row.kind,
                duration_s=duration_s,
            )
            if video is not None:
                await note_output(
                    session,
                    video,
                    kind="render",
                    object_id=row.id,
                    owner_id=owner,
                    media_type="video/mp4",
                )
            record_activity(
                session,
                row.owner_id,
                _activity(row.kind, "completed"),
                f"{'Video generation' if row.kind == 'video' else 'Dialogue audio'} completed "
                f"successfully for script '{plan.title}'",
                script_id=row.script_id,
                job_id=ctx.job_id,
                video_path=f"/api/videos/{row.id}.mp4" if video is not None else None,
            )
            await ctx.succeed_in(session, result)
            await session.commit()
    except BaseException:
        for key in keys:
            await c.blobs.delete(key)
        raise
    if deletions:
        await drain(c.sessions, c.blobs, deletions)
    return result


async def _let_go(session: Any, row: ScriptRender, used: set[str]) -> list[str]:
    """Forget the script's earlier finished renders of this kind and the takes no remaining
    render uses; promise their files' removal. Returns the outbox rows' ids."""
    older = (
        await session.scalars(
            select(ScriptRender).where(
                ScriptRender.script_id == row.script_id,
                ScriptRender.kind == row.kind,
                ScriptRender.id != row.id,
                ScriptRender.audio_key.is_not(None),
            )
        )
    ).all()
    promises = []
    for old in older:
        for key in (old.audio_key, old.video_key):
            if key:
                promises.append(outbox.enqueue(session, key, "render replaced").id)
        await session.delete(old)
    kept = (
        await session.scalars(
            select(ScriptRender.lines).where(
                ScriptRender.script_id == row.script_id, ScriptRender.id != row.id
            )
        )
    ).all()
    for lines in [*kept]:
        used |= {entry["take_id"] for entry in lines or []}
    stale = (
        await session.scalars(
            select(LineTake).where(LineTake.script_id == row.script_id, LineTake.id.not_in(used))
        )
    ).all()
    for take in stale:
        promises.append(outbox.enqueue(session, take.blob_key, "take no longer used").id)
    if stale:
        await session.execute(delete(LineTake).where(LineTake.id.in_([t.id for t in stale])))
    return promises


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 2)
