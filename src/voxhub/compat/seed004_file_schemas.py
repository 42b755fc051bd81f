"""Seed 004's shapes for saved files, samples, story audio and the debug listing."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class VoiceSaved(BaseModel):
    status: str = "success"
    message: str
    voice_id: str = Field(description="voxhub's id of the voice (your voice_id names it too)")
    name: str
    language: str
    is_kids_voice: bool
    model_type: str
    sample_file: str
    embedding_file: str
    metadata: dict[str, Any]


class SampleBase64(BaseModel):
    status: str = "success"
    voice_id: str
    audio_format: str
    media_type: str
    size_bytes: int
    audio_base64: str


class TtsSaved(BaseModel):
    status: str = "success"
    message: str
    voice_id: str
    file_id: str = Field(
        description="The saved generation: GET /api/tts/generations/{file_id}/audio"
    )
    audio_url: str
    firebase_url: str = Field(description="The same URL, under the name seed 004's clients read")
    audio_format: str
    file_size_bytes: int
    file_size_mb: float
    metadata: dict[str, Any]


class StoryAudio(BaseModel):
    status: str = "success"
    language: str
    story_type: str
    story_id: str
    generation_id: str
    story_url: str = Field(description="The audio itself (byte ranges served)")
    shared_access: bool = False


class DirectoryStatus(BaseModel):
    path: str | None = Field(
        description="Relative to voxhub's home; null where the files are not under it"
    )
    location: str = Field(description="home, outside_home, s3 or memory")
    exists: bool
    file_count: int


class DebugDirectories(BaseModel):
    status: str = "success"
    firebase_connected: bool = False
    directories: dict[str, DirectoryStatus]
    current_working_directory: str | None = Field(
        description="Relative to voxhub's home; null when the process runs outside it"
    )
    timestamp: str
    firebase_storage_usage: dict[str, Any] | None = None
