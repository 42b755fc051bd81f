"""A remote engine through the app: a voice uploaded with Fish Audio as the default engine
becomes a Fish Audio model, speaks by its reference_id, and its deletion deletes the model (a
job, after the commit); provider errors reach the client as voxhub's codes. The provider is a
loopback server."""

from __future__ import annotations

import io
import json
import wave
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from tests.api.conftest import create_voice, make_settings
from tests.api.test_voice_forget import forget_jobs
from tests.conftest import truncate_all
from tests.engines.remote.provider_server import KEY, Behaviour, RunningServer, serve
from voxhub.bootstrap import build_container, close_container
from voxhub.container import Container
from voxhub.engines.registry import EngineRegistry
from voxhub.engines.remote.fish_audio import FishAudioEngine
from voxhub.settings import EngineSettings


@pytest.fixture(scope="module")
def provider() -> Iterator[RunningServer]:
    yield from serve(Behaviour())


@pytest.fixture
def behaviour(provider: RunningServer) -> Behaviour:
    vars(provider.behaviour).update(vars(Behaviour()))
    return provider.behaviour


@pytest.fixture
async def container(  # replaces the conftest's: Fish Audio is this app's default engine
    tmp_path: Path, database_url: str, speaker_encoder: object, provider: RunningServer
) -> AsyncIterator[Container]:
    fish = FishAudioEngine(
        EngineSettings(
            fish_audio_base_url=provider.base_url,
            fish_audio_api_key=SecretStr(KEY),
            fish_audio_timeout_s=5.0,
        )
    )
    engines = EngineRegistry({"fish_audio": fish}, "fish_audio")
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


async def test_upload_speak_delete_through_fish_audio(
    container: Container, client, behaviour: Behaviour
) -> None:
    v = await create_voice(client)
    created = [r for r in behaviour.requests if r["path"] == "/model"]
    assert len(created) == 1 and created[0]["fields"]["visibility"] == "private"
    model_id = f"fishmodel{behaviour.requests.index(created[0]) + 1}"

    r = await client.post(
        "/api/v1/speech", json={"voice_id": v["id"], "text": "Hello there.", "format": "wav"}
    )
    assert r.status_code == 200, r.text
    assert r.headers["x-voxhub-engine"] == "fish_audio/fish-audio-1"
    with wave.open(io.BytesIO(r.content)) as w:
        assert w.getframerate() == 24_000 and w.getnframes() > 10_000
    spoken = [r for r in behaviour.requests if r["path"] == "/v1/tts"]
    assert spoken and all(s["json"]["reference_id"] == model_id for s in spoken)
    assert json.dumps(spoken[0]["json"]).count("Hello there.") == 1

    assert (await client.delete(f"/api/v1/voices/{v['id']}")).status_code == 204
    (job,) = await forget_jobs(container, 1)  # deleted at the provider after the commit
    assert job.status == "succeeded"
    assert behaviour.deleted == [model_id]


async def test_provider_errors_reach_the_client_as_voxhubs_codes(
    client, behaviour: Behaviour, container: Container
) -> None:
    v = await create_voice(client)
    body = {"voice_id": v["id"], "text": "Hello again.", "format": "wav"}
    behaviour.status, behaviour.retry_after = 429, "11"
    r = await client.post("/api/v1/speech", json=body)
    assert (r.status_code, r.json()["code"]) == (503, "engine_unavailable")
    assert r.headers["retry-after"] == "11"
    # Told to wait 11 s, voxhub does: the next request is refused without asking the provider.
    asked = len(behaviour.requests)
    r = await client.post("/api/v1/speech", json=body)
    assert (r.status_code, r.json()["code"]) == (503, "engine_unavailable")
    assert 1 <= int(r.headers["retry-after"]) <= 11
    assert len(behaviour.requests) == asked
    container.engines.health.mark_up("fish_audio")  # as if the 11 s had passed

    behaviour.status, behaviour.retry_after = 401, None
    r = await client.post("/api/v1/speech", json=body)
    assert (r.status_code, r.json()["code"]) == (502, "engine_auth_failed")
    assert KEY not in r.text

    behaviour.status = 422
    behaviour.error_body = {"message": "text is too long for this model"}
    r = await client.post("/api/v1/speech", json=body)
    assert (r.status_code, r.json()["code"]) == (502, "engine_failure")
    assert "text is too long for this model" in r.json()["detail"]


async def test_a_provider_down_at_deletion_does_not_keep_the_voice(
    client, behaviour: Behaviour
) -> None:
    v = await create_voice(client)
    behaviour.status = 503
    assert (await client.delete(f"/api/v1/voices/{v['id']}")).status_code == 204
    assert (await client.get(f"/api/v1/voices/{v['id']}")).status_code == 404
