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
from sqlalchemy.ext.asyncio import AsyncSession

from voxhub.accounts.principal import Principal
from voxhub.api.deps import ContainerDep, SessionDep
from voxhub.api.validation import parse
from voxhub.compat.seed004_auth import ClientPrincipal
from voxhub.compat.seed004_body import OffLoopJsonRoute, decode_base64
from voxhub.compat.seed004_schemas import (
    Seed004Clone,
    Seed004Cloned,
    Seed004Generate,
    Seed004Health,
    Seed004Queued,
    VoiceInfo,
    VoiceList,
)
from voxhub.core.clock import utcnow
from voxhub.security.deps import limited
from voxhub.security.hmac import HmacRoute, InternalPrincipal, internal_limited
from voxhub.synthesis import service as speech
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


def _urls(request: Request, voice_id: str) -> tuple[str, str]:
    base = f"{str(request.base_url).rstrip('/')}/api/v1/voices/{voice_id}"
    return f"{base}/sample", f"{base}/profile"


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
    """The speaker embedding as a base64 `.npy` (float32 [256])."""
    voice = await voices.get_voice(session, voice_id, p)
    return VoiceProfileExport.of(voice.id, voice.embedding)


@router.get(
    "/api/tts/generations", response_model=list[GenerationRead], dependencies=[limited("default")]
)
async def list_generations(
    session: SessionDep, p: ClientPrincipal, limit: Limit = 100
) -> list[GenerationRead]:
    """Your generations, newest first, as a flat list."""
    items, _ = await speech.list_generations(session, p, None, limit, None)
    return [generation_read(g) for g in items]


async def _decode_audio(data: str) -> bytes:
    """The recording, decoded in a thread: 25 MB of base64 is some 0.3 s of CPU."""
    try:
        return await asyncio.to_thread(decode_base64, data)
    except (binascii.Error, ValueError) as exc:
        bad = {"loc": ("body", "audio_data"), "msg": "not valid base64", "type": "value_error"}
        raise RequestValidationError([bad]) from exc


@internal.post(
    "/api/voices/clone",
    response_model=Seed004Cloned,
    dependencies=[internal_limited("default"), internal_limited("clone")],
)
async def clone_voice(
    request: Request, body: Seed004Clone, c: ContainerDep, session: SessionDep, p: InternalPrincipal
) -> Seed004Cloned:
    """Clone a voice from a base64 recording (internal: HMAC-signed when enabled)."""
    audio = await _decode_audio(body.audio_data)
    meta = parse(
        VoiceCreate, name=body.name, language=body.language, is_kids_voice=body.is_kids_voice
    )
    upload = Upload(audio, f"{body.name}.{body.audio_format}")
    voice, reports = await voices.create_voice(c, session, [upload], meta, p)
    sample, profile = _urls(request, voice.id)
    return Seed004Cloned(
        voice_id=voice.id,
        name=voice.name,
        language=voice.language,
        is_kids_voice=voice.is_kids_voice,
        model_type=body.model_type,
        sample_file=sample,
        embedding_file=profile,
        metadata={**reports[0].model_dump(), "profile_status": voice.profile_status},
    )


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
    """Queue speech in a voice as a job (internal: HMAC-signed when enabled)."""
    req = parse(
        SpeechRequest,
        voice_id=body.voice_id,
        text=body.text,
        language=body.language,
        run_async=True,
    )
    job = await speech.queue_speech(c, session, req, p)
    response.headers["Location"] = f"/api/v1/jobs/{job.id}"
    return Seed004Queued(
        metadata={"job_id": job.id, "story_id": body.story_id, "voice_id": body.voice_id}
    )


# Copied in after the routes exist; include_router keeps each route's HmacRoute class.
router.include_router(internal)
