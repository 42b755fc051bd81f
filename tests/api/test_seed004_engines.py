"""Seed 004's clone enrols on the engine its `model_type` names (the seed's own model on the
default engine), on both clone routes, and refuses a model this server does not run: 422, with
nothing made."""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from tests.api.conftest import counts, make_settings, speech_file
from tests.conftest import truncate_all
from voxhub.bootstrap import build_container, close_container
from voxhub.container import Container
from voxhub.engines.fake import FakeEngine
from voxhub.engines.registry import EngineRegistry
from voxhub.voices.models import VoiceProfileRow


class SecondEngine(FakeEngine):
    """Another engine beside the default one, told apart by its name."""

    info = dataclasses.replace(FakeEngine.info, name="second", version="second-1")


@pytest.fixture
async def container(  # replaces the conftest's: two engines, fake the default
    tmp_path: Path, database_url: str, speaker_encoder: object
) -> AsyncIterator[Container]:
    engines = EngineRegistry({"fake": FakeEngine(), "second": SecondEngine()}, "fake")
    c = await build_container(
        make_settings(tmp_path, database_url),
        engines=engines,
        speaker=speaker_encoder,  # type: ignore[arg-type]
        run_jobs=False,
    )
    await truncate_all(database_url)
    await c.jobs.start()
    yield c
    await close_container(c)


async def profile_engines(c: Container, voice_id: str) -> list[tuple[str, str]]:
    async with c.sessions() as s:
        rows = await s.execute(
            select(VoiceProfileRow.engine, VoiceProfileRow.engine_version).where(
                VoiceProfileRow.voice_id == voice_id
            )
        )
        return [tuple(r) for r in rows]  # type: ignore[misc]


def clone_body(model_type: str) -> dict[str, str]:
    _, audio = speech_file()
    b64 = base64.b64encode(audio).decode()
    return {"name": "voice_test", "audio_data": b64, "model_type": model_type}


@pytest.mark.parametrize(
    ("model_type", "engine"),
    [("second", ("second", "second-1")), ("chatterbox", ("fake", "fake-1"))],
)
async def test_clone_enrols_on_the_engine_its_model_type_names(
    client: httpx.AsyncClient, container: Container, model_type: str, engine: tuple[str, str]
) -> None:
    r = await client.post("/api/voices/clone", json=clone_body(model_type))
    assert r.status_code == 200, r.text
    assert r.json()["model_type"] == model_type
    assert await profile_engines(container, r.json()["voice_id"]) == [engine]


async def test_voices_save_enrols_on_the_engine_its_model_type_names(
    client: httpx.AsyncClient, container: Container
) -> None:
    name, audio = speech_file()
    data = {"voice_name": "John", "model_type": "second"}
    r = await client.post("/api/voices/save", data=data, files={"audio_file": (name, audio)})
    assert r.status_code == 201, r.text
    assert await profile_engines(container, r.json()["voice_id"]) == [("second", "second-1")]


async def test_an_installed_engine_that_is_not_enabled_is_refused(
    client: httpx.AsyncClient, container: Container
) -> None:
    r = await client.post("/api/voices/clone", json=clone_body("elevenlabs"))
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["code"] == "model_type_not_enabled"
    assert body["accepted"] == ["chatterbox", "fake", "second"]
    assert "does not run" in body["detail"]
    assert await counts(container) == (0, 0)
