"""Seed 004 (voice library API): health, the voice library, HMAC-signed clone and TTS.

Client-callable routes take a signed-in caller, who must come with a Firebase (OIDC) ID token
and/or an App Check token when those flags are on. Internal routes take an HMAC signature.
"""

from __future__ import annotations

import asyncio
import binascii
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession

from voxhub.accounts.principal import Principal
from voxhub.api.deps import ContainerDep, SessionDep
from voxhub.api.validation import parse
from voxhub.audio.decode import probe
from voxhub.compat import seed004_jobs as queued
from voxhub.compat.seed004_auth import ClientPrincipal
from voxhub.compat.seed004_body import OffLoopJsonRoute, decode_base64
from voxhub.compat.seed004_checks import check_audio_format, engine_for
from voxhub.compat.seed004_debug import router as debug_routes
from voxhub.compat.seed004_schemas import (
    Seed004Clone,
    Seed004Cloned,
    Seed004Generate,
    Seed004Health,
    Seed004Queued,
    StoryList,
    VoiceInfo,
    VoiceList,
)
from voxhub.compat.seed004_tts_files import router as tts_file_routes
from voxhub.compat.seed004_voice_files import router as voice_file_routes
from voxhub.compat.seed004_voice_files import voxhub_voice_id
from voxhub.core.clock import utcnow
from voxhub.security.deps import limited
from voxhub.security.hmac import HmacRoute, InternalPrincipal, internal_limited
from voxhub.synthesis import queries as generations
from voxhub.synthesis.router import generation_read
from voxhub.synthesis.schemas import GenerationRead, SpeechRequest
from voxhub.voices import service as voices
from voxhub.voices.models import Voice
from voxhub.voices.schemas import LANGUAGE, VoiceCreate, VoiceProfileExport
from voxhub.voices.service import Upload


class _SignedRoute(HmacRoute, OffLoopJsonRoute):
    """Signature checked on the raw bytes, then a large JSON body parsed off the event loop."""


router = APIRouter(tags=["compat: seed 004"])
internal = APIRouter(tags=["compat: seed 004"], route_class=_SignedRoute)


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _urls(request: Request, voice_id: str) -> tuple[str, str]:
    return queued.voice_paths(voice_id, _base(request))


def _info(request: Request, v: Voice) -> VoiceInfo:
    sample, profile = _urls(request, v.id)
    return VoiceInfo(
        voice_id=v.id,
        name=v.name,
        sample_file=sample,
        embedding_file=profile,
        created_date=int(v.created_at.timestamp()),
        language=v.language,
        is_kids_voice=v.is_kids_voice,
    )


async def _library(
    request: Request,
    session: AsyncSession,
    p: Principal,
    language: str | None,
    is_kids_voice: bool | None,
    limit: int,
) -> VoiceList:
    items, _ = await voices.list_voices(
        session, p, language=language, is_kids_voice=is_kids_voice, limit=limit
    )
    infos = [_info(request, v) for v in items]
    return VoiceList(voices=infos, language=language, is_kids_voice=is_kids_voice, total=len(infos))


Limit = Annotated[int, Query(ge=1, le=1000)]


@router.get("/api/health/health", response_model=Seed004Health)
async def health() -> Seed004Health:
    """Service status; always 200 while the server is up, no credentials needed."""
    return Seed004Health(
        status="healthy",
        service="voice-library-api",
        firebase_connected=False,
        timestamp=utcnow().isoformat(),
    )


@router.get("/api/voices", response_model=VoiceList, dependencies=[limited("default")])
async def list_voices(
    request: Request,
    session: SessionDep,
    p: ClientPrincipal,
    language: Annotated[str | None, Query(pattern=LANGUAGE)] = None,
    is_kids_voice: bool | None = None,
    limit: Limit = 200,
) -> VoiceList:
    """Voices you can use (yours and public ones), newest first."""
    return await _library(request, session, p, language, is_kids_voice, limit)


@router.get(
    "/api/voices/by-language/{language}",
    response_model=VoiceList,
    dependencies=[limited("default")],
)
async def voices_by_language(
    request: Request,
    session: SessionDep,
    p: ClientPrincipal,
    language: Annotated[str, Path(pattern=LANGUAGE)],
    is_kids_voice: bool | None = None,
    limit: Limit = 200,
) -> VoiceList:
    """Voices you can use in one language."""
    return await _library(request, session, p, language, is_kids_voice, limit)


@router.get(
    "/api/voices/{voice_id}/profile",
    response_model=VoiceProfileExport,
    dependencies=[limited("default")],
)
async def voice_profile(
    voice_id: str, session: SessionDep, p: ClientPrincipal
) -> VoiceProfileExport:
    """The speaker embedding as a base64 `.npy` (float32 [256]); a saved voice's name works."""
    voice = await voices.get_voice(session, voxhub_voice_id(p, voice_id), p)
    return VoiceProfileExport.of(voice.id, voice.embedding)


