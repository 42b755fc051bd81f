"""The Fish Audio engine against a loopback server speaking Fish Audio's documented protocol
(POST /model multipart, POST /v1/tts, DELETE /model/{id}), checked field by field."""

from __future__ import annotations

import io
import json
import wave
from collections.abc import AsyncIterator, Iterator

import numpy as np
import pytest
from pydantic import SecretStr

from tests.engines.remote.provider_server import KEY, Behaviour, RunningServer, serve
from voxhub.core.errors import EngineAuthFailed, EngineTimeout, EngineUnavailable
from voxhub.engines.base import ForgettingEngine, Reference, SynthesisParams
from voxhub.engines.remote.fish_audio import FishAudioEngine
from voxhub.settings import EngineSettings

RATE = 24_000
REFERENCE = Reference(
    (0.2 * np.sin(np.arange(RATE, dtype=np.float32) * 0.05)).astype(np.float32), RATE, seed=7
)


@pytest.fixture(scope="module")
def server() -> Iterator[RunningServer]:
    yield from serve(Behaviour())


@pytest.fixture
def behaviour(server: RunningServer) -> Behaviour:
    vars(server.behaviour).update(vars(Behaviour()))
    return server.behaviour


def make(base: str, key: str = KEY, timeout_s: float = 5.0) -> FishAudioEngine:
    return FishAudioEngine(
        EngineSettings(
            fish_audio_base_url=base,
            fish_audio_api_key=SecretStr(key),
            fish_audio_backend="s1",
            fish_audio_timeout_s=timeout_s,
        )
    )


@pytest.fixture
async def engine(server: RunningServer, behaviour: Behaviour) -> AsyncIterator[FishAudioEngine]:
    e = make(server.base_url)
    yield e
    await e.aclose()


async def test_enrolment_creates_a_private_fast_model_from_the_reference(
    engine: FishAudioEngine, behaviour: Behaviour
) -> None:
    profile = await engine.enroll(REFERENCE)
    assert json.loads(profile.data) == {"model_id": "fishmodel1"}
    (req,) = behaviour.requests
    assert (req["method"], req["path"]) == ("POST", "/model")
    assert req["headers"]["authorization"] == f"Bearer {KEY}"
    assert req["headers"]["content-type"].startswith("multipart/form-data; boundary=")
    assert req["fields"] == {
        "title": "voxhub-00000007",
        "visibility": "private",
        "type": "tts",
        "train_mode": "fast",
    }
    (voice_file,) = req["files"]
    assert voice_file["type"] == "audio/wav"
    with wave.open(io.BytesIO(voice_file["data"])) as w:  # the reference itself, as 16-bit WAV
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, RATE)
        sent = np.frombuffer(w.readframes(w.getnframes()), "<i2") / 32767.0
    assert np.abs(sent - REFERENCE.samples).max() < 1e-3


async def test_speech_by_reference_id_streams_pcm(
    engine: FishAudioEngine, behaviour: Behaviour
) -> None:
    profile = await engine.enroll(REFERENCE)
    params = SynthesisParams(speed=0.9)
    chunks = [c async for c in engine.synthesize("Hi there.", profile, params)]
    assert len(chunks) > 1 and sum(len(c.samples) for c in chunks) == RATE // 2
    assert chunks[0].text == "Hi there." and all(c.sample_rate == RATE for c in chunks)
    req = behaviour.requests[-1]
    assert (req["method"], req["path"]) == ("POST", "/v1/tts")
    assert req["headers"]["authorization"] == f"Bearer {KEY}"
    assert req["headers"]["model"] == "s1"
    assert req["json"] == {
        "text": "Hi there.",
        "reference_id": "fishmodel1",
        "format": "pcm",
        "sample_rate": RATE,
        "prosody": {"speed": 0.9, "volume": 0},
    }


async def test_forget_deletes_the_model_and_a_missing_one_is_fine(
    engine: FishAudioEngine, behaviour: Behaviour
) -> None:
    assert isinstance(engine, ForgettingEngine)
    profile = await engine.enroll(REFERENCE)
    await engine.forget(profile)
    assert behaviour.deleted == ["fishmodel1"]
    assert behaviour.requests[-1]["path"] == "/model/fishmodel1"
    behaviour.status, behaviour.error_body = 404, {"message": "model not found"}
    await engine.forget(profile)  # already gone at the provider: nothing to do


async def test_errors_map_to_voxhubs_codes(server: RunningServer, behaviour: Behaviour) -> None:
    wrong = make(server.base_url, key="fish-wrong-key-77")
    with pytest.raises(EngineAuthFailed) as auth:
        await wrong.enroll(REFERENCE)
    await wrong.aclose()
    assert "fish-wrong-key-77" not in str(auth.value)

    engine = make(server.base_url)
    behaviour.status, behaviour.retry_after = 429, "9"
    with pytest.raises(EngineUnavailable) as busy:
        await engine.enroll(REFERENCE)
    assert busy.value.extra["retry_after"] == 9
    await engine.aclose()


async def test_a_hanging_provider_is_engine_timeout(
    server: RunningServer, behaviour: Behaviour
) -> None:
    behaviour.hang_s = 2.0
    engine = make(server.base_url, timeout_s=0.3)
    with pytest.raises(EngineTimeout):
        await engine.enroll(REFERENCE)
    await engine.aclose()
