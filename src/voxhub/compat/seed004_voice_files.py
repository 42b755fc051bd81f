"""Seed 004's voice files: save a voice from its files, and read its sample back.

`POST /api/voices/save` takes the seed's form (`voice_id`, `voice_name`, `audio_file`,
`profile_file`, `template_message`). Seed 004's voice ids are names a client picks
("voice_john"); voxhub's are UUIDs, so a named voice gets the UUID derived from its owner and
name: saving the same name twice is a 409, and the name works wherever a voice id does here.
"""

from __future__ import annotations

import asyncio
import base64
import io
import uuid
from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, File, Form, Query, Request, Response, UploadFile
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from voxhub.accounts.principal import Principal
from voxhub.api.deps import ContainerDep, SessionDep
from voxhub.api.forms import FormRoute
from voxhub.api.ranges import ranged
from voxhub.api.validation import parse
from voxhub.audio.decode import probe
from voxhub.audio.encode import FORMATS, encode
from voxhub.compat import seed004_jobs as queued
from voxhub.compat.seed004_auth import ClientPrincipal
from voxhub.compat.seed004_checks import VoiceExists, check_audio_format, engine_for
from voxhub.compat.seed004_file_schemas import SampleBase64, VoiceSaved
from voxhub.core.errors import InvalidInput
from voxhub.core.ids import is_id
from voxhub.security.deps import limited
from voxhub.synthesis.schemas import SampleRate
from voxhub.voices import service as voices
from voxhub.voices.models import Voice
from voxhub.voices.profiles import load_reference_audio, npy_to_embedding
from voxhub.voices.schemas import LANGUAGE, VoiceCreate
from voxhub.voices.service import Upload

router = APIRouter(tags=["compat: seed 004"], route_class=FormRoute)

_NAMES = uuid.UUID("5eed0004-0000-4000-8000-766f69636573")
SEED_VOICE_ID = r"^[A-Za-z0-9_.-]{1,64}$"
AUDIO_FORMAT = "^(" + "|".join(FORMATS) + ")$"
# The speaker embedding's size: a seed 004 profile is that vector as a float32 `.npy`.
EMBEDDING_SIZE = 256


class InvalidProfile(InvalidInput):
    code = "invalid_profile"
    title = "profile_file is not a voice profile"


def voxhub_voice_id(p: Principal, voice_id: str) -> str:
    """A voxhub id as it is; a seed 004 name as the id its owner's voice of that name has."""
    return voice_id if is_id(voice_id) else str(uuid.uuid5(_NAMES, f"{p.user_id}\n{voice_id}"))


async def _voice(session: AsyncSession, voice_id: str, p: Principal) -> Voice:
    return await voices.get_voice(session, voxhub_voice_id(p, voice_id), p)


def _profile_vector(data: bytes) -> np.ndarray:
    """The sent profile: a float `.npy` of an embedding's size, finite, not all zeros."""
    try:
        vec = np.asarray(np.load(io.BytesIO(data), allow_pickle=False), dtype=np.float32)
    except (ValueError, OSError, EOFError) as exc:
        raise InvalidProfile("profile_file is not a .npy array") from exc
    vec = vec.reshape(-1)
    if vec.size != EMBEDDING_SIZE or not np.isfinite(vec).all() or not np.any(vec):
        raise InvalidProfile(
            f"profile_file must hold {EMBEDDING_SIZE} finite numbers, not all zero"
        )
    return vec


def _similarity(a: np.ndarray, b: np.ndarray) -> float:
    return round(float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b))), 4)


