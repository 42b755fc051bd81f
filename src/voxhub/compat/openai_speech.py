"""OpenAI's speech request, and what it means in voxhub: which voice, engine, format and speed.

`model` names an engine: OpenAI's own model names (`tts-1`, `tts-1-hd`, `gpt-4o-mini-tts`) mean
the default engine, and each enabled engine answers to its own name. `voice` is a voxhub voice
id (the caller's, or a public one) or the name of one of the caller's own voices, newest first;
OpenAI's stock names (`alloy`, `nova`...) are voices only where the caller named one so.
`instructions` is accepted and not used: no voxhub engine takes a style prompt. Audio is 24 kHz,
as OpenAI's is (`pcm` is raw 16-bit little-endian mono at 24 kHz).
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from typing import Literal

from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from voxhub.accounts.principal import Principal
from voxhub.compat.models import engine_named_by
from voxhub.container import Container
from voxhub.core.errors import EngineNotFound, VoiceNotFound
from voxhub.core.ids import is_id
from voxhub.synthesis.schemas import SPEAKABLE, SpeechRequest
from voxhub.voices.models import Voice
from voxhub.voices.queries import visible_to

# OpenAI's model names, each served by the default engine.
OPENAI_MODELS = ("tts-1", "tts-1-hd", "gpt-4o-mini-tts")
OUTPUT_RATE = 24_000
# voxhub's engines speak from half to twice their natural pace; OpenAI allows 0.25-4.
MIN_SPEED, MAX_SPEED = 0.5, 2.0


class VoiceRef(BaseModel):
    """A custom voice given as an object (newer SDKs send `{"id": ...}`)."""

    model_config = ConfigDict(extra="forbid", strict=True)
    id: str = Field(min_length=1, max_length=200)


class OpenAISpeechRequest(BaseModel):
    """The body of `POST /v1/audio/speech`, as OpenAI documents it."""

    model_config = ConfigDict(extra="forbid", strict=True)

    model: str = Field(min_length=1, max_length=64)
    input: str = Field(
        min_length=1,
        max_length=200_000,
        description="The text to speak",
        json_schema_extra=SPEAKABLE,
    )
    voice: str | VoiceRef = Field(
        description="A voice id (yours or a public one), or the name of one of your voices"
    )
    instructions: str | None = Field(
        None, max_length=4096, description="Accepted and not used: no engine takes a style prompt"
    )
    response_format: Literal["mp3", "opus", "aac", "flac", "wav", "pcm"] = "mp3"
    speed: float = Field(
        1.0,
        ge=MIN_SPEED,
        le=MAX_SPEED,
        description="OpenAI allows 0.25-4; voxhub's engines speak at 0.5-2",
    )
    stream_format: Literal["audio", "sse"] = Field(
        "audio", description="`audio`: the bytes, chunked; `sse`: base64 chunks as events"
    )

    @field_validator("input")
    @classmethod
    def _not_blank(cls, text: str) -> str:
        if not text.strip():
            raise ValueError("input is empty")
        return text

    @property
    def voice_name(self) -> str:
        return self.voice.id if isinstance(self.voice, VoiceRef) else self.voice


def engine_for(c: Container, model: str) -> str | None:
    """The engine a `model` names (None: the default one), or 404 `engine_not_found`."""
    return engine_named_by(c.engines, model, OPENAI_MODELS, _unknown_model)


def _unknown_model(model: str, _: list[str]) -> EngineNotFound:
    return EngineNotFound(
        f"The model '{model}' does not exist; GET /v1/models lists them", param="model"
    )


async def voice_id_for(session: AsyncSession, name: str, p: Principal) -> str:
    """The id of the voice `name` means to this caller, or 404 `voice_not_found`. A name is
    looked up among the caller's own voices only: anyone may publish a voice called `alloy`,
    and it must not take over the code of everyone who names OpenAI's stock voices. Public
    voices of others are used by id."""
    if is_id(name):
        found = await session.scalar(select(Voice.id).where(Voice.id == name, visible_to(p)))
    else:
        found = await session.scalar(
            select(Voice.id)
            .where(Voice.owner_id == p.user_id, func.lower(Voice.name) == name.strip().lower())
            .order_by(Voice.created_at.desc(), Voice.id.desc())
            .limit(1)
        )
    if found is None:
        raise VoiceNotFound(
            f"No voice '{name}' that this key may use; GET /v1/audio/voices lists them",
            voice_id=name,
            param="voice",
        )
    return found


def speech_request(body: OpenAISpeechRequest, voice_id: str, engine: str | None) -> SpeechRequest:
    """The voxhub request an OpenAI one stands for (always streamed: OpenAI chunks its audio)."""
    try:
        return SpeechRequest(
            voice_id=voice_id,
            text=body.input,
            format=body.response_format,
            sample_rate=OUTPUT_RATE,
            speed=body.speed,
            engine=engine,
            stream=True,
        )
    except ValidationError as exc:  # the same rules as the body's: said as a bad request
        raise RequestValidationError(exc.errors()) from exc


async def sse_events(chunks: AsyncIterator[bytes], spoken: int) -> AsyncIterator[bytes]:
    """OpenAI's speech events: `speech.audio.delta` per chunk, then `speech.audio.done` with
    the usage (voxhub counts characters spoken, the unit it bills; no tokens are involved)."""
    async for data in chunks:
        delta = {"type": "speech.audio.delta", "audio": base64.b64encode(data).decode()}
        yield b"data: " + json.dumps(delta).encode() + b"\n\n"
    usage = {"input_tokens": spoken, "output_tokens": 0, "total_tokens": spoken}
    done = {"type": "speech.audio.done", "usage": usage}
    yield b"data: " + json.dumps(done).encode() + b"\n\n"
