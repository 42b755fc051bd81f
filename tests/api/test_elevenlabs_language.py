"""The ElevenLabs face's `language_code` is checked against the engine that speaks the voice:
an ElevenLabs model id means "the voice's engine", which need not be the default one."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.api.conftest import Account, make_settings, make_user, speech_file
from tests.conftest import truncate_all
from voxhub.app import create_app
from voxhub.bootstrap import build_container, close_container
from voxhub.container import Container
from voxhub.engines.base import AudioChunk, SynthesisParams, VoiceProfile
from voxhub.engines.fake import FakeEngine
from voxhub.engines.registry import EngineRegistry


class Listening(FakeEngine):
    """A fake engine that speaks Japanese too, and keeps the language each call asked for."""

    info = dataclasses.replace(FakeEngine.info, name="listening", languages=("en", "ja"))

    def __init__(self) -> None:
        super().__init__()
        self.languages: list[str | None] = []

    async def synthesize(
        self, text: str, voice: VoiceProfile, params: SynthesisParams
    ) -> AsyncIterator[AudioChunk]:
        self.languages.append(params.language)
        async for chunk in super().synthesize(text, voice, params):
            yield chunk


@pytest.fixture
async def listening() -> Listening:
    return Listening()


@pytest.fixture
async def container(
    tmp_path: Path, database_url: str, speaker_encoder: object, listening: Listening
) -> AsyncIterator[Container]:
    # The default engine ("fake") speaks no Japanese; the voice's engine does.
    engines = EngineRegistry({"fake": FakeEngine(), "listening": listening}, "fake")
    c = await build_container(
        make_settings(tmp_path, database_url),
        engines=engines,
        speaker=speaker_encoder,
        run_jobs=False,  # type: ignore[arg-type]
    )
    await truncate_all(database_url)
    await c.jobs.start()
    yield c
    await close_container(c)


@pytest.fixture
async def ana(container: Container) -> Account:
    return await make_user(container, "ana@example.com")


async def test_the_language_is_the_voice_engines_to_take_or_ignore(
    container: Container, ana: Account, listening: Listening
) -> None:
    transport = httpx.ASGITransport(app=create_app(container=container))
    async with httpx.AsyncClient(
        transport=transport, base_url="http://t", headers={"xi-api-key": ana.api_key}
    ) as xi:
        fname, data = speech_file()
        form = {"name": "Aiko", "consent": "self", "engine": "listening"}
        r = await xi.post("/api/v1/voices", files={"file": (fname, data)}, data=form)
        assert r.status_code == 201, r.text
        voice_id = r.json()["id"]
        for code in ("ja-JP", "zz"):
            body = {
                "text": "Konnichiwa.",
                "model_id": "eleven_multilingual_v2",
                "language_code": code,
            }
            r = await xi.post(f"/v1/text-to-speech/{voice_id}", json=body)
            assert r.status_code == 200, r.text
    # Japanese reaches the voice's engine though the default one does not speak it; a code
    # no engine speaks is ignored, as ElevenLabs does: the voice speaks its own language.
    assert listening.languages == ["ja", "en"]
