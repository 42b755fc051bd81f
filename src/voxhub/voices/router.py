"""/api/v1/voices: register, browse, edit and delete voices."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, File, Form, Query, Response, UploadFile, status

from voxhub.accounts.deps import CurrentPrincipal
from voxhub.api.deps import ContainerDep, SessionDep
from voxhub.api.forms import FormRoute
from voxhub.api.validation import parse
from voxhub.audio.encode import FORMATS, encode
from voxhub.safety.consent_form import ConsentAudio, ConsentField, ConsentPhraseId, claim
from voxhub.security.deps import limited
from voxhub.synthesis.schemas import SampleRate
from voxhub.voices import service
from voxhub.voices.profiles import load_reference_audio
from voxhub.voices.schemas import (
    ReferenceReportRead,
    VoiceCreate,
    VoiceCreated,
    VoicePage,
    VoiceProfileExport,
    VoiceRead,
    VoiceUpdate,
)
from voxhub.voices.service import Upload

router = APIRouter(prefix="/api/v1/voices", tags=["voices"], route_class=FormRoute)


async def read_uploads(file: UploadFile | None, files: list[UploadFile] | None) -> list[Upload]:
    """The uploaded files' bytes; the body cap already bounded their size."""
    parts = ([file] if file else []) + list(files or [])
    return [Upload(await p.read(), p.filename) for p in parts]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=VoiceCreated,
    dependencies=[limited("clone")],
)
async def create_voice(
    c: ContainerDep,
    session: SessionDep,
    p: CurrentPrincipal,
    name: Annotated[str, Form(min_length=1, max_length=200)],
    file: Annotated[
        UploadFile | None, File(description="A reference recording (audio or video)")
    ] = None,
    files: Annotated[
        list[UploadFile] | None, File(description="Several reference recordings")
    ] = None,
    description: Annotated[str, Form(max_length=2000)] = "",
    language: Annotated[str, Form()] = "en",
    is_kids_voice: Annotated[bool, Form()] = False,
    tags: Annotated[list[str] | None, Form(description="Tags; repeat or comma-separate")] = None,
    visibility: Annotated[str, Form(description="private or public")] = "private",
    denoise: Annotated[bool, Form()] = False,
    engine: Annotated[
        str | None,
        Form(
            max_length=64,
            description="The engine to enrol it on and speak it with (default: the default"
            " engine; 404 `engine_not_found` when not enabled)",
        ),
    ] = None,
    consent: ConsentField = None,
    consent_phrase_id: ConsentPhraseId = None,
    consent_audio: ConsentAudio = None,
) -> VoiceCreated:
    """Register a voice from a short recording of one person (3 s to 5 min of speech)."""
    meta = parse(
        VoiceCreate,
        name=name,
        description=description,
        language=language,
        is_kids_voice=is_kids_voice,
        tags=tags or [],
        visibility=visibility,
        denoise=denoise,
    )
    uploads = await read_uploads(file, files)
    given = await claim(consent, consent_phrase_id, consent_audio)
    voice, reports = await service.create_voice(
        c, session, uploads, meta, p, engine=engine, consent=given
    )
    return VoiceCreated(**VoiceRead.model_validate(voice).model_dump(), reports=reports)


@router.get("", response_model=VoicePage)
async def list_voices(
    session: SessionDep,
    p: CurrentPrincipal,
    language: str | None = None,
    is_kids_voice: bool | None = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
    tag: Annotated[str | None, Query(max_length=40)] = None,
    mine: Annotated[bool, Query(description="Only your own voices")] = False,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> VoicePage:
    """Voices you can use, newest first, filtered and paginated by cursor."""
    items, next_cursor = await service.list_voices(
        session,
        p,
        mine=mine,
        language=language,
        is_kids_voice=is_kids_voice,
        q=q,
        tag=tag,
        limit=limit,
        cursor=cursor,
    )
    return VoicePage(items=[VoiceRead.model_validate(v) for v in items], next_cursor=next_cursor)


@router.get("/{voice_id}", response_model=VoiceRead)
async def get_voice(voice_id: str, session: SessionDep, p: CurrentPrincipal) -> VoiceRead:
    """One voice."""
    return VoiceRead.model_validate(await service.get_voice(session, voice_id, p))


@router.patch("/{voice_id}", response_model=VoiceRead)
async def update_voice(
    voice_id: str, changes: VoiceUpdate, session: SessionDep, p: CurrentPrincipal
) -> VoiceRead:
    """Change a voice's name, description, language, kids flag or tags."""
    return VoiceRead.model_validate(await service.update_voice(session, voice_id, changes, p))


@router.delete("/{voice_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_voice(
    voice_id: str, c: ContainerDep, session: SessionDep, p: CurrentPrincipal
) -> Response:
    """Delete a voice with its references, profiles and generated audio."""
    await service.delete_voice(c, session, voice_id, p)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{voice_id}/sample", response_class=Response)
async def get_sample(
    voice_id: str,
    c: ContainerDep,
    session: SessionDep,
    p: CurrentPrincipal,
    format: Annotated[str, Query(pattern="^(wav|mp3|opus|flac|pcm|mulaw)$")] = "wav",
    sample_rate: Annotated[SampleRate | None, Query()] = None,
) -> Response:
    """The cleaned reference audio, in the format and sample rate asked for."""
    voice = await service.get_voice(session, voice_id, p)
    reference = await load_reference_audio(c, voice)
    data = await asyncio.to_thread(
        encode, reference.samples, reference.sample_rate, format, sample_rate
    )
    spec = FORMATS[format]
    return Response(
        data,
        media_type=spec.media_type,
        headers={
            "Content-Disposition": f'attachment; filename="voice-{voice.id}.{spec.extension}"'
        },
    )


@router.get("/{voice_id}/profile", response_model=VoiceProfileExport)
async def get_profile(
    voice_id: str, session: SessionDep, p: CurrentPrincipal
) -> VoiceProfileExport:
    """The speaker embedding as a base64 `.npy` (seed 004's profile export)."""
    voice = await service.get_voice(session, voice_id, p)
    return VoiceProfileExport.of(voice.id, voice.embedding)


@router.post(
    "/{voice_id}/references", status_code=status.HTTP_201_CREATED, dependencies=[limited("clone")]
)
async def add_reference(
    voice_id: str,
    c: ContainerDep,
    session: SessionDep,
    p: CurrentPrincipal,
    file: Annotated[UploadFile, File(description="Another recording of the same person")],
    denoise: Annotated[bool, Form()] = False,
    consent: ConsentField = None,
    consent_phrase_id: ConsentPhraseId = None,
    consent_audio: ConsentAudio = None,
) -> VoiceCreated:
    """Add a reference; the voice's embedding and profile are recomputed from all of them."""
    upload = (await read_uploads(file, None))[0]
    given = await claim(consent, consent_phrase_id, consent_audio)
    voice, report = await service.add_reference(
        c, session, voice_id, upload, denoise, p, consent=given
    )
    return VoiceCreated(**VoiceRead.model_validate(voice).model_dump(), reports=[report])


__all__ = ["ReferenceReportRead", "router"]
