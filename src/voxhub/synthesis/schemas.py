"""Speech request and generation views."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic.json_schema import JsonDict

from voxhub.ambience.schemas import Ambience
from voxhub.audio.encode import SAMPLE_RATES
from voxhub.core.json_numbers import whole

AudioFormat = Literal["wav", "mp3", "opus", "flac", "pcm", "mulaw", "aac"]
# Speakable text has a letter or digit (voxhub.text.normalize's rule, Python's \w). Told to
# clients as a pattern; enforced by that rule, which answers 422 `invalid_text`.
SPEAKABLE: JsonDict = {"pattern": r"[^\W_]"}


DictionaryIds = Annotated[
    list[Annotated[str, Field(max_length=64)]],
    Field(
        max_length=3,
        description="Pronunciation dictionaries to apply, earlier ones winning a shared phrase"
        " (see /api/v1/pronunciation-dictionaries)",
    ),
]


DictionaryVersions = Annotated[
    dict[
        Annotated[str, Field(max_length=64)],
        Annotated[int, Field(ge=1), BeforeValidator(whole)],
    ],
    Field(
        max_length=3,
        description="Hold named dictionaries to these versions (409 when one has moved on;"
        " a job holds them to the versions it was queued with)",
    ),
]


def _known_rate(rate: int) -> int:
    if rate not in SAMPLE_RATES:
        raise ValueError(f"sample_rate must be one of {list(SAMPLE_RATES)}")
    return rate


SampleRate = Annotated[
    int,
    AfterValidator(_known_rate),
    WithJsonSchema({"type": "integer", "enum": list(SAMPLE_RATES)}),
]


class SpeechRequest(BaseModel):
    """Speak `text` in a voice: as audio bytes, a chunked stream, or a job (`async`)."""

    # Strict: JSON has booleans and numbers, so 0 is not false and "2" is not a number here.
    model_config = ConfigDict(
        extra="forbid",
        populate_by_name=True,
        strict=True,
        # Said in the schema too, so clients and fuzzers know: a streamed request has no bed,
        # and timings come with whole speech only (not a stream, not a job).
        json_schema_extra={
            "allOf": [
                {
                    "if": {"properties": {"stream": {"const": True}}, "required": ["stream"]},
                    "then": {"properties": {"ambience": {"type": "null"}}},
                },
                {
                    "if": {"properties": {"timings": {"const": True}}, "required": ["timings"]},
                    "then": {"properties": {"stream": {"const": False}, "async": {"const": False}}},
                },
            ]
        },
    )

    voice_id: str = Field(max_length=64)
    text: str = Field(
        min_length=1,
        max_length=200_000,
        json_schema_extra=SPEAKABLE,
        description='Pauses as `<break time="500ms"/>` (or `1.5s`, or SSML `strength`), up to'
        " 5 s each",
    )
    format: AudioFormat = "wav"
    sample_rate: SampleRate | None = None
    speed: float = Field(1.0, ge=0.5, le=2.0)
    language: str | None = Field(None, pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")
    engine: str | None = Field(None, max_length=64)
    pronunciation_dictionary_ids: DictionaryIds = Field(default_factory=list)
    pronunciation_dictionary_versions: DictionaryVersions | None = None
    stream: bool = False
    run_async: bool = Field(False, alias="async", description="Answer 202 with a job")
    callback_url: str | None = Field(
        None,
        max_length=2048,
        description="With `async`: where voxhub POSTs the finished job, signed (see webhooks)",
    )
    ambience: Ambience | None = Field(
        None,
        description="A bed from GET /api/v1/ambience mixed under the speech (whole or `async`"
        " speech; refused with `stream`, whose bytes leave before the speech is all known)",
    )

    timings: bool = Field(
        False,
        description="Answer the audio with its word timings: JSON with the audio in base64,"
        " or multipart/mixed when Accept asks for it (whole speech"
        " only: refused with `stream` or `async`; a job's timings are at"
        " GET /api/v1/generations/{id}/timings)",
    )

    @field_validator("text")
    @classmethod
    def _not_blank(cls, text: str) -> str:
        if not text.strip():
            raise ValueError("text is empty")
        return text

    @model_validator(mode="after")
    def _timings_whole(self) -> SpeechRequest:
        # A stream's bytes leave before its words are all known; a job answers 202, not audio.
        if self.timings and (self.stream or self.run_async):
            raise ValueError("timings come with whole speech: send them without stream or async")
        return self


class GenerationRead(BaseModel):
    """One recorded generation."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    voice_id: str
    engine: str
    engine_version: str
    text: str
    params: dict[str, Any]
    format: str
    sample_rate: int
    duration_s: float
    engine_seconds: float
    size_bytes: int
    source: str
    created_at: datetime
    audio_url: str = ""


class WordTime(BaseModel):
    word: str
    start: float = Field(description="Seconds from the start of the audio")
    end: float


class CharacterTimes(BaseModel):
    """The generation's (normalised) text, character by character, timed from its words."""

    characters: list[str]
    character_start_times_seconds: list[float]
    character_end_times_seconds: list[float]


class GenerationTimings(BaseModel):
    generation_id: str
    duration_s: float
    words: list[WordTime]
    characters: CharacterTimes | None = None


class TimedSpeech(BaseModel):
    """`timings: true`: the whole audio in base64 and the engine's word times."""

    audio_base64: str
    format: str
    sample_rate: int
    duration_s: float
    generation_id: str
    words: list[WordTime]


class GenerationPage(BaseModel):
    items: list[GenerationRead]
    next_cursor: str | None