@router.get(
    "/api/tts/generations", response_model=list[GenerationRead], dependencies=[limited("default")]
)
async def list_generations(
    session: SessionDep, p: ClientPrincipal, limit: Limit = 100
) -> list[GenerationRead]:
    """Your generations, newest first, as a flat list."""
    items, _ = await generations.list_generations(session, p, None, limit, None)
    return [generation_read(g) for g in items]


async def _decode_audio(data: str) -> bytes:
    """The recording, decoded in a thread: 25 MB of base64 is some 0.3 s of CPU."""
    try:
        return await asyncio.to_thread(decode_base64, data)
    except (binascii.Error, ValueError) as exc:
        bad = {"loc": ("body", "audio_data"), "msg": "not valid base64", "type": "value_error"}
        raise RequestValidationError([bad]) from exc


def _queued(job_id: str, **metadata: str | None) -> JSONResponse:
    """Seed 004's answer with Redis configured: 202, the job to watch."""
    body = Seed004Queued(metadata={"job_id": job_id, **metadata})
    return JSONResponse(
        body.model_dump(), status.HTTP_202_ACCEPTED, {"Location": f"/api/v1/jobs/{job_id}"}
    )


@internal.post(
    "/api/voices/clone",
    response_model=Seed004Cloned,
    responses={
        202: {"model": Seed004Queued, "description": "Queued for a worker (Redis configured)"}
    },
    dependencies=[internal_limited("default"), internal_limited("clone")],
)
async def clone_voice(
    request: Request, body: Seed004Clone, c: ContainerDep, session: SessionDep, p: InternalPrincipal
) -> Seed004Cloned | JSONResponse:
    """Clone a voice from a base64 recording (internal: HMAC-signed when enabled).

    With Redis configured (scale-out) the API holds no model: it answers 202 with a job, and a
    worker creates the voice; the job's result is this route's synchronous answer.
    """
    engine = engine_for(c, body.model_type)  # the clone is enrolled on it
    audio = await _decode_audio(body.audio_data)
    info = await asyncio.to_thread(probe, audio, c.settings.limits)
    check_audio_format(body.audio_format, info)
    meta = parse(
        VoiceCreate, name=body.name, language=body.language, is_kids_voice=body.is_kids_voice
    )
    if c.settings.queue_backend == "redis":
        job = await queued.queue_clone(c, session, audio, body, meta, p)
        return _queued(job.id, name=meta.name)
    upload = Upload(audio, f"{body.name}.{body.audio_format or info.container}")
    voice, reports = await voices.create_voice(c, session, [upload], meta, p, engine=engine)
    answer = queued.cloned(voice, reports[0].model_dump(), body.model_type, _base(request))
    return Seed004Cloned.model_validate(answer)


@internal.post(
    "/api/tts/generate",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=Seed004Queued,
    dependencies=[internal_limited("default"), internal_limited("tts")],
)
async def generate(
    body: Seed004Generate,
    response: Response,
    c: ContainerDep,
    session: SessionDep,
    p: InternalPrincipal,
) -> Seed004Queued:
    """Queue speech in a voice as a job (internal: HMAC-signed when enabled); with a
    `story_id`, the story's audio record (`GET /api/tts/stories/{language}`) follows the job."""
    req = parse(
        SpeechRequest,
        voice_id=body.voice_id,
        text=body.text,
        language=body.language,
        engine=engine_for(c, body.model_type),
        run_async=True,
    )
    story = {"story_id": body.story_id, "story_type": body.story_type, "language": body.language}
    job = await queued.queue_generate(c, session, req, story, p)
    response.headers["Location"] = f"/api/v1/jobs/{job.id}"
    return Seed004Queued(
        metadata={"job_id": job.id, "story_id": body.story_id, "voice_id": body.voice_id}
    )


@router.get(
    "/api/tts/stories/{language}", response_model=StoryList, dependencies=[limited("default")]
)
async def list_stories(
    session: SessionDep,
    p: ClientPrincipal,
    language: Annotated[str, Path(pattern=LANGUAGE)],
    story_type: Annotated[str, Query(max_length=32)] = "user",
) -> StoryList:
    """Your stories in a language: each one's `audioStatus`, `audioUrl` and `audioVersions`."""
    stories = await queued.list_stories(session, p, language, story_type)
    return StoryList.model_validate(
        {"language": language, "story_type": story_type, "stories": stories, "total": len(stories)}
    )


# Copied in after the routes exist; include_router keeps each route's class (HMAC, forms).
router.include_router(internal)
for files in (voice_file_routes, tts_file_routes, debug_routes):
    router.include_router(files)
