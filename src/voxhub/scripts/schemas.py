"""What the script routes take and give."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

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
from voxhub.scripts.rules import (
    DEFAULT_LINES,
    MAX_CAST,
    MAX_LINE_CHARS,
    MAX_LINES,
    MAX_PAUSE_MS,
    MAX_PROMPT_CHARS,
    MIN_CAST,
    MIN_LINES,
)

Title = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]
CharacterId = Annotated[str, StringConstraints(min_length=1, max_length=36)]
LineText = Annotated[str, StringConstraints(max_length=MAX_LINE_CHARS)]
Emotion = Annotated[str, StringConstraints(max_length=40)]


PauseMs = Annotated[int, Field(ge=0, le=MAX_PAUSE_MS), BeforeValidator(whole)]


def _no_default(schema: dict[str, Any]) -> None:
    # Omitting a field keeps it; "default: null" would tell clients that null is allowed.
    schema.pop("default", None)


def _not_null(value: object) -> object:
    if value is None:
        raise ValueError("may not be null; leave the field out to keep its value")
    return value


class ScriptCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    character_ids: list[CharacterId] = Field(
        min_length=MIN_CAST,
        max_length=MAX_CAST,
        json_schema_extra={"uniqueItems": True},  # the schema says what the validator checks
    )
    prompt: str = Field(min_length=1, max_length=MAX_PROMPT_CHARS)
    # The most lines the model may write.
    lines: int = Field(DEFAULT_LINES, ge=MIN_LINES, le=MAX_LINES)
    # Empty: the title the model gives.
    title: Title = ""

    @field_validator("character_ids")
    @classmethod
    def _distinct(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("each character may be selected once")
        return value

    @field_validator("prompt")
    @classmethod
    def _some_text(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("a prompt needs some text")
        return value


class ScriptUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Title | SkipJsonSchema[None] = Field(None, json_schema_extra=_no_default)

    @field_validator("title")
    @classmethod
    def _kept(cls, value: object) -> object:
        return _not_null(value)


class LineCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    speaker: CharacterId
    text: LineText
    emotion: Emotion | None = None
    pause_ms: PauseMs | None = None
    # Where it goes (0 = first); none: at the end.
    position: int | None = Field(None, ge=0, le=MAX_LINES)


class LineUpdate(BaseModel):
    """Fields left out are kept; `emotion` and `pause_ms` null clear them."""

    model_config = ConfigDict(extra="forbid")

    speaker: CharacterId | SkipJsonSchema[None] = Field(None, json_schema_extra=_no_default)
    text: LineText | SkipJsonSchema[None] = Field(None, json_schema_extra=_no_default)
    emotion: Emotion | None = None
    pause_ms: PauseMs | None = None

    @field_validator("speaker", "text")
    @classmethod
    def _kept(cls, value: object) -> object:
        return _not_null(value)


class LineOrder(BaseModel):
    model_config = ConfigDict(extra="forbid")

    line_ids: list[Annotated[str, StringConstraints(max_length=36)]] = Field(max_length=MAX_LINES)


class LineRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    speaker: str
    text: str
    emotion: str | None
    pause_ms: int | None


class ScriptRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    title: str
    prompt: str
    character_ids: list[str]
    lines: list[LineRead]
    model: str
    tokens_in: int
    tokens_out: int
    revision: int
    created_at: datetime
    updated_at: datetime


class ScriptPage(BaseModel):
    items: list[ScriptRead]
    next_cursor: str | None
