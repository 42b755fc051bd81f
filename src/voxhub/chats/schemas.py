"""What the chat routes take and give."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from voxhub.synthesis.schemas import AudioFormat

MAX_MESSAGE_CHARS = 4000

Title = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]


class ThreadCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    character_id: str = Field(max_length=36)
    title: Title = ""


class ThreadRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    character_id: str
    title: str
    message_count: int
    created_at: datetime
    updated_at: datetime


class ThreadPage(BaseModel):
    items: list[ThreadRead]
    next_cursor: str | None


class MessageCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    content: str = Field(min_length=1, max_length=MAX_MESSAGE_CHARS)
    # Server-sent events (`delta` pieces as they are written, then `done`); false: one JSON.
    stream: bool = True
    # Speak the reply in the character's voice, sentence by sentence as it is written.
    speak: bool = False
    audio_format: AudioFormat = "mp3"
    max_tokens: int | None = Field(None, ge=1, le=32_768)

    @field_validator("content")
    @classmethod
    def _speakable(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("a message needs some text")
        if "\x00" in value:
            raise ValueError("a message may not contain NUL characters")
        return value


class ReplyOptions(BaseModel):
    """`POST .../reply`: answer the thread's last unanswered message again."""

    model_config = ConfigDict(extra="forbid")

    stream: bool = True
    speak: bool = False
    audio_format: AudioFormat = "mp3"
    max_tokens: int | None = Field(None, ge=1, le=32_768)


class MessageRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    seq: int
    role: str
    content: str
    status: str
    model: str
    tokens_in: int
    tokens_out: int
    finish_reason: str | None
    first_token_ms: int | None
    duration_ms: int | None
    context_dropped: int
    audio_url: str | None = None
    created_at: datetime


class MessagePage(BaseModel):
    items: list[MessageRead]
    next_cursor: str | None


class ExchangeRead(BaseModel):
    """A message and the reply it got (the non-streaming answer)."""

    message: MessageRead
    reply: MessageRead
