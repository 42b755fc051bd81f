"""What the render routes take and give."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from voxhub.ambience.schemas import Ambience
from voxhub.scripts.rules import MAX_PAUSE_MS
from voxhub.synthesis.schemas import AudioFormat


class RenderCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        # Said in the schema too, so clients and fuzzers know: only a video has a background.
        json_schema_extra={
            "if": {"not": {"properties": {"kind": {"const": "video"}}, "required": ["kind"]}},
            "then": {"properties": {"background": {"type": "null"}}},
        },
    )

    # "audio": the dialogue's audio and captions; "video": those and an MP4.
    kind: Literal["audio", "video"] = "audio"
    format: AudioFormat = "wav"
    # Silence between lines that ask for no pause of their own; none: the server's default.
    gap_ms: int | None = Field(None, ge=0, le=MAX_PAUSE_MS)
    ambience: Ambience | None = None
    # A background clip of yours (id or name) for a video; none: a generated background.
    background: str | None = Field(None, min_length=1, max_length=200)

    @model_validator(mode="after")
    def _background_is_for_video(self) -> RenderCreate:
        if self.background is not None and self.kind != "video":
            raise ValueError("a background is only used by a video render (kind: video)")
        return self


class RenderedLine(BaseModel):
    index: int
    line_id: str
    speaker: str
    start: float
    end: float
    audio_url: str


class RenderRead(BaseModel):
    id: str
    script_id: str
    job_id: str
    kind: str
    status: str
    progress: int
    current_step: str | None
    steps: list[dict[str, Any]]
    revision: int
    options: dict[str, Any]
    duration_s: float | None
    loudness_lufs: float | None
    true_peak_dbtp: float | None
    audio_url: str | None
    video_url: str | None
    captions_srt_url: str | None
    captions_vtt_url: str | None
    video_size: int | None
    lines: list[RenderedLine]
    error: dict[str, Any] | None
    created_at: datetime


class RenderPage(BaseModel):
    items: list[RenderRead]
    next_cursor: str | None


class BackgroundRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    duration_s: float
    width: int
    height: int
    size_bytes: int
    created_at: datetime


class BackgroundList(BaseModel):
    items: list[BackgroundRead]
