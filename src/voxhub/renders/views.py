"""A render as the primary API shows it: its outputs with their URLs and its job's state."""

from __future__ import annotations

from voxhub.jobs.models import Job
from voxhub.renders.models import ScriptRender
from voxhub.renders.schemas import RenderedLine, RenderRead


def current_step(job: Job | None) -> str | None:
    if job is None:
        return None
    running = [s["name"] for s in job.steps if s.get("status") == "in_progress"]
    return running[0] if running else None


def render_read(render: ScriptRender, job: Job | None) -> RenderRead:
    base = f"/api/v1/renders/{render.id}"
    done = render.audio_key is not None
    return RenderRead(
        id=render.id,
        script_id=render.script_id,
        job_id=render.job_id,
        kind=render.kind,
        status=job.status if job else "failed",
        progress=job.progress if job else 0,
        current_step=current_step(job),
        steps=list(job.steps) if job else [],
        revision=render.revision,
        options=render.options,
        duration_s=render.duration_s,
        loudness_lufs=render.loudness_lufs,
        true_peak_dbtp=render.true_peak_dbtp,
        audio_url=f"{base}/audio" if done else None,
        video_url=f"{base}/video" if render.video_key else None,
        captions_srt_url=f"{base}/captions.srt" if done else None,
        captions_vtt_url=f"{base}/captions.vtt" if done else None,
        video_size=render.video_size,
        lines=[
            RenderedLine(
                index=entry["index"],
                line_id=entry["line_id"],
                speaker=entry["speaker"],
                start=entry["start"],
                end=entry["end"],
                audio_url=f"{base}/lines/{entry['index']}/audio",
            )
            for entry in render.lines
        ],
        error=job.error if job else None,
        created_at=render.created_at,
    )
