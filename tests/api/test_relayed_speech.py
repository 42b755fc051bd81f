"""Scale-out speech: an API process (role api, no model) relays voice enrolment, synchronous and
streaming speech to a worker over the real Redis, on SQLite and PostgreSQL; with no worker it
answers 503 engine_unavailable, charges nothing and stores nothing."""

from __future__ import annotations

import io
import uuid
import wave
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import numpy as np
import pytest
import redis
from sqlalchemy import func, select

from tests.api.conftest import (
    client_for,
    counts,
    create_voice,
    make_settings,
    make_user,
    speech_file,
)
from tests.api.credits_helpers import assert_exact, balance
from tests.conftest import need_server, truncate_all
from voxhub.bootstrap import build_container, close_container
from voxhub.container import Container
from voxhub.engines.fake import FakeEngine
from voxhub.engines.registry import EngineRegistry
from voxhub.engines.relay.client import RelayedEngine
from voxhub.settings import Settings
from voxhub.synthesis.models import Generation

REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
def queue_name() -> Iterator[str]:
    name = f"voxhub-relayapi-{uuid.uuid4().hex[:10]}"
    try:
        with redis.Redis.from_url(REDIS_URL, socket_timeout=2) as probe:
            probe.ping()
    except redis.RedisError as exc:
        need_server(f"Redis not reachable at {REDIS_URL}: {exc}")
    yield name
    with redis.Redis.from_url(REDIS_URL) as r:
        for pattern in (f"voxhub:{name}:*", f"streaq:{name}*"):
            left = list(r.scan_iter(match=pattern, count=500))
            if left:
                r.delete(*left)


def scale_out(tmp_path: Path, database_url: str, queue_name: str) -> Settings:
    settings = make_settings(tmp_path, database_url)
    settings.redis_url = REDIS_URL
    settings.jobs.job_queue_name = queue_name
    settings.engine.engine_relay_wait_s = 1.0
    return settings


@pytest.fixture
async def api(
    tmp_path: Path, database_url: str, queue_name: str, speaker_encoder: object
) -> AsyncIterator[Container]:
    c = await build_container(
        scale_out(tmp_path, database_url, queue_name),
        engines=EngineRegistry({"fake": FakeEngine()}, "fake"),
        speaker=speaker_encoder,  # type: ignore[arg-type]
        role="api",
    )
    await truncate_all(database_url)
    yield c
    await close_container(c)


async def start_worker(
    tmp_path: Path, database_url: str, queue_name: str, speaker: object
) -> tuple[Container, FakeEngine]:
    engine = FakeEngine()
    c = await build_container(
        scale_out(tmp_path, database_url, queue_name),
        engines=EngineRegistry({"fake": engine}, "fake"),
        speaker=speaker,  # type: ignore[arg-type]
        role="worker",
    )
    return c, engine


def wav_samples(data: bytes) -> np.ndarray:
    with wave.open(io.BytesIO(data)) as w:
        return np.frombuffer(w.readframes(w.getnframes()), "<i2")


async def generations(c: Container) -> int:
    async with c.sessions() as s:
        return int(await s.scalar(select(func.count()).select_from(Generation)) or 0)


async def test_the_api_speaks_through_a_worker(
    api: Container, tmp_path: Path, database_url: str, queue_name: str, speaker_encoder: object
) -> None:
    assert isinstance(api.engines.get(), RelayedEngine)  # no model in this process
    worker, engine = await start_worker(tmp_path, database_url, queue_name, speaker_encoder)
    user = await make_user(api, "relay@example.com")
    try:
        async with client_for(api, user) as client:
            voice = await create_voice(client)  # its instant profile made on the worker
            said = {"voice_id": voice["id"], "text": "Hello there. How are you today?"}
            whole = await client.post("/api/v1/speech", json=said)
            assert whole.status_code == 200, whole.text
            assert whole.headers["x-voxhub-engine"] == "fake/fake-1"
            assert whole.headers["x-voxhub-cache"] == "miss"
            assert engine.calls == 1  # the worker's engine spoke it
            samples = wav_samples(whole.content)
            assert len(samples) == 6 * 6000  # 6 words, 0.25 s each at 24 kHz
            assert np.abs(samples).max() > 1000  # a tone, not silence

            streamed = {**said, "text": "Streams. Piece by piece, as made.", "stream": True}
            async with client.stream("POST", "/api/v1/speech", json=streamed) as r:
                assert r.status_code == 200
                body = b"".join([part async for part in r.aiter_bytes()])
            assert len(wav_samples(body)) == 6 * 6000 and engine.calls == 2
        assert await generations(api) == 2
        await assert_exact(api, user.id)
    finally:
        await close_container(worker)


async def test_no_worker_is_503_with_nothing_charged_or_stored(
    api: Container, tmp_path: Path, database_url: str, queue_name: str, speaker_encoder: object
) -> None:
    worker, _ = await start_worker(tmp_path, database_url, queue_name, speaker_encoder)
    user = await make_user(api, "alone@example.com")
    async with client_for(api, user) as client:
        voice = await create_voice(client)
        await close_container(worker)  # the only worker goes away
        before = await balance(api, user.id)
        for stream in (False, True):
            r = await client.post(
                "/api/v1/speech",
                json={"voice_id": voice["id"], "text": f"Nobody {stream}.", "stream": stream},
            )
            assert r.status_code == 503, r.text
            assert r.headers["content-type"].startswith("application/problem+json")
            assert r.json()["code"] == "engine_unavailable"
            assert "no worker took the request within 1 s" in r.json()["detail"]
        stored = await counts(api)
        fname, data = speech_file()
        upload = await client.post(
            "/api/v1/voices", files={"file": (fname, data)}, data={"name": "B", "consent": "self"}
        )
        assert upload.status_code == 503 and upload.json()["code"] == "engine_unavailable"
        assert await counts(api) == stored  # no voice row, no reference blob
    assert await balance(api, user.id) == before
    assert await generations(api) == 0
    await assert_exact(api, user.id)
