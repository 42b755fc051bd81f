"""/api/v1/speech and /api/v1/generations."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response, status
from fastapi.responses import JSONResponse, StreamingResponse

from voxhub.accounts.deps import CurrentPrincipal
from voxhub.api.deps import ContainerDep, SessionDep
from voxhub.audio.encode import FORMATS
from voxhub.compat.seed004_body import OffLoopJsonRoute
from voxhub.jobs.schemas import JobRead
from voxhub.safety.legacy import outgoing_audio
from voxhub.safety.marking import generated_headers
from voxhub.security.deps import limited
from voxhub.synthesis import multipart, queries, service, timed
from voxhub.synthesis.models import Generation
from voxhub.synthesis.schemas import (
    GenerationPage,
    GenerationRead,
    GenerationTimings,
    SpeechRequest,
    TimedSpeech,
)
from voxhub.synthesis.streaming import open_stream

# Speech bodies can be large (a 100,000-character job): parsed in a thread when they are.
router = APIRouter(tags=["speech"], route_class=OffLoopJsonRoute)

TIMED_MULTIPART: dict[str, object] = {
    "schema": {
        "type": "object",
        "description": "`timings: true` with `Accept: multipart/mixed`: two parts, the audio"
        " in its own media type (Content-Disposition filename `{generation_id}.{ext}`), then"
        " its timings as `application/json`, the body of"
        " GET /api/v1/generations/{id}/timings",
        "properties": {
            "audio": {"type": "string", "format": "binary"},
            "timings": {"$ref": "#/components/schemas/GenerationTimings"},
        },
    }
}
AUDIO_RESPONSES: dict[int | str, dict[str, object]] = {
    200: {
        "model": TimedSpeech,  # application/json: `timings: true`
        "content": {spec.media_type: {} for spec in FORMATS.values()}
        | {multipart.MIXED: TIMED_MULTIPART},
        "description": "Audio; with `timings: true`, JSON with the audio in base64 and its"
        " word times, or (`Accept: multipart/mixed`) the audio and its timings as two parts",
    },
    202: {"model": JobRead, "description": "Queued as a job (`async: true`)"},
    406: {
        "description": "`timings: true` with an `Accept` header that allows neither"
        " `application/json` nor `multipart/mixed`: `not_acceptable`, before anything is paid"
    },
}


def generation_read(gen: Generation) -> GenerationRead:
    """The view of a generation, with the URL of its audio."""
    read = GenerationRead.model_validate(gen)
    read.audio_url = f"/api/v1/generations/{gen.id}/audio"
    return read


def _audio_headers(gen: Generation, cached: bool) -> dict[str, str]:
    headers = {
        "X-Voxhub-Generation-Id": gen.id,
        "X-Voxhub-Engine": f"{gen.engine}/{gen.engine_version}",
        "X-Voxhub-Duration": f"{gen.duration_s:.3f}",
        "X-Voxhub-Cache": "hit" if cached else "miss",
    }
    # A file a client kept with seed 004's save is theirs, not voxhub's speech.
    return headers | generated_headers(gen.id) if gen.made_here else headers


@router.post(
    "/api/v1/speech",
    response_class=Response,
    responses=AUDIO_RESPONSES,
    dependencies=[limited("tts")],
)
async def create_speech(
    req: SpeechRequest,
    request: Request,
    c: ContainerDep,
    session: SessionDep,
    p: CurrentPrincipal,
) -> Response:
    """Speak text in a voice: audio bytes, a chunked stream (`stream`), or a job (`async`).
    With `timings: true`, `Accept` chooses JSON (the default) or `multipart/mixed`."""
    if req.run_async:
        job = await service.queue_speech(c, session, req, p)
        body = JobRead.model_validate(job).model_dump(mode="json")
        return JSONResponse(
            body,
            status_code=status.HTTP_202_ACCEPTED,
            headers={"Location": f"/api/v1/jobs/{job.id}"},
        )
    if req.stream:
        opened = await open_stream(c, session, req, p)
        return StreamingResponse(
            opened.chunks, media_type=opened.media_type, headers=opened.headers
        )
    if req.timings:
        # Read from the request, not declared as a parameter: `Accept` only matters here, and
        # a declared header would be documented (and fuzzed) for every speech request.
        answer = multipart.negotiate(request.headers.get("accept"))  # 406 before any work
        if answer == multipart.MIXED:
            gen, timed_body, content_type, from_cache = await multipart.speak_multipart(
                c, session, req, p
            )
        else:
            gen, timed_body, from_cache = await timed.speak_timed(c, session, req, p)
            content_type = multipart.JSON
        # The answer depends on Accept: shared caches must not give one client's to another.
        headers = _audio_headers(gen, from_cache) | {"Vary": "Accept"}
        return Response(timed_body, media_type=content_type, headers=headers)
    gen, data, from_cache = await service.speak(c, session, req, p, "sync")
    media_type = FORMATS[req.format].media_type
    return Response(data, media_type=media_type, headers=_audio_headers(gen, from_cache))


@router.get("/api/v1/generations", response_model=GenerationPage)
async def list_generations(
    session: SessionDep,
    p: CurrentPrincipal,
    voice_id: str | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> GenerationPage:
    """Your generations, newest first."""
    items, nxt = await queries.list_generations(session, p, voice_id, limit, cursor)
    return GenerationPage(items=[generation_read(g) for g in items], next_cursor=nxt)


@router.get("/api/v1/generations/{generation_id}", response_model=GenerationRead)
async def get_generation(
    generation_id: str, session: SessionDep, p: CurrentPrincipal
) -> GenerationRead:
    """One generation."""
    return generation_read(await queries.get_generation(session, generation_id, p))


@router.get("/api/v1/generations/{generation_id}/audio", response_class=Response)
async def get_generation_audio(
    generation_id: str, c: ContainerDep, session: SessionDep, p: CurrentPrincipal
) -> Response:
    """The stored audio of a generation."""
    gen = await queries.get_generation(session, generation_id, p)
    data = await outgoing_audio(c, session, gen)
    return Response(
        data, media_type=FORMATS[gen.format].media_type, headers=_audio_headers(gen, True)
    )


CAPTIONS = {"srt": "application/x-subrip", "vtt": "text/vtt"}
TIMINGS_MISSING: dict[int | str, dict[str, object]] = {
    404: {"description": "No such generation of yours, or recorded without timings"},
}


@router.get(
    "/api/v1/generations/{generation_id}/timings",
    response_model=GenerationTimings,
    responses=TIMINGS_MISSING,
)
async def get_generation_timings(
    generation_id: str, c: ContainerDep, session: SessionDep, p: CurrentPrincipal
) -> Response:
    """The engine's word times (seconds from the start of the audio), and the characters of
    the generation's text timed from them; 404 `timings_not_found` for an older generation."""
    gen = await queries.get_generation(session, generation_id, p)
    return Response(await timed.timings_json(c, gen), media_type="application/json")


@router.get(
    "/api/v1/generations/{generation_id}/captions.{fmt}",
    response_class=Response,
    responses=TIMINGS_MISSING
    | {200: {"content": {t: {} for t in CAPTIONS.values()}, "description": "Captions"}},
)
async def get_generation_captions(
    generation_id: str,
    fmt: Annotated[str, Path(pattern="^(srt|vtt)$")],
    c: ContainerDep,
    session: SessionDep,
    p: CurrentPrincipal,
) -> Response:
    """Captions of the generation from its word times (SubRip or WebVTT)."""
    gen = await queries.get_generation(session, generation_id, p)
    text = await timed.captions(c, gen, fmt)
    return Response(text, media_type=f"{CAPTIONS[fmt]}; charset=utf-8")
