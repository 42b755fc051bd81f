"""A voice's clone at a provider is deleted by a `voice.forget` job committed with the change
that made it obsolete: deleting the voice (the request does not wait on the provider). The
provider is a loopback server speaking ElevenLabs' protocol; ElevenLabs is the app's engine."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import select

from tests.api.conftest import create_voice, make_settings
from tests.conftest import truncate_all
from tests.engines.remote.provider_server import KEY, Behaviour, RunningServer, serve
from voxhub.bootstrap import build_container, close_container
from voxhub.container import Container
from voxhub.engines.registry import EngineRegistry
from voxhub.engines.remote.elevenlabs import ElevenLabsEngine
from voxhub.jobs.models import FINAL, Job
from voxhub.settings import EngineSettings


@pytest.fixture(scope="module")
def provider() -> Iterator[RunningServer]:
    yield from serve(Behaviour())


@pytest.fixture
def behaviour(provider: RunningServer) -> Behaviour:
    vars(provider.behaviour).update(vars(Behaviour()))
    return provider.behaviour


def eleven(provider: RunningServer, model: str = "eleven_flash_v2_5") -> ElevenLabsEngine:
    return ElevenLabsEngine(
        EngineSettings(
            elevenlabs_base_url=provider.base_url,
            elevenlabs_api_key=SecretStr(KEY),
            elevenlabs_model=model,
            elevenlabs_timeout_s=5.0,
        )
    )


@pytest.fixture
async def container(  # replaces the conftest's: ElevenLabs is this app's default engine
    tmp_path: Path, database_url: str, speaker_encoder: object, provider: RunningServer
) -> AsyncIterator[Container]:
    settings = make_settings(tmp_path, database_url)
    settings.jobs.job_retry_delay_s = 0.2
    c = await build_container(
        settings,
        engines=EngineRegistry({"elevenlabs": eleven(provider)}, "elevenlabs"),
        speaker=speaker_encoder,  # type: ignore[arg-type]
        run_jobs=False,
    )
    await truncate_all(database_url)
    await c.jobs.start()
    yield c
    await close_container(c)


async def forget_jobs(c: Container, n: int, timeout_s: float = 20.0) -> list[Job]:
    """The `voice.forget` jobs, once `n` of them exist and all have finished."""
    deadline = time.monotonic() + timeout_s
    while True:
        async with c.sessions() as s:
            jobs = list(await s.scalars(select(Job).where(Job.kind == "voice.forget")))
        if len(jobs) >= n and all(j.status in FINAL for j in jobs):
            return jobs
        assert time.monotonic() < deadline, [(j.status, j.error) for j in jobs]
        await asyncio.sleep(0.05)


def clone_ids(behaviour: Behaviour) -> list[str]:
    """The voice ids the provider handed out, in order (its ids count its requests)."""
    return [
        f"elevenvoice{i + 1}"
        for i, r in enumerate(behaviour.requests)
        if r["path"] == "/v1/voices/add"
    ]


async def test_deleting_a_voice_does_not_wait_on_the_provider(
    container: Container, client, behaviour: Behaviour
) -> None:
    v = await create_voice(client)
    (clone,) = clone_ids(behaviour)
    behaviour.hang_s = 2.0  # the provider takes its time; the request must not
    started = time.monotonic()
    assert (await client.delete(f"/api/v1/voices/{v['id']}")).status_code == 204
    assert time.monotonic() - started < 1.5
    assert (await client.get(f"/api/v1/voices/{v['id']}")).status_code == 404
    (job,) = await forget_jobs(container, 1)
    assert (job.status, job.attempts, job.owner_id) == ("succeeded", 1, None)
    assert job.result == {"voice_id": v["id"], "engine": "elevenlabs", "forgotten": True}
    assert behaviour.deleted == [clone]
    deletes = [r for r in behaviour.requests if r["method"] == "DELETE"]
    assert [r["path"] for r in deletes] == [f"/v1/voices/{clone}"]  # once
