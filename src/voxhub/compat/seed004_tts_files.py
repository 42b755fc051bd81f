"""Seed 004's speech files: save a generation made elsewhere, read one back, a story's audio.

Audio is served with byte ranges (players seek) and only to its owner (or an admin).
"""

from __future__ import annotations

import asyncio
import binascii
import hashlib
import json
from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Query, Request, Response
from fastapi.exceptions import RequestValidationError

from voxhub.api.deps import ContainerDep, SessionDep
from voxhub.api.forms import FormRoute
from voxhub.api.ranges import ranged
from voxhub.audio.decode import decode, probe
from voxhub.audio.encode import FORMATS, encode
from voxhub.compat import seed004_jobs as queued
from voxhub.compat.seed004_auth import ClientPrincipal
from voxhub.compat.seed004_body import Base64FormRoute, decode_base64
from voxhub.compat.seed004_checks import check_audio_format, stored_format
from voxhub.compat.seed004_file_schemas import StoryAudio, TtsSaved
from voxhub.compat.seed004_voice_files import (
    AUDIO_FORMAT,
    SAMPLE_RESPONSES,
    SEED_VOICE_ID,
    voxhub_voice_id,
)
from voxhub.core.errors import Conflict, InvalidInput, NotFound
from voxhub.core.ids import new_id
from voxhub.safety.legacy import outgoing_audio
from voxhub.safety.marking import generated_headers, note_output_once, output_tags
from voxhub.security.deps import limited
from voxhub.synthesis import queries as generations
from voxhub.synthesis.models import SAVED_ENGINE, Generation
from voxhub.synthesis.schemas import SPEAKABLE
from voxhub.voices import service as voices
from voxhub.voices.schemas import LANGUAGE

router = APIRouter(tags=["compat: seed 004"], route_class=FormRoute)
saver = APIRouter(tags=["compat: seed 004"], route_class=Base64FormRoute)


class SampleRateMismatch(InvalidInput):
    code = "sample_rate_mismatch"
    title = "The audio is not at the declared sample_rate"


class InvalidAudioShape(InvalidInput):
    code = "invalid_audio_shape"
    title = "audio_shape is not a JSON list of sizes"


class StoryNotFound(NotFound):
    code = "story_not_found"
    title = "Story not found"


class StoryAudioNotReady(Conflict):
    code = "story_audio_not_ready"
    title = "The story has no audio yet"


def _audio_shape(text: str | None) -> list[int] | None:
    if text is None:
        return None
    try:
        shape = json.loads(text)
    except ValueError as exc:
        raise InvalidAudioShape("audio_shape must be JSON, e.g. [1, 48000]") from exc
    ok = isinstance(shape, list) and len(shape) <= 4
    if not ok or not all(type(n) is int and n >= 0 for n in shape):
        raise InvalidAudioShape("audio_shape must be a list of at most 4 sizes, e.g. [1, 48000]")
    return shape


async def _decoded_b64(data: str) -> bytes:
    try:
        return await asyncio.to_thread(decode_base64, data)
    except (binascii.Error, ValueError) as exc:
        bad = {"loc": ("body", "audio_base64"), "msg": "not valid base64", "type": "value_error"}
        raise RequestValidationError([bad]) from exc


def _audio_url(request: Request, gen_id: str) -> str:
    return f"{str(request.base_url).rstrip('/')}/api/tts/generations/{gen_id}/audio"


