"""Routing: a voice speaks with its own engine unless a request names another; an engine that
fails to answer is down for a while, and until then requests fail fast (503 with Retry-After,
the engine not contacted) or fall over to the engine the settings name, where the voice has a
profile. The down engine is a real OpenAI-compatible adapter whose server hangs up on every
connection (a socket on loopback that counts them)."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.api.conftest import create_voice, make_settings
from tests.conftest import truncate_all
from voxhub.bootstrap import build_container, close_container
from voxhub.container import Container
from voxhub.engines.fake import FakeEngine
from voxhub.engines.health import EngineHealth
from voxhub.engines.registry import EngineRegistry
from voxhub.engines.remote.openai_speech import OpenAISpeechEngine
from voxhub.settings import EngineSettings

DOWN_S = 30.0


class HangUp:
    """A TCP server that accepts and at once closes every connection, counting them."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def hang_up() -> Iterator[HangUp]:
    server = HangUp()
    yield server
    server.close()


@pytest.fixture
async def container(
    tmp_path: Path, database_url: str, speaker_encoder: object, hang_up: HangUp
) -> AsyncIterator[Container]:
    settings = make_settings(tmp_path, database_url)
    remote = OpenAISpeechEngine(
        EngineSettings(openai_speech_base_url=f"http://127.0.0.1:{hang_up.port}/v1")
    )
    engines = EngineRegistry(
        {"fake": FakeEngine(), "openai_speech": remote},
        "fake",
        failover={"openai_speech": ["fake"], "fake": ["openai_speech"]},
        health=EngineHealth(DOWN_S),
    )
    c = await build_container(
        settings,
        engines=engines,
        speaker=speaker_encoder,
        run_jobs=False,  # type: ignore[arg-type]
    )
    await truncate_all(database_url)
    await c.jobs.start()
    yield c
    await close_container(c)


async def voice_on(client, engine: str | None) -> dict:
    from tests.api.conftest import speech_file

    fname, data = speech_file()
    form = {"name": "Ana", "consent": "self"} | ({"engine": engine} if engine else {})
    r = await client.post("/api/v1/voices", files={"file": (fname, data)}, data=form)
    assert r.status_code == 201, r.text
    return r.json()


async def speak(client, vid: str, **extra: object):
    return await client.post("/api/v1/speech", json={"voice_id": vid, "text": "Hi."} | extra)


async def test_a_voice_speaks_with_its_own_engine(client, container: Container) -> None:
    default = await create_voice(client)
    assert default["engine"] == "fake"
    r = await speak(client, default["id"])
    assert r.headers["x-voxhub-engine"] == "fake/fake-1"
    r = await client.post(
        "/api/v1/voices", files={"file": ("a.wav", b"RIFF")}, data={"name": "x", "engine": "nope"}
    )
    assert (r.status_code, r.json()["code"]) == (404, "engine_not_found")


async def test_a_down_engine_fails_fast_then_falls_over(
    client, container: Container, hang_up: HangUp
) -> None:
    voice = await voice_on(client, "openai_speech")
    assert voice["engine"] == "openai_speech"
    vid = voice["id"]
    # It has a profile on the fallback too: a request that named that engine made it.
    assert (await speak(client, vid, engine="fake")).status_code == 200

    first = await speak(client, vid)  # finds the engine down: told so, the engine noted down
    assert (first.status_code, first.json()["code"]) == (503, "engine_unavailable")
    assert hang_up.connections >= 1
    tried = hang_up.connections
    assert container.engines.health.down_for("openai_speech") > 0
    # Held down for certain (as a provider's Retry-After would), so however slow this machine
    # is, it cannot come back mid-test.
    container.engines.health.mark_down("openai_speech", DOWN_S)

    fell_over = await speak(client, vid)
    assert fell_over.status_code == 200, fell_over.text
    assert fell_over.headers["x-voxhub-engine"] == "fake/fake-1"
    streamed = await speak(client, vid, stream=True)
    assert streamed.headers["x-voxhub-engine"] == "fake/fake-1"

    # Naming the engine asks for it and nothing else: refused at once, not contacted.
    named = await speak(client, vid, engine="openai_speech")
    assert (named.status_code, named.json()["code"]) == (503, "engine_unavailable")
    assert 1 <= int(named.headers["retry-after"]) <= DOWN_S
    assert hang_up.connections == tried


async def test_without_a_profile_on_the_fallback_a_down_engine_is_503_at_once(
    client, container: Container, hang_up: HangUp
) -> None:
    vid = (await voice_on(client, "openai_speech"))["id"]
    assert (await speak(client, vid)).status_code == 503
    container.engines.health.mark_down("openai_speech", DOWN_S)  # held, as above
    tried = hang_up.connections
    started = asyncio.get_running_loop().time()
    again = await speak(client, vid)
    assert (again.status_code, again.json()["code"]) == (503, "engine_unavailable")
    assert "try again in" in again.json()["detail"]
    assert asyncio.get_running_loop().time() - started < 5
    assert hang_up.connections == tried
    # A job may wait for it: accepted now, routed when it runs.
    queued = await speak(client, vid, **{"async": True})
    assert queued.status_code == 202, queued.text


async def test_an_engine_is_tried_again_once_its_time_is_up(
    client, container: Container, hang_up: HangUp
) -> None:
    vid = (await voice_on(client, "openai_speech"))["id"]
    assert (await speak(client, vid)).status_code == 503
    tried = hang_up.connections
    container.engines.health.mark_up("openai_speech")  # as if DOWN_S had passed
    assert (await speak(client, vid)).status_code == 503
    assert hang_up.connections > tried


async def test_a_stand_in_that_cannot_speak_the_request_is_passed_over(
    client, container: Container
) -> None:
    vid = (await create_voice(client))["id"]  # on the fake engine, which speaks Spanish
    # A profile on openai_speech (English only) too: made by a request that named it.
    await speak(client, vid, engine="openai_speech")
    container.engines.health.mark_up("openai_speech")
    container.engines.health.mark_down("fake", DOWN_S)
    r = await speak(client, vid, language="es")
    # The outage is the answer, not the stand-in's language (422 would blame the request).
    assert (r.status_code, r.json()["code"]) == (503, "engine_unavailable")


async def test_a_provider_that_names_no_retry_after_is_down_for_the_setting(
    client, container: Container, hang_up: HangUp
) -> None:
    vid = (await voice_on(client, "openai_speech"))["id"]
    assert (await speak(client, vid)).status_code == 503  # nothing answers: no Retry-After
    assert DOWN_S - 5 < container.engines.health.down_for("openai_speech") <= DOWN_S
