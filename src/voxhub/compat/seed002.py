"""Seed 002 (basic voice cloning API): health, register, synthesize, voice metadata."""

from __future__ import annotations

from datetime import datetime
from pathlib import PurePath
from typing import Annotated

from fastapi import APIRouter, File, Form, Response, UploadFile, status
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field

from voxhub.accounts.deps import CurrentPrincipal
from voxhub.api.deps import ContainerDep, SessionDep
from voxhub.api.validation import parse
from voxhub.audio.encode import FORMATS
from voxhub.compat.routes import BadRequestRoute
from voxhub.safety.marking import generated_headers
from voxhub.security.deps import limited
from voxhub.synthesis import service as speech
from voxhub.synthesis.schemas import SPEAKABLE, AudioFormat, SampleRate, SpeechRequest
from voxhub.voices import service as voices
from voxhub.voices.filenames import clean_filename
from voxhub.voices.models import Voice
from voxhub.voices.schemas import VoiceCreate
from voxhub.voices.service import Upload

router = APIRouter(tags=["compat: seed 002"], route_class=BadRequestRoute)


class Seed002Registered(BaseModel):
    voice_id: str
    filename: str
    duration: float
    sample_rate: int
    message: str


class Seed002Voice(BaseModel):
    voice_id: str
    filename: str
    created_at: datetime
    duration: float
    sample_rate: int
    name: str
    description: str


class Seed002Synthesize(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    text: str = Field(min_length=1, max_length=200_000, json_schema_extra=SPEAKABLE)
    format: AudioFormat = "wav"
    sample_rate: SampleRate | None = None


@router.get("/health")
async def health() -> dict[str, str]:
    """Service status."""
    return {"status": "ok", "service": "voice-clone-api"}


@router.post(
    "/voices",
    status_code=status.HTTP_201_CREATED,
    response_model=Seed002Registered,
    dependencies=[limited("default"), limited("clone")],
)
async def register_voice(
    c: ContainerDep,
    session: SessionDep,
    p: CurrentPrincipal,
    file: Annotated[UploadFile | None, File()] = None,
    name: Annotated[str | None, Form(max_length=200)] = None,
    description: Annotated[str, Form(max_length=2000)] = "",
) -> Seed002Registered:
    """Upload an audio file to register a voice for cloning."""
    if file is None:
        missing = {"loc": ("body", "file"), "msg": "Field required", "type": "missing"}
        raise RequestValidationError([missing])
    filename = clean_filename(file.filename)
    meta = parse(
        VoiceCreate, name=name or PurePath(filename).stem or "Voice", description=description
    )
    upload = Upload(await file.read(), file.filename)
    voice, reports = await voices.create_voice(c, session, [upload], meta, p)
    return Seed002Registered(
        voice_id=voice.id,
        filename=filename,
        duration=round(reports[0].duration_s, 3),
        sample_rate=reports[0].sample_rate_in,
        message="Voice registered successfully",
    )


@router.post(
    "/voices/{voice_id}/synthesize",
    response_class=Response,
    dependencies=[limited("default"), limited("tts")],
)
async def synthesize(
    voice_id: str,
    body: Seed002Synthesize,
    c: ContainerDep,
    session: SessionDep,
    p: CurrentPrincipal,
) -> Response:
    """Generate speech from text using a cloned voice."""
    req = parse(
        SpeechRequest,
        voice_id=voice_id,
        text=body.text,
        format=body.format,
        sample_rate=body.sample_rate,
    )
    gen, data, _ = await speech.speak(c, session, req, p, "sync")
    return Response(
        data, media_type=FORMATS[gen.format].media_type, headers=generated_headers(gen.id)
    )


@router.get("/voices/{voice_id}", response_model=Seed002Voice, dependencies=[limited("default")])
async def get_voice(voice_id: str, session: SessionDep, p: CurrentPrincipal) -> Seed002Voice:
    """Metadata of a registered voice."""
    voice: Voice = await voices.get_voice(session, voice_id, p)
    first = voice.references[0]
    return Seed002Voice(
        voice_id=voice.id,
        filename=first.filename,
        created_at=voice.created_at,
        duration=round(first.duration_s, 3),
        sample_rate=first.sample_rate_in,
        name=voice.name,
        description=voice.description,
    )
