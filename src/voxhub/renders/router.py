"""/api/v1/scripts/{id}/renders, /api/v1/renders and /api/v1/backgrounds.

A render speaks every line of a script in its character's voice (lines unchanged since the
last render come from the line cache), mixes them with pauses, crossfades and an optional
ambience bed at the target loudness, and makes captions from the engine's word timings; a
video render also films it (H.264 + AAC MP4). It runs as a job: cancel or watch it through
/api/v1/jobs/{job_id}.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Path, Query, Request, Response, UploadFile, status

from voxhub.accounts.deps import CurrentPrincipal
from voxhub.api.deps import ContainerDep, SessionDep
from voxhub.api.forms import FormRoute
from voxhub.api.ranges import ranged
from voxhub.audio.encode import FORMATS
from voxhub.renders import backgrounds, media, service
from voxhub.renders.schemas import (
    BackgroundList,
    BackgroundRead,
    RenderCreate,
    RenderPage,
    RenderRead,
)
from voxhub.renders.views import render_read
from voxhub.safety.legacy import ensure_marked, ensure_marked_video
from voxhub.safety.marking import generated_headers
from voxhub.security.deps import limited

router = APIRouter(tags=["renders"], route_class=FormRoute)
Responses = dict[int | str, dict[str, Any]]
NOT_FOUND: Responses = {404: {"description": "No such render of yours (`render_not_found`)"}}
FILE: Responses = {404: {"description": "No such render, or it has no such file yet"}}
START: Responses = {
    402: {"description": "Not enough credits (`insufficient_credits`)"},
    404: {"description": "No such script or background of yours"},
    422: {
        "description": "A line that cannot be spoken (`invalid_script_line`, "
        "`character_has_no_voice`, naming the line), or bad options"
    },
    429: {"description": "Too many of your jobs are waiting (`job_limit_reached`)"},
}
AUDIO: Responses = FILE | {
    200: {"content": {spec.media_type: {} for spec in FORMATS.values()}, "description": "Audio"},
    206: {"description": "The byte range asked for"},
    416: {"description": "The range is outside the file"},
}
VIDEO: Responses = FILE | {
    200: {"content": {"video/mp4": {}}, "description": "The MP4"},
    206: {"description": "The byte range asked for"},
    416: {"description": "The range is outside the file"},
}


@router.post(
    "/api/v1/scripts/{script_id}/renders",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=RenderRead,
    responses=START,
    dependencies=[limited("tts")],
)
async def start_render(
    script_id: str, data: RenderCreate, c: ContainerDep, session: SessionDep, p: CurrentPrincipal
) -> RenderRead:
    """Render the script's dialogue (and, with `kind: video`, a video) as a job."""
    render, job = await service.start_render(c, session, script_id, data, p)
    return render_read(render, job)


