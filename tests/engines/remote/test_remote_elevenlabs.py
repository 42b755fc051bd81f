"""The ElevenLabs engine against a loopback server speaking ElevenLabs' protocol (as its SDK
sends it: POST /v1/voices/add multipart, POST /v1/text-to-speech/{id}/stream, DELETE
/v1/voices/{id}, xi-api-key), checked field by field."""

from __future__ import annotations

import io
import json
import wave
from collections.abc import AsyncIterator, Iterator

import numpy as np
import pytest
from pydantic import SecretStr

from tests.engines.remote.provider_server import KEY, Behaviour, RunningServer, serve
from voxhub.core.errors import EngineAuthFailed, EngineRejected, EngineTimeout
from voxhub.engines.base import ForgettingEngine, Reference, SynthesisParams
from voxhub.engines.remote.elevenlabs import ElevenLabsEngine
from voxhub.settings import EngineSettings

RATE = 24_000
REFERENCE = Reference(
    (0.2 * np.sin(np.arange(RATE, dtype=np.float32) * 0.03)).astype(np.float32), RATE, seed=3
)


@pytest.fixture(scope="module")
def server() -> Iterator[RunningServer]:
    yield from serve(Behaviour())


@pytest.fixture
def behaviour(server: RunningServer) -> Behaviour:
    vars(server.behaviour).update(vars(Behaviour()))
    return server.behaviour


def make(base: str, key: str = KEY, timeout_s: float = 5.0) -> ElevenLabsEngine:
    return ElevenLabsEngine(
        EngineSettings(
            elevenlabs_base_url=base,
            elevenlabs_api_key=SecretStr(key),
            elevenlabs_model="eleven_flash_v2_5",
            elevenlabs_timeout_s=timeout_s,
        )
    )


@pytest.fixture
async def engine(server: RunningServer, behaviour: Behaviour) -> AsyncIterator[ElevenLabsEngine]:
    e = make(server.base_url)
    yield e
    await e.aclose()


async def test_enrolment_clones_the_reference_instantly(
    engine: ElevenLabsEngine, behaviour: Behaviour
) -> None:
    profile = await engine.enroll(REFERENCE)
    assert json.loads(profile.data) == {"voice_id": "elevenvoice1"}
    (req,) = behaviour.requests
    assert (req["method"], req["path"]) == ("POST", "/v1/voices/add")
    assert req["headers"]["xi-api-key"] == KEY and "authorization" not in req["headers"]
    assert req["headers"]["content-type"].startswith("multipart/form-data; boundary=")
    assert req["fields"] == {"name": "voxhub-00000003", "remove_background_noise": "false"}
    (sent,) = req["files"]
    with wave.open(io.BytesIO(sent["data"])) as w:
        assert (w.getnchannels(), w.getframerate(), w.getnframes()) == (1, RATE, RATE)


async def test_speech_streams_pcm_24000_with_the_model_and_speed(
    engine: ElevenLabsEngine, behaviour: Behaviour
) -> None:
    profile = await engine.enroll(REFERENCE)
    chunks = [c async for c in engine.synthesize("Good day.", profile, SynthesisParams(speed=2))]
    assert len(chunks) > 1 and sum(len(c.samples) for c in chunks) == RATE // 2
    req = behaviour.requests[-1]
    assert (req["method"], req["path"]) == ("POST", "/v1/text-to-speech/elevenvoice1/stream")
    assert req["query"] == {"output_format": "pcm_24000"}
    assert req["headers"]["xi-api-key"] == KEY
    assert req["json"] == {
        "text": "Good day.",
        "model_id": "eleven_flash_v2_5",
        "voice_settings": {"speed": 1.2},  # clamped to ElevenLabs' range
    }


async def test_forget_deletes_the_voice(engine: ElevenLabsEngine, behaviour: Behaviour) -> None:
    assert isinstance(engine, ForgettingEngine)
    profile = await engine.enroll(REFERENCE)
    await engine.forget(profile)
    assert behaviour.deleted == ["elevenvoice1"]
    assert behaviour.requests[-1]["path"] == "/v1/voices/elevenvoice1"


async def test_errors_map_to_voxhubs_codes(
    server: RunningServer, behaviour: Behaviour, caplog: pytest.LogCaptureFixture
) -> None:
    wrong = make(server.base_url, key="xi-wrong-key-5150")
    with pytest.raises(EngineAuthFailed) as auth:
        await wrong.enroll(REFERENCE)
    await wrong.aclose()
    assert "xi-wrong-key-5150" not in str(auth.value) + caplog.text

    engine = make(server.base_url)
    behaviour.status = 400
    behaviour.error_body = {"detail": {"status": "voice_limit_reached", "message": "Too many"}}
    with pytest.raises(EngineRejected) as refused:
        await engine.enroll(REFERENCE)
    assert "Too many" in refused.value.message
    await engine.aclose()


async def test_a_hanging_provider_is_engine_timeout(
    server: RunningServer, behaviour: Behaviour
) -> None:
    behaviour.hang_s = 2.0
    engine = make(server.base_url, timeout_s=0.3)
    with pytest.raises(EngineTimeout):
        await engine.enroll(REFERENCE)
    await engine.aclose()
