"""Seed 004's `model_type` and `audio_format` on clone and generate: honoured or refused."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from tests.api.conftest import counts, create_voice, speech_file
from voxhub.compat.seed004_jobs import GENERATE
from voxhub.container import Container
from voxhub.jobs.models import Job


def clone_body(**fields: Any) -> dict[str, Any]:
    _, audio = speech_file()
    return {"name": "voice_test", "audio_data": base64.b64encode(audio).decode(), **fields}


async def generate_jobs(c: Container) -> list[Job]:
    async with c.sessions() as s:
        return list(await s.scalars(select(Job).where(Job.kind == GENERATE)))


def _problem(r: httpx.Response, code: str) -> dict[str, Any]:
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = r.json()
    assert body["code"] == code, body
    return body


@pytest.mark.parametrize("model_type", ["tortoise", ""])
async def test_an_unknown_model_type_is_refused_and_nothing_is_made(
    client: httpx.AsyncClient, container: Container, model_type: str
) -> None:
    r = await client.post("/api/voices/clone", json=clone_body(model_type=model_type))
    body = _problem(r, "unknown_model_type")
    assert body["accepted"] == ["chatterbox", "fake"]
    assert await counts(container) == (0, 0)
    voice = await create_voice(client)
    gen = {"voice_id": voice["id"], "text": "Hi there.", "model_type": model_type}
    _problem(await client.post("/api/tts/generate", json=gen), "unknown_model_type")
    assert await generate_jobs(container) == []


@pytest.mark.parametrize(("model_type", "engine"), [("chatterbox", None), ("fake", "fake")])
async def test_model_type_picks_the_engine_that_speaks(
    client: httpx.AsyncClient, container: Container, model_type: str, engine: str | None
) -> None:
    r = await client.post("/api/voices/clone", json=clone_body(model_type=model_type))
    assert r.status_code == 200, r.text
    assert r.json()["model_type"] == model_type
    gen = {"voice_id": r.json()["voice_id"], "text": "Hi there.", "model_type": model_type}
    assert (await client.post("/api/tts/generate", json=gen)).status_code == 202
    [job] = await generate_jobs(container)
    assert job.payload["engine"] == engine


async def test_audio_format_must_be_what_the_recording_is(
    client: httpx.AsyncClient, container: Container
) -> None:
    body = _problem(
        await client.post("/api/voices/clone", json=clone_body(audio_format="mp3")),
        "audio_format_mismatch",
    )
    assert body["detected"] == "wav"
    _problem(
        await client.post("/api/voices/clone", json=clone_body(audio_format="xyz")),
        "unsupported_audio_format",
    )
    assert await counts(container) == (0, 0)
    for declared in ("wav", "WAV", None):
        fields = {} if declared is None else {"audio_format": declared}
        r = await client.post("/api/voices/clone", json=clone_body(**fields))
        assert r.status_code == 200, r.text