@router.get(
    "/api/v1/scripts/{script_id}/renders",
    response_model=RenderPage,
    responses={404: {"description": "No such script of yours (`script_not_found`)"}},
)
async def list_renders(
    script_id: str,
    session: SessionDep,
    p: CurrentPrincipal,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> RenderPage:
    rows, nxt = await service.list_renders(session, script_id, p, limit, cursor)
    return RenderPage(items=[render_read(r, j) for r, j in rows], next_cursor=nxt)


@router.get("/api/v1/renders/{render_id}", response_model=RenderRead, responses=NOT_FOUND)
async def get_render(render_id: str, session: SessionDep, p: CurrentPrincipal) -> RenderRead:
    return render_read(*await service.get_render(session, render_id, p))


@router.get("/api/v1/renders/{render_id}/audio", response_class=Response, responses=AUDIO)
async def render_audio(
    render_id: str, request: Request, c: ContainerDep, session: SessionDep, p: CurrentPrincipal
) -> Response:
    """The mixed dialogue, with range requests."""
    render, _ = await service.get_render(session, render_id, p)
    data, media_type = await media.audio(c, render)
    fmt = render.options.get("format", "wav")
    # A mix stored before outputs were marked is marked as it leaves.
    data = await ensure_marked(
        c, session, data, fmt, None, kind="render", object_id=render.id, owner_id=render.owner_id
    )
    return ranged(data, media_type, request.headers.get("range"), generated_headers(render.id))


@router.get("/api/v1/renders/{render_id}/video", response_class=Response, responses=VIDEO)
async def render_video(
    render_id: str, request: Request, c: ContainerDep, session: SessionDep, p: CurrentPrincipal
) -> Response:
    """The MP4 (faststart: it plays while it downloads), with range requests."""
    render, _ = await service.get_render(session, render_id, p)
    data = await media.video(c, render)
    # A video made before outputs were marked gets a marked soundtrack as it leaves.
    data = await ensure_marked_video(c, session, render, data)
    return ranged(data, "video/mp4", request.headers.get("range"), generated_headers(render.id))


@router.get(
    "/api/v1/renders/{render_id}/lines/{index}/audio",
    response_class=Response,
    responses=FILE | {200: {"content": {"audio/wav": {}}, "description": "One line's WAV"}},
)
async def line_audio(
    render_id: str,
    index: Annotated[int, Path(ge=0, le=1000)],
    c: ContainerDep,
    session: SessionDep,
    p: CurrentPrincipal,
) -> Response:
    """One line as it was rendered (trimmed and levelled, before the mix)."""
    render, _ = await service.get_render(session, render_id, p)
    data, take_id = await media.line_audio(c, session, render, index)
    headers = {"Cache-Control": "private, no-cache"} | generated_headers(take_id)
    return Response(data, media_type="audio/wav", headers=headers)


@router.get(
    "/api/v1/renders/{render_id}/captions.{fmt}",
    response_class=Response,
    responses=FILE
    | {200: {"content": {"application/x-subrip": {}, "text/vtt": {}}, "description": "Captions"}},
)
async def render_captions(
    render_id: str,
    fmt: Annotated[str, Path(pattern="^(srt|vtt)$")],
    session: SessionDep,
    p: CurrentPrincipal,
) -> Response:
    """Captions for the whole dialogue from the engine's word timings (SubRip or WebVTT)."""
    render, _ = await service.get_render(session, render_id, p)
    text = media.captions(render, fmt)
    media_type = "application/x-subrip" if fmt == "srt" else "text/vtt"
    return Response(text, media_type=f"{media_type}; charset=utf-8")


@router.post(
    "/api/v1/backgrounds",
    status_code=status.HTTP_201_CREATED,
    response_model=BackgroundRead,
    responses={
        409: {"description": "A background of yours has that name, or you have too many"},
        413: {"description": "The clip is too large"},
        415: {"description": "Not a video (`unsupported_media_type`)"},
        422: {"description": "Too long, too many pixels, or undecodable"},
    },
)
async def upload_background(
    c: ContainerDep,
    p: CurrentPrincipal,
    file: Annotated[UploadFile, File(description="A video clip (MP4, WebM, MOV...)")],
    name: Annotated[str | None, Form(min_length=1, max_length=200)] = None,
) -> BackgroundRead:
    """A clip to film your dialogues over (looped or trimmed to the dialogue's length)."""
    label = (name or file.filename or "background").strip()[:200] or "background"
    row = await backgrounds.upload(c, label, await file.read(), p)
    return BackgroundRead.model_validate(row)


@router.get("/api/v1/backgrounds", response_model=BackgroundList)
async def list_backgrounds(session: SessionDep, p: CurrentPrincipal) -> BackgroundList:
    rows = await backgrounds.list_backgrounds(session, p)
    return BackgroundList(items=[BackgroundRead.model_validate(r) for r in rows])


@router.delete(
    "/api/v1/backgrounds/{ref}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={404: {"description": "No such background of yours"}},
)
async def delete_background(ref: str, c: ContainerDep, p: CurrentPrincipal) -> Response:
    await backgrounds.delete_background(c, ref, p)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
