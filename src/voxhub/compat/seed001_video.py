"""Seed 001's video routes over voxhub.renders, in the seed's shapes.

`generate-video` starts a video render (1 token, "checked before the job starts and captured
only on success"; 400 when short); `video-status` and `video-jobs/{id}` report its job with the
seed's step names and statuses; `videos/{file}` serves the MP4 to its owner with ranges.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Body, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from voxhub.accounts.deps import CurrentPrincipal
from voxhub.api.deps import ContainerDep, SessionDep
from voxhub.api.ranges import ranged
from voxhub.compat.seed001 import Seed001Route
from voxhub.core.errors import JobNotFound
from voxhub.jobs.models import Job
from voxhub.renders import media, service
from voxhub.renders.media import RenderFileNotFound
from voxhub.renders.models import ScriptRender
from voxhub.renders.schemas import RenderCreate
from voxhub.renders.views import current_step
from voxhub.safety.legacy import ensure_marked_video
from voxhub.safety.marking import generated_headers
from voxhub.scripts.service import get_script

router = APIRouter(tags=["compat: seed 001"], route_class=Seed001Route)

# voxhub's job statuses in the seed's words.
STATUS = {
    "queued": "queued",
    "running": "in_progress",
    "succeeded": "completed",
    "failed": "failed",
    "dead": "failed",
    "cancelled": "cancelled",
}
STEP_STATUS = {"pending": "pending", "in_progress": "in_progress", "completed": "completed"}
_VIDEO_FILE = re.compile(r"([0-9a-f-]{36})\.mp4")


class Seed001Step(BaseModel):
    stepName: str
    status: str
    progress: float
    message: str
    startedAt: datetime | None
    completedAt: datetime | None
    errorMessage: str | None


class Seed001VideoJob(BaseModel):
    jobId: str
    scriptId: str
    userId: str
    status: str
    overallProgress: float
    currentStep: str
    steps: list[Seed001Step]
    totalSteps: int
    completedSteps: int
    createdAt: datetime
    startedAt: datetime | None
    completedAt: datetime | None
    finalVideoPath: str | None
    videoDuration: float | None
    videoSize: int | None
    errorMessage: str | None


class Seed001VideoStarted(BaseModel):
    job: Seed001VideoJob
    message: str


class Seed001VideoStatus(BaseModel):
    scriptId: str
    status: str
    stage: str
    progress: float
    message: str
    startedAt: datetime | None
    completedAt: datetime | None
    errorMessage: str | None
    finalVideoPath: str | None


class Seed001GenerateVideo(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    # A background clip you uploaded (POST /api/v1/backgrounds), by file name or id; none: a
    # generated background.
    backgroundVideo: str | None = Field(None, min_length=1, max_length=200)


def video_path(render: ScriptRender) -> str | None:
    return f"/api/videos/{render.id}.mp4" if render.video_key else None


def _stamp(value: object) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None


def _step(s: dict[str, object]) -> Seed001Step:
    status = str(s.get("status", "pending"))
    return Seed001Step(
        stepName=str(s["name"]),
        status=STEP_STATUS.get(status, "failed" if status in ("failed", "dead") else status),
        progress=float(s.get("progress") or 0),  # type: ignore[arg-type]
        message=str(s.get("message") or ""),
        startedAt=_stamp(s.get("started_at")),
        completedAt=_stamp(s.get("completed_at")),
        errorMessage=str(s["error"]) if s.get("error") else None,
    )


def _error(job: Job) -> str | None:
    return str(job.error.get("message")) if job.error else None


def video_job(render: ScriptRender, job: Job) -> Seed001VideoJob:
    steps = [_step(s) for s in job.steps]
    return Seed001VideoJob(
        jobId=job.id,
        scriptId=render.script_id,
        userId=render.owner_id,
        status=STATUS.get(job.status, job.status),
        overallProgress=float(job.progress),
        currentStep=current_step(job) or ("completed" if job.status == "succeeded" else ""),
        steps=steps,
        totalSteps=len(steps),
        completedSteps=sum(1 for s in steps if s.status == "completed"),
        createdAt=job.created_at,
        startedAt=job.started_at,
        completedAt=job.finished_at,
        finalVideoPath=video_path(render),
        videoDuration=render.duration_s if render.video_key else None,
        videoSize=render.video_size,
        errorMessage=_error(job),
    )


@router.post(
    "/api/scripts/{script_id}/generate-video",
    response_model=Seed001VideoStarted,
    responses={
        400: {"description": "Not enough tokens (1 token per video)"},
        404: {"description": "No such script or background of yours"},
        422: {"description": "A line that cannot be spoken (naming it), or a bad body"},
        429: {"description": "Too many of your jobs are waiting"},
    },
)
async def generate_video(
    script_id: str,
    c: ContainerDep,
    session: SessionDep,
    p: CurrentPrincipal,
    body: Annotated[Seed001GenerateVideo | None, Body()] = None,
) -> Seed001VideoStarted:
    """Start the video of a script as a background job (1 token, taken on success)."""
    data = RenderCreate(kind="video", background=body.backgroundVideo if body else None)
    render, job = await service.start_render(c, session, script_id, data, p)
    return Seed001VideoStarted(
        job=video_job(render, job),
        message=f"Video generation started successfully! Job ID: {job.id}",
    )


@router.get(
    "/api/scripts/{script_id}/video-status",
    response_model=Seed001VideoStatus,
    responses={404: {"description": "No such script of yours, or no video asked for yet"}},
)
async def video_status(
    script_id: str, session: SessionDep, p: CurrentPrincipal
) -> Seed001VideoStatus:
    script = await get_script(session, script_id, p)
    latest = await service.latest_render(session, script.id, "video")
    render, job = latest if latest is not None else (None, None)
    if render is None or job is None:
        raise JobNotFound(f"no video was asked for script {script_id}", script_id=script_id)
    step = current_step(job)
    message = next((str(s.get("message") or "") for s in job.steps if s["name"] == step), "")
    return Seed001VideoStatus(
        scriptId=script.id,
        status=STATUS.get(job.status, job.status),
        stage=step or ("completed" if job.status == "succeeded" else job.status),
        progress=float(job.progress),
        message=message,
        startedAt=job.started_at,
        completedAt=job.finished_at,
        errorMessage=_error(job),
        finalVideoPath=video_path(render),
    )


@router.get(
    "/api/video-jobs/{job_id}",
    response_model=Seed001VideoJob,
    responses={404: {"description": "No such video job of yours"}},
)
async def get_video_job(job_id: str, session: SessionDep, p: CurrentPrincipal) -> Seed001VideoJob:
    render = await session.scalar(
        select(ScriptRender).where(
            ScriptRender.job_id == job_id,
            ScriptRender.owner_id == p.user_id,
            ScriptRender.kind == "video",
        )
    )
    job = await service.job_of(session, render) if render else None
    if render is None or job is None:
        raise JobNotFound(f"no video job {job_id}", job_id=job_id)
    return video_job(render, job)


@router.get(
    "/api/videos/{filename}",
    response_class=Response,
    responses={
        200: {"content": {"video/mp4": {}}, "description": "The MP4"},
        206: {"description": "The byte range asked for"},
        404: {"description": "No such video of yours"},
        416: {"description": "The range is outside the file"},
    },
)
async def get_video(
    filename: str, request: Request, c: ContainerDep, session: SessionDep, p: CurrentPrincipal
) -> Response:
    """A finished video, to its owner, with range requests (seekable in a browser)."""
    match = _VIDEO_FILE.fullmatch(filename)
    if match is None:
        raise RenderFileNotFound(f"no video {filename}")
    render, _ = await service.get_render(session, match[1], p)
    data = await media.video(c, render)
    # A video made before outputs were marked gets a marked soundtrack as it leaves.
    data = await ensure_marked_video(c, session, render, data)
    return ranged(data, "video/mp4", request.headers.get("range"), generated_headers(render.id))
