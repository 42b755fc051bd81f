"""Seed 004's request and response shapes."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from voxhub.synthesis.schemas import SPEAKABLE
from voxhub.voices.schemas import LANGUAGE

MODEL_TYPE = "`chatterbox` (the default engine) or an enabled engine's name; else 422"


class Seed004Health(BaseModel):
    status: str
    service: str
    firebase_connected: bool
    timestamp: str


class VoiceInfo(BaseModel):
    voice_id: str
    name: str
    sample_file: str
    embedding_file: str
    created_date: int
    language: str
    is_kids_voice: bool


class VoiceList(BaseModel):
    status: str = "success"
    voices: list[VoiceInfo]
    language: str | None
    is_kids_voice: bool | None
    total: int


# Standard padded base64, optionally as a data URL: what `audio_data` must be to decode at all.
BASE64 = r"^(?:data:[^,]*,)?(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$"


class Seed004Clone(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    name: str = Field(min_length=1, max_length=200)
    audio_data: str = Field(min_length=1, pattern=BASE64, description="The recording, base64")
    audio_format: str | None = Field(
        None,
        pattern=r"^[A-Za-z0-9]{1,10}$",
        description="What the recording is (wav, mp3, flac, opus, ogg, aac): checked against "
        "its content; leave it out to have it detected",
    )
    language: str = Field("en", pattern=LANGUAGE)
    is_kids_voice: bool = False
    model_type: str = Field("chatterbox", max_length=64, description=MODEL_TYPE)
    user_id: str | None = Field(None, max_length=64, description="Act as this voxhub user")


class Seed004Cloned(BaseModel):
    status: str = "success"
    voice_id: str
    name: str
    language: str
    is_kids_voice: bool
    model_type: str
    sample_file: str
    embedding_file: str
    metadata: dict[str, Any]


class Seed004Generate(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    user_id: str | None = Field(None, max_length=64, description="Act as this voxhub user")
    story_id: str | None = Field(None, max_length=200)
    voice_id: str = Field(max_length=64)
    text: str = Field(min_length=1, max_length=200_000, json_schema_extra=SPEAKABLE)
    # Accepted for compatibility; voxhub speaks from the voice's stored profile.
    profile_base64: str | None = None
    language: str = Field("en", pattern=LANGUAGE)
    story_type: str = Field("user", max_length=32)
    is_kids_voice: bool = False
    model_type: str = Field("chatterbox", max_length=64, description=MODEL_TYPE)


class Seed004Queued(BaseModel):
    status: str = "queued"
    metadata: dict[str, str | None]


class StoryVersion(BaseModel):
    """One generation of a story's audio (seed 004's `audioVersions` entry)."""

    model_config = ConfigDict(populate_by_name=True)

    version: int
    job_id: str
    generation_id: str | None
    audio_url: str | None = Field(alias="audioUrl")
    voice_id: str | None
    duration_s: float | None
    format: str | None
    created_at: str | None = Field(alias="createdAt")


class Story(BaseModel):
    """A story's audio record, as seed 004's workers keep it in `stories/{story_id}`."""

    model_config = ConfigDict(populate_by_name=True)

    story_id: str
    story_type: str
    language: str
    audio_status: str = Field(
        alias="audioStatus", description="queued, processing, completed or failed"
    )
    audio_url: str | None = Field(alias="audioUrl", description="The newest audio there is")
    audio_versions: list[StoryVersion] = Field(alias="audioVersions")
    job_id: str = Field(description="The latest generation's job")
    error: dict[str, Any] | None = None


class StoryList(BaseModel):
    status: str = "success"
    language: str
    story_type: str
    stories: list[Story]
    total: int
