"""Voice request and response models."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator
from pydantic.json_schema import SkipJsonSchema

LANGUAGE = r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$"
Visibility = Literal["private", "public"]
Name = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Language = Annotated[str, StringConstraints(pattern=LANGUAGE)]


def _no_default(schema: dict[str, Any]) -> None:
    # Omitting a field keeps it; "default: null" would tell clients that null is allowed.
    schema.pop("default", None)


class VoiceUpdate(BaseModel):
    """Fields a PATCH may change; anything else is refused. Omitted fields stay as they are.

    null clears what may be empty (`description` to "", `tags` to []); the other fields always
    have a value, so null for them is a 422 (their schema does not allow it either).
    """

    model_config = ConfigDict(extra="forbid", strict=True)

    name: Name | SkipJsonSchema[None] = Field(None, json_schema_extra=_no_default)
    description: str | None = Field(None, max_length=2000)
    language: Language | SkipJsonSchema[None] = Field(None, json_schema_extra=_no_default)
    is_kids_voice: bool | SkipJsonSchema[None] = Field(None, json_schema_extra=_no_default)
    tags: list[str] | None = Field(None, max_length=20)
    visibility: Visibility | SkipJsonSchema[None] = Field(None, json_schema_extra=_no_default)

    @field_validator("name", "language", "is_kids_voice", "visibility")
    @classmethod
    def _not_null(cls, value: object) -> object:
        if value is None:
            raise ValueError("may not be null; leave the field out to keep its value")
        return value

    @field_validator("description")
    @classmethod
    def _clear_description(cls, description: str | None) -> str:
        return description or ""

    @field_validator("tags")
    @classmethod
    def _clean_tags(cls, tags: list[str] | None) -> list[str]:
        return clean_tags(tags) if tags is not None else []


class VoiceCreate(BaseModel):
    """Metadata sent with the reference recording(s)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    description: str = Field("", max_length=2000)
    language: str = Field("en", pattern=LANGUAGE)
    is_kids_voice: bool = False
    tags: list[str] = Field(default_factory=list, max_length=20)
    visibility: Visibility = "private"
    denoise: bool = False

    @field_validator("tags")
    @classmethod
    def _clean_tags(cls, tags: list[str]) -> list[str]:
        return clean_tags(tags)


def clean_tags(tags: list[str]) -> list[str]:
    """Trimmed, lower-cased, de-duplicated tags of at most 40 characters, order kept."""
    out: list[str] = []
    for tag in tags:
        for part in tag.split(","):
            t = part.strip().lower()[:40]
            if t and t not in out:
                out.append(t)
    return out[:20]


class ReferenceReportRead(BaseModel):
    """What the reference pipeline measured on one upload."""

    filename: str
    duration_s: float
    speech_s: float
    sample_rate_in: int
    channels_in: int
    container: str
    has_video: bool
    loudness_lufs: float | None
    snr_db: float | None
    clipping_ratio: float
    denoised: bool
    warnings: list[str]


class ReferenceRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    filename: str
    file_type: str
    duration_s: float
    speech_s: float
    sample_rate_in: int
    created_at: datetime


class VoiceRead(BaseModel):
    """A voice as clients see it."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    description: str
    language: str
    is_kids_voice: bool
    tags: list[str]
    visibility: str
    owner_id: str | None
    profile_status: str
    profile_similarity: float | None
    engine: str | None = Field(
        description="The engine that speaks it unless a request names another (null: the"
        " default engine)"
    )
    references: list[ReferenceRead]
    created_at: datetime
    updated_at: datetime


class VoiceCreated(VoiceRead):
    """A new voice plus the report on each reference it was built from."""

    reports: list[ReferenceReportRead]


class VoicePage(BaseModel):
    """One page of voices; pass `next_cursor` back as `cursor` for the next."""

    items: list[VoiceRead]
    next_cursor: str | None


class VoiceProfileExport(BaseModel):
    """The speaker embedding as a base64 `.npy` (float32 [256])."""

    voice_id: str
    profile_base64: str

    @classmethod
    def of(cls, voice_id: str, embedding: bytes) -> VoiceProfileExport:
        """The export of a voice's stored `.npy` embedding."""
        return cls(voice_id=voice_id, profile_base64=base64.b64encode(embedding).decode())
