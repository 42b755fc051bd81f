"""Character request and response models."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)
from pydantic.json_schema import SkipJsonSchema

from voxhub.core.json_numbers import whole

Visibility = Literal["private", "public"]
DisplayName = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Label = Annotated[str, StringConstraints(max_length=40)]
VoiceId = Annotated[str, StringConstraints(min_length=1, max_length=64)]


# The ranges of the config fields; the constraint sits on the type, so a null is "may not be
# null" rather than a comparison with None.
Speed = Annotated[float, Field(ge=0.5, le=2.0)]
NfeSteps = Annotated[int, Field(ge=1, le=64), BeforeValidator(whole)]
CrossFade = Annotated[float, Field(ge=0.0, le=2.0)]
MAX_DESCRIPTION = 2000
MAX_PERSONA = 8000


def _no_default(schema: dict[str, Any]) -> None:
    # Omitting a field keeps it; "default: null" would tell clients that null is allowed.
    schema.pop("default", None)


class SynthesisConfig(BaseModel):
    """How the character speaks. `nfe_steps` is the diffusion steps of flow-matching engines
    (F5-TTS); the embedded engine has none and stores it without using it."""

    model_config = ConfigDict(extra="forbid", strict=True, from_attributes=True)

    speed: Speed = Field(1.0, description="Speaking rate, 1.0 is normal")
    nfe_steps: NfeSteps = Field(32, description="Diffusion steps (flow-matching engines)")
    cross_fade_duration: CrossFade = Field(
        0.15, description="Seconds of cross-fade between synthesised chunks"
    )
    remove_silences: bool = Field(False, description="Trim long pauses from the output")


class SynthesisConfigUpdate(BaseModel):
    """Config fields a PATCH may change; omitted ones stay."""

    model_config = ConfigDict(extra="forbid", strict=True)

    speed: Speed | SkipJsonSchema[None] = Field(None, json_schema_extra=_no_default)
    nfe_steps: NfeSteps | SkipJsonSchema[None] = Field(None, json_schema_extra=_no_default)
    cross_fade_duration: CrossFade | SkipJsonSchema[None] = Field(
        None, json_schema_extra=_no_default
    )
    remove_silences: bool | SkipJsonSchema[None] = Field(None, json_schema_extra=_no_default)

    @field_validator("speed", "nfe_steps", "cross_fade_duration", "remove_silences")
    @classmethod
    def _not_null(cls, value: object) -> object:
        if value is None:
            raise ValueError("may not be null; leave the field out to keep its value")
        return value


class CharacterCreate(BaseModel):
    """A new character; images are added afterwards, one request each, with a label."""

    model_config = ConfigDict(extra="forbid", strict=True)

    display_name: DisplayName
    description: str = Field("", max_length=MAX_DESCRIPTION)
    persona_prompt: str = Field(
        "", max_length=MAX_PERSONA, description="The system prompt the character chats with"
    )
    voice_id: VoiceId = Field(description="A voice you own, or a public one")
    visibility: Visibility = "private"
    config: SynthesisConfig = Field(default_factory=SynthesisConfig)


class CharacterUpdate(BaseModel):
    """Fields a PATCH may change; anything else is refused. Omitted fields stay as they are."""

    model_config = ConfigDict(extra="forbid", strict=True)

    display_name: DisplayName | SkipJsonSchema[None] = Field(None, json_schema_extra=_no_default)
    description: str | None = Field(None, max_length=MAX_DESCRIPTION)
    persona_prompt: str | None = Field(None, max_length=MAX_PERSONA)
    voice_id: VoiceId | SkipJsonSchema[None] = Field(None, json_schema_extra=_no_default)
    visibility: Visibility | SkipJsonSchema[None] = Field(None, json_schema_extra=_no_default)
    config: SynthesisConfigUpdate | SkipJsonSchema[None] = Field(
        None, json_schema_extra=_no_default
    )

    @field_validator("display_name", "voice_id", "visibility", "config")
    @classmethod
    def _not_null(cls, value: object) -> object:
        if value is None:
            raise ValueError("may not be null; leave the field out to keep its value")
        return value

    @field_validator("description", "persona_prompt")
    @classmethod
    def _clear(cls, value: str | None) -> str:
        return value or ""


class CharacterImageRead(BaseModel):
    """One stored image (WebP, re-encoded) and where to fetch it and its thumbnail."""

    key: str
    label: str
    media_type: str
    width: int
    height: int
    size_bytes: int
    url: str
    thumbnail_url: str
    created_at: datetime


class CharacterRead(BaseModel):
    """A character as clients see it."""

    id: str
    owner_id: str
    display_name: str
    description: str
    persona_prompt: str | None = Field(
        description="The owner's (and admins') to read; null for others, who may still chat"
    )
    voice_id: str | None = Field(description="null once the voice was deleted")
    visibility: str
    config: SynthesisConfig
    images: list[CharacterImageRead]
    stars: int
    starred: bool = Field(description="Whether you starred it")
    created_at: datetime
    updated_at: datetime


class CharacterPage(BaseModel):
    """One page of characters; pass `next_cursor` back as `cursor` for the next."""

    items: list[CharacterRead]
    next_cursor: str | None


class StarRead(BaseModel):
    """A character's star count after starring or unstarring it."""

    character_id: str
    stars: int
    starred: bool
