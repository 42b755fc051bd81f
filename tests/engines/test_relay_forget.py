"""Forgetting a voice through the relay (on a real Redis): the API side's stand-in for an
engine that keeps voices at a provider deletes them there through a worker, which holds the
provider's client; the provider is a loopback server speaking ElevenLabs' protocol."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import numpy as np
import pytest
import redis
from pydantic import SecretStr

from tests.conftest import need_server
from tests.engines.remote.provider_server import KEY, Behaviour, RunningServer, serve
from voxhub.core.errors import EngineUnavailable
from voxhub.engines.base import ForgettingEngine, Reference
from voxhub.engines.fake import FakeEngine
from voxhub.engines.registry import EngineRegistry
from voxhub.engines.relay.client import RelayedEngine, relayed
from voxhub.engines.relay.server import RelayServer
from voxhub.engines.remote.elevenlabs import ElevenLabsEngine
from voxhub.settings import EngineSettings, JobSettings, Settings

REDIS_URL = "redis://127.0.0.1:6379/0"
REFERENCE = Reference(np.zeros(24_000, np.float32), 24_000, seed=5)


@pytest.fixture(scope="module")
def provider() -> Iterator[RunningServer]:
    yield from serve(Behaviour())


@pytest.fixture
def settings(tmp_path: Path, provider: RunningServer) -> Iterator[Settings]:
    vars(provider.behaviour).update(vars(Behaviour()))
    name = f"voxhub-relay-forget-{uuid.uuid4().hex[:10]}"
    try:
        with redis.Redis.from_url(REDIS_URL, socket_timeout=2) as probe:
            probe.ping()
    except redis.RedisError as exc:
        need_server(f"Redis not reachable at {REDIS_URL}: {exc}")
    yield Settings(
        home=tmp_path,
        redis_url=REDIS_URL,
        jobs=JobSettings(job_queue_name=name, job_shutdown_grace_s=1),
        engine=EngineSettings(
            engine_relay_wait_s=5,
            engine_relay_idle_s=5,
            engine_relay_slots=1,
            elevenlabs_base_url=provider.base_url,
            elevenlabs_api_key=SecretStr(KEY),
            elevenlabs_timeout_s=5.0,
        ),
    )
    with redis.Redis.from_url(REDIS_URL) as r:
        left = list(r.scan_iter(match=f"voxhub:{name}:*", count=500))
        if left:
            r.delete(*left)


@pytest.fixture
async def api(settings: Settings) -> AsyncIterator[RelayedEngine]:
    worker_engine = ElevenLabsEngine(settings.engine)
    server = RelayServer(EngineRegistry({"elevenlabs": worker_engine}, "elevenlabs"), settings)
    server.start()
    engine = relayed(ElevenLabsEngine(settings.engine), settings)
    yield engine
    await engine.aclose()
    await server.stop()
    await worker_engine.aclose()


async def test_a_relayed_provider_engine_forgets_through_the_worker(
    api: RelayedEngine, provider: RunningServer
) -> None:
    assert isinstance(api, ForgettingEngine)
    profile = await api.enroll(REFERENCE)
    voice_id = json.loads(profile.data)["voice_id"]
    await api.forget(profile)
    assert provider.behaviour.deleted == [voice_id]
    assert provider.behaviour.requests[-1]["path"] == f"/v1/voices/{voice_id}"


async def test_the_providers_refusal_reaches_the_api_as_itself(
    api: RelayedEngine, provider: RunningServer
) -> None:
    assert isinstance(api, ForgettingEngine)
    profile = await api.enroll(REFERENCE)
    provider.behaviour.status, provider.behaviour.retry_after = 429, "7"
    with pytest.raises(EngineUnavailable) as busy:
        await api.forget(profile)
    assert busy.value.extra["retry_after"] == 7
    assert provider.behaviour.deleted == []


async def test_an_engine_that_keeps_nothing_elsewhere_has_no_forget(settings: Settings) -> None:
    engine = relayed(FakeEngine(), settings)
    assert not isinstance(engine, ForgettingEngine)
    await engine.aclose()