@saver.post(
    "/api/tts/save",
    response_model=TtsSaved,
    status_code=201,
    dependencies=[limited("default")],
)
async def save_generation(
    request: Request,
    c: ContainerDep,
    session: SessionDep,
    p: ClientPrincipal,
    voice_id: Annotated[str, Form(pattern=SEED_VOICE_ID)],
    audio_base64: Annotated[str, Form(min_length=1)],
    text_input: Annotated[str, Form(min_length=1, max_length=200_000, json_schema_extra=SPEAKABLE)],
    generation_time: Annotated[float, Form(ge=0, le=86_400)] = 0.0,
    sample_rate: Annotated[int | None, Form(ge=1, le=384_000)] = None,
    audio_shape: Annotated[str | None, Form(max_length=200)] = None,
    audio_format: Annotated[str | None, Form(max_length=10)] = None,
    language: Annotated[str, Form(pattern=LANGUAGE)] = "en",
) -> TtsSaved:
    """Keep speech made elsewhere as one of your generations, stored as sent.

    `sample_rate` and `audio_format`, when sent, must be what the audio is."""
    shape = _audio_shape(audio_shape)
    voice = await voices.get_voice(session, voxhub_voice_id(p, voice_id), p)
    audio = await _decoded_b64(audio_base64)
    limits = c.settings.limits
    info = await asyncio.to_thread(probe, audio, limits)
    check_audio_format(audio_format, info)
    fmt = stored_format(info)
    if sample_rate is not None and sample_rate != info.sample_rate:
        raise SampleRateMismatch(
            f"sample_rate is {sample_rate} but the audio is at {info.sample_rate} Hz",
            sample_rate=sample_rate,
            detected=info.sample_rate,
        )
    decoded = await asyncio.to_thread(decode, audio, limits, info.sample_rate, info)
    gen_id = new_id()
    key = f"voices/{voice.id}/generations/{gen_id}.{FORMATS[fmt].extension}"
    gen = Generation(
        id=gen_id,
        owner_id=p.user_id,
        voice_id=voice.id,
        # Never a real request's key: a saved file is not what voxhub would say for its text.
        cache_key=hashlib.sha256(f"saved\n{gen_id}".encode()).hexdigest(),
        engine=SAVED_ENGINE,
        engine_version="",
        text=text_input,
        params={"language": language},
        format=fmt,
        sample_rate=info.sample_rate,
        duration_s=round(len(decoded.samples) / info.sample_rate, 3),
        engine_seconds=round(generation_time, 3),
        blob_key=key,
        size_bytes=len(audio),
        source="saved",
    )
    await c.blobs.put(key, audio, FORMATS[fmt].media_type)
    try:
        session.add(gen)
        await session.commit()
    except BaseException:
        await session.rollback()
        await c.blobs.delete(key)
        raise
    url = _audio_url(request, gen_id)
    metadata: dict[str, Any] = {
        "voice_id": voice.id,
        "voice_name": voice.name,
        "text_input": text_input[:500],
        "generation_time": generation_time,
        "sample_rate": info.sample_rate,
        "audio_shape": shape,
        "duration_s": gen.duration_s,
    }
    return TtsSaved(
        message="TTS generation saved successfully",
        voice_id=voice.id,
        file_id=gen_id,
        audio_url=url,
        firebase_url=url,
        audio_format=fmt,
        file_size_bytes=len(audio),
        file_size_mb=round(len(audio) / 1024 / 1024, 6),
        metadata=metadata,
    )


@router.get(
    "/api/tts/generations/{file_id}/audio",
    response_class=Response,
    responses=SAMPLE_RESPONSES,
    dependencies=[limited("default")],
)
async def generation_audio(
    file_id: str,
    request: Request,
    c: ContainerDep,
    session: SessionDep,
    p: ClientPrincipal,
    audio_format: Annotated[str | None, Query(pattern=AUDIO_FORMAT)] = None,
) -> Response:
    """One of your generations' audio: as stored, or converted to `audio_format`."""
    gen = await generations.get_generation(session, file_id, p)
    data = await outgoing_audio(c, session, gen)
    fmt = audio_format or gen.format
    # A file kept with /api/tts/save is the client's own audio, as sent: not voxhub's speech.
    made_here = gen.made_here
    if fmt != gen.format:
        audio = await asyncio.to_thread(decode, data, c.settings.limits, gen.sample_rate)
        tags = output_tags(gen.id) if made_here else None
        data = await asyncio.to_thread(encode, audio.samples, gen.sample_rate, fmt, None, tags)
        # The mark survives the transcode; the exact lookup learns the converted file too.
        media_type = FORMATS[fmt].media_type
        if made_here and await note_output_once(
            session,
            data,
            kind="speech",
            object_id=gen.id,
            owner_id=gen.owner_id,
            media_type=media_type,
        ):
            await session.commit()
    headers = generated_headers(gen.id) if made_here else None
    return ranged(data, FORMATS[fmt].media_type, request.headers.get("range"), headers)


@router.get(
    "/api/tts/stories/{language}/{story_type}/{file_id}/audio",
    response_model=StoryAudio,
    dependencies=[limited("default")],
)
async def story_audio(
    request: Request,
    session: SessionDep,
    p: ClientPrincipal,
    language: Annotated[str, Path(pattern=LANGUAGE)],
    story_type: Annotated[str, Path(max_length=32)],
    file_id: Annotated[str, Path(max_length=200)],
) -> StoryAudio:
    """The URL of a story's audio: `file_id` is the story (its newest audio) or one of its
    versions' generation ids."""
    for story in await queued.list_stories(session, p, language, story_type):
        versions = story["audioVersions"]
        if story["story_id"] == file_id:
            if not versions:
                raise StoryAudioNotReady(
                    f"story {file_id!r} has no audio yet ({story['audioStatus']})",
                    audio_status=story["audioStatus"],
                )
            version = versions[-1]
        else:
            version = next((v for v in versions if v["generation_id"] == file_id), None)
            if version is None:
                continue
        return StoryAudio(
            language=language,
            story_type=story_type,
            story_id=story["story_id"],
            generation_id=version["generation_id"],
            story_url=_audio_url(request, version["generation_id"]),
        )
    raise StoryNotFound(
        f"no story or story audio {file_id!r} in {language}/{story_type}", file_id=file_id
    )


# Copied in after the routes exist; include_router keeps the route's class.
router.include_router(saver)