@router.post(
    "/api/voices/save",
    response_model=VoiceSaved,
    status_code=201,
    dependencies=[limited("default"), limited("clone")],
)
async def save_voice(
    request: Request,
    c: ContainerDep,
    session: SessionDep,
    p: ClientPrincipal,
    voice_name: Annotated[str, Form(min_length=1, max_length=200)],
    audio_file: Annotated[UploadFile, File(description="The voice's sample recording")],
    voice_id: Annotated[str | None, Form(pattern=SEED_VOICE_ID)] = None,
    profile_file: Annotated[UploadFile | None, File(description="Its profile (.npy)")] = None,
    template_message: Annotated[str, Form(max_length=2000)] = "",
    language: Annotated[str, Form(pattern=LANGUAGE)] = "en",
    is_kids_voice: Annotated[bool, Form()] = False,
    audio_format: Annotated[str | None, Form(max_length=10)] = None,
    model_type: Annotated[str, Form(max_length=64)] = "chatterbox",
) -> VoiceSaved:
    """Save a voice from its sample (and profile): a voice in your library, as a clone makes.

    voxhub computes the profile from the sample; a sent `profile_file` is checked and its
    cosine similarity to voxhub's is reported (`metadata.profile_similarity`)."""
    engine = engine_for(c, model_type)  # the voice is enrolled on it
    audio = await audio_file.read()
    info = await asyncio.to_thread(probe, audio, c.settings.limits)
    check_audio_format(audio_format, info)
    sent = await profile_file.read() if profile_file is not None else None
    meta = parse(
        VoiceCreate,
        name=voice_name,
        description=template_message,
        language=language,
        is_kids_voice=is_kids_voice,
    )
    if voice_id and is_id(voice_id):
        # A new voice's name, never an id: an id would let a client choose voxhub's ids and
        # learn, from a 409, which ids exist (other users' private voices among them).
        raise InvalidInput(
            "voice_id names the new voice (voice_john); an id is not a name", voice_id=voice_id
        )
    vid = voxhub_voice_id(p, voice_id) if voice_id else None
    if vid is not None and await session.get(Voice, vid) is not None:
        raise VoiceExists(f"you already saved a voice {voice_id!r}", voice_id=voice_id)
    profile = _profile_vector(sent) if sent is not None else None
    upload = Upload(audio, audio_file.filename or f"{voice_name}.{info.container}")
    try:
        voice, reports = await voices.create_voice(
            c, session, [upload], meta, p, voice_id=vid, engine=engine
        )
    except IntegrityError as exc:  # the same name saved at the same moment: that one won
        raise VoiceExists(f"you already saved a voice {voice_id!r}", voice_id=voice_id) from exc
    answer = queued.cloned(voice, reports[0].model_dump(), model_type, _base(request))
    metadata: dict[str, Any] = answer["metadata"]
    if profile is not None:
        metadata["profile_similarity"] = _similarity(profile, npy_to_embedding(voice.embedding))
    return VoiceSaved.model_validate({**answer, "message": "Voice saved successfully"})


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


async def _sample(
    c: ContainerDep, voice: Voice, audio_format: str, sample_rate: int | None
) -> bytes:
    reference = await load_reference_audio(c, voice)
    return await asyncio.to_thread(
        encode, reference.samples, reference.sample_rate, audio_format, sample_rate
    )


SAMPLE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {f.media_type: {} for f in FORMATS.values()}, "description": "Audio"},
    206: {"description": "The byte range asked for (`Range`)"},
    416: {"description": "A range past the end of the file"},
}
SampleRateQuery = Annotated[SampleRate | None, Query()]


@router.get(
    "/api/voices/{voice_id}/sample",
    response_class=Response,
    responses=SAMPLE_RESPONSES,
    dependencies=[limited("default")],
)
async def voice_sample(
    voice_id: str,
    request: Request,
    c: ContainerDep,
    session: SessionDep,
    p: ClientPrincipal,
    audio_format: Annotated[str, Query(pattern=AUDIO_FORMAT)] = "wav",
    sample_rate: SampleRateQuery = None,
) -> Response:
    """The voice's sample (its cleaned references), in `audio_format`; byte ranges served."""
    voice = await _voice(session, voice_id, p)
    data = await _sample(c, voice, audio_format, sample_rate)
    return ranged(data, FORMATS[audio_format].media_type, request.headers.get("range"))


@router.get(
    "/api/voices/{voice_id}/sample/base64",
    response_model=SampleBase64,
    dependencies=[limited("default")],
)
async def voice_sample_base64(
    voice_id: str,
    c: ContainerDep,
    session: SessionDep,
    p: ClientPrincipal,
    audio_format: Annotated[str, Query(pattern=AUDIO_FORMAT)] = "wav",
    sample_rate: SampleRateQuery = None,
) -> SampleBase64:
    """The voice's sample as base64, for clients that carry audio in JSON."""
    voice = await _voice(session, voice_id, p)
    data = await _sample(c, voice, audio_format, sample_rate)
    return SampleBase64(
        voice_id=voice.id,
        audio_format=audio_format,
        media_type=FORMATS[audio_format].media_type,
        size_bytes=len(data),
        audio_base64=base64.b64encode(data).decode(),
    )
