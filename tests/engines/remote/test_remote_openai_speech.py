"""The OpenAI-compatible remote engine against a loopback server speaking OpenAI's protocol;
the error mapping every remote engine shares is checked here, through this engine."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import AsyncIterator, Iterator

import numpy as np
import pytest
from pydantic import SecretStr

from tests.engines.remote.provider_server import KEY, Behaviour, RunningServer, free_port, serve
from voxhub.core.errors import (
    EngineAuthFailed,
    EngineRejected,
    EngineTimeout,
    EngineUnavailable,
    VoxhubError,
)
from voxhub.engines.base import Engine, Reference, SynthesisParams
from voxhub.engines.remote.openai_speech import OpenAISpeechEngine
from voxhub.settings import EngineSettings

REFERENCE = Reference(np.zeros(24_000, np.float32), 24_000)


@pytest.fixture(scope="module")
def server() -> Iterator[RunningServer]:
    yield from serve(Behaviour())


@pytest.fixture
def behaviour(server: RunningServer) -> Behaviour:
    vars(server.behaviour).update(vars(Behaviour()))
    return server.behaviour


def make(base: str, key: str | None = KEY, timeout_s: float = 5.0) -> OpenAISpeechEngine:
    return OpenAISpeechEngine(
        EngineSettings(
            openai_speech_base_url=base,
            openai_speech_api_key=SecretStr(key) if key else None,
            openai_speech_model="kokoro",
            openai_speech_voice="af_bella",
            openai_speech_timeout_s=timeout_s,
        )
    )


@pytest.fixture
async def engine(server: RunningServer, behaviour: Behaviour) -> AsyncIterator[OpenAISpeechEngine]:
    e = make(server.base_url + "/v1")
    yield e
    await e.aclose()


async def speak(engine: OpenAISpeechEngine, speed: float = 1.0) -> list[np.ndarray]:
    profile = await engine.enroll(REFERENCE)
    params = SynthesisParams(speed=speed)
    return [c.samples async for c in engine.synthesize("Hello there.", profile, params)]


async def test_speaks_streamed_pcm_and_sends_openais_fields(
    engine: OpenAISpeechEngine, behaviour: Behaviour
) -> None:
    assert isinstance(engine, Engine)
    assert not engine.info.supports_cloning and "cannot clone" in engine.info.description
    chunks = await speak(engine, speed=1.25)
    assert len(chunks) > 1  # the answer came in pieces and so did the chunks
    audio = np.concatenate(chunks)
    assert len(audio) == 12_000 and 0.25 < np.abs(audio).max() < 0.35
    (req,) = behaviour.requests
    assert (req["method"], req["path"]) == ("POST", "/v1/audio/speech")
    assert req["headers"]["authorization"] == f"Bearer {KEY}"
    assert req["headers"]["content-type"] == "application/json"
    assert req["json"] == {
        "model": "kokoro",
        "voice": "af_bella",
        "input": "Hello there.",
        "response_format": "pcm",
        "speed": 1.25,
    }


async def test_enrolment_records_the_remote_voice_without_calling_the_server(
    engine: OpenAISpeechEngine, behaviour: Behaviour
) -> None:
    profile = await engine.enroll(REFERENCE)
    assert profile.engine == "openai_speech" and b"af_bella" in profile.data
    assert behaviour.requests == []


async def test_wrong_key_is_engine_auth_failed_and_the_key_is_nowhere(
    server: RunningServer, behaviour: Behaviour, caplog: pytest.LogCaptureFixture
) -> None:
    wrong = "sk-wrong-key-that-must-not-leak-42"
    engine = make(server.base_url + "/v1", key=wrong)
    caplog.set_level(logging.DEBUG)
    with pytest.raises(EngineAuthFailed) as info:
        await speak(engine)
    await engine.aclose()
    assert info.value.code == "engine_auth_failed"
    assert wrong not in str(info.value) and wrong not in repr(info.value.extra)
    assert wrong not in caplog.text and KEY not in caplog.text


@pytest.mark.parametrize(
    ("status", "retry_after", "expected", "after"),
    [
        (429, "17", EngineUnavailable, 17),
        (429, None, EngineUnavailable, 5),
        (503, "3", EngineUnavailable, 3),
        (500, None, EngineUnavailable, 5),
    ],
)
async def test_busy_or_broken_provider_is_engine_unavailable_with_retry_after(
    engine: OpenAISpeechEngine,
    behaviour: Behaviour,
    status: int,
    retry_after: str | None,
    expected: type[VoxhubError],
    after: int,
) -> None:
    behaviour.status, behaviour.retry_after = status, retry_after
    with pytest.raises(expected) as info:
        await speak(engine)
    assert info.value.code == "engine_unavailable" and info.value.extra["retry_after"] == after


async def test_other_4xx_is_engine_failure_with_the_providers_message(
    engine: OpenAISpeechEngine, behaviour: Behaviour
) -> None:
    behaviour.status = 400
    behaviour.error_body = {"error": {"message": "voice 'af_bella' is not installed"}}
    with pytest.raises(EngineRejected) as info:
        await speak(engine)
    assert info.value.code == "engine_failure"
    assert "voice 'af_bella' is not installed" in info.value.message


async def test_a_server_that_never_answers_is_engine_timeout(
    server: RunningServer, behaviour: Behaviour
) -> None:
    behaviour.hang_s = 2.0
    threads = threading.active_count()
    engine = make(server.base_url + "/v1", timeout_s=0.3)
    started = time.monotonic()
    with pytest.raises(EngineTimeout) as info:
        await speak(engine)
    assert time.monotonic() - started < 1.5  # the timeout, not the server, ended the wait
    await engine.aclose()
    assert info.value.code == "engine_timeout"
    assert threading.active_count() == threads  # httpx waits on the loop: no thread left behind


async def test_nothing_listening_is_engine_unavailable() -> None:
    engine = make(f"http://127.0.0.1:{free_port()}/v1")
    with pytest.raises(EngineUnavailable) as info:
        await speak(engine)
    await engine.aclose()
    assert KEY not in str(info.value)
