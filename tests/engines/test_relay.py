"""The engine relay on a real Redis: an API-side `RelayedEngine` and worker-side `RelayServer`s
give exactly the audio and profiles the worker's engine makes, report its errors as themselves,
never run a request their API gave up on, stop when the client hangs up, and say so when no
worker answers."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import numpy as np
import pytest
import redis

from tests.conftest import need_server
from voxhub.core.errors import EngineFailure, EngineUnavailable, InvalidInput
from voxhub.engines.base import (
    AudioChunk,
    Reference,
    SynthesisParams,
    VoiceProfile,
)
from voxhub.engines.fake import FakeEngine
from voxhub.engines.registry import EngineRegistry
from voxhub.engines.relay.client import RelayedEngine, relayed
from voxhub.engines.relay.server import RelayServer
from voxhub.settings import EngineSettings, JobSettings, Settings

REDIS_URL = "redis://127.0.0.1:6379/0"
TEXT = "One. Two three. Four five six. Seven."


@pytest.fixture
def settings(tmp_path: Path) -> Iterator[Settings]:
    name = f"voxhub-relay-test-{uuid.uuid4().hex[:10]}"
    try:
        with redis.Redis.from_url(REDIS_URL, socket_timeout=2) as probe:
            probe.ping()
    except redis.RedisError as exc:
        need_server(f"Redis not reachable at {REDIS_URL}: {exc}")
    yield Settings(
        home=tmp_path,
        redis_url=REDIS_URL,
        jobs=JobSettings(job_queue_name=name, job_shutdown_grace_s=1),
        engine=EngineSettings(engine_relay_wait_s=5, engine_relay_idle_s=5, engine_relay_slots=1),
    )
    with redis.Redis.from_url(REDIS_URL) as r:
        left = list(r.scan_iter(match=f"voxhub:{name}:*", count=500))
        if left:
            r.delete(*left)


class SlowEngine(FakeEngine):
    """The fake engine, counting the pieces it made; `hang_after` pieces it stops answering."""

    def __init__(self, chunk_delay: float = 0.0, hang_after: int | None = None) -> None:
        super().__init__(chunk_delay=chunk_delay)
        self.made = 0
        self.hang_after = hang_after

    async def synthesize(
        self, text: str, voice: VoiceProfile, params: SynthesisParams
    ) -> AsyncIterator[AudioChunk]:
        if params.language == "xx":
            raise InvalidInput("this engine does not speak 'xx'", language="xx")
        async for chunk in super().synthesize(text, voice, params):
            if self.hang_after is not None and self.made >= self.hang_after:
                await asyncio.Event().wait()  # a worker frozen or gone
            self.made += 1
            yield chunk


@pytest.fixture
async def worker(settings: Settings) -> AsyncIterator[tuple[SlowEngine, RelayServer]]:
    engine = SlowEngine()
    server = RelayServer(EngineRegistry({"fake": engine}, "fake"), settings)
    server.start()
    yield engine, server
    await server.stop()


@pytest.fixture
async def api(settings: Settings) -> AsyncIterator[RelayedEngine]:
    engine = relayed(FakeEngine(), settings)
    yield engine
    await engine.aclose()


def reference() -> Reference:
    rng = np.random.default_rng(7)
    samples = (0.1 * rng.standard_normal(24_000)).astype(np.float32)
    return Reference(samples, 24_000, embedding=rng.standard_normal(192).astype(np.float32))


async def collect(engine: RelayedEngine | FakeEngine, voice: VoiceProfile) -> list[AudioChunk]:
    return [c async for c in engine.synthesize(TEXT, voice, SynthesisParams(speed=1.25))]


async def test_relayed_work_is_exactly_the_workers(worker, api: RelayedEngine) -> None:
    local = FakeEngine()
    profile = await api.enroll(reference())
    assert profile == await local.enroll(reference())
    got, want = await collect(api, profile), await collect(local, profile)
    assert (
        [c.text for c in got]
        == [c.text for c in want]
        == ["One.", "Two three.", "Four five six.", "Seven."]
    )
    for g, w in zip(got, want, strict=True):
        assert g.sample_rate == w.sample_rate and g.words == w.words
        assert g.samples.dtype == np.float32 and np.array_equal(g.samples, w.samples)
    assert worker[0].made == 4  # on the worker, not here


async def test_engine_errors_arrive_as_themselves(worker, api: RelayedEngine) -> None:
    profile = await api.enroll(reference())
    with pytest.raises(InvalidInput) as refused:
        await collect_params(api, profile, SynthesisParams(language="xx"))
    assert refused.value.code == "invalid_input" and refused.value.extra == {"language": "xx"}
    broken = VoiceProfile("fake", "fake-1", b"not a profile")
    with pytest.raises(EngineFailure) as failed:  # an unexpected exception, reported generically
        await collect(api, broken)
    assert type(failed.value) is EngineFailure and failed.value.message == "the engine failed"
    assert len(await collect(api, profile)) == 4  # the worker goes on serving


async def collect_params(
    engine: RelayedEngine, voice: VoiceProfile, params: SynthesisParams
) -> list[AudioChunk]:
    return [c async for c in engine.synthesize(TEXT, voice, params)]


async def test_no_worker_answers_503_and_the_request_never_runs_late(settings: Settings) -> None:
    settings.engine.engine_relay_wait_s = 0.5
    api = relayed(FakeEngine(), settings)
    voice = await FakeEngine().enroll(reference())
    started = time.monotonic()
    with pytest.raises(EngineUnavailable, match=r"no worker took the request within 0\.5 s"):
        await collect(api, voice)
    assert 0.4 < time.monotonic() - started < 3
    engine = SlowEngine()
    server = RelayServer(EngineRegistry({"fake": engine}, "fake"), settings)
    server.start()  # a worker arrives late: the id is still queued, the request is gone
    try:
        with redis.Redis.from_url(REDIS_URL) as r:
            for _ in range(50):
                if r.llen(f"voxhub:{settings.jobs.job_queue_name}:relay:queue") == 0:
                    break
                await asyncio.sleep(0.05)
            assert r.llen(f"voxhub:{settings.jobs.job_queue_name}:relay:queue") == 0
        await asyncio.sleep(0.2)
        assert engine.made == 0 and engine.calls == 0
    finally:
        await server.stop()
        await api.aclose()


async def test_a_client_that_hangs_up_stops_the_worker(settings: Settings, api) -> None:
    engine = SlowEngine(chunk_delay=0.1)
    server = RelayServer(EngineRegistry({"fake": engine}, "fake"), settings)
    server.start()
    try:
        voice = await api.enroll(reference())
        text = " ".join(f"Sentence {i}." for i in range(30))
        pieces = api.synthesize(text, voice, SynthesisParams())
        assert (await anext(pieces)).text == "Sentence 0."
        await pieces.aclose()  # type: ignore[attr-defined]
        await asyncio.sleep(1.0)
        stopped_at = engine.made
        await asyncio.sleep(0.5)
        assert engine.made == stopped_at < 10  # it stopped, long before the 30th sentence
        await nothing_left(settings)
    finally:
        await server.stop()


async def test_a_cancelled_listener_stops_the_worker(settings: Settings, api) -> None:
    """What a server does when its client hangs up: it cancels the task that is reading, and
    the cancellation hits the cleanup's awaits as well (anyio delivers it at every await)."""
    import anyio

    engine = SlowEngine(chunk_delay=0.1)
    server = RelayServer(EngineRegistry({"fake": engine}, "fake"), settings)
    server.start()
    try:
        voice = await api.enroll(reference())
        text = " ".join(f"Sentence {i}." for i in range(30))
        heard: list[str] = []

        async def listen() -> None:
            async for chunk in api.synthesize(text, voice, SynthesisParams()):
                heard.append(chunk.text)

        async with anyio.create_task_group() as tg:
            tg.start_soon(listen)
            while len(heard) < 2:
                await asyncio.sleep(0.01)
            tg.cancel_scope.cancel()
        await asyncio.sleep(1.0)
        stopped_at = engine.made
        await asyncio.sleep(0.5)
        assert engine.made == stopped_at < 12
        await nothing_left(settings)
    finally:
        await server.stop()


async def test_enrolments_leave_no_keys(settings: Settings, worker, api: RelayedEngine) -> None:
    for _ in range(3):
        await api.enroll(reference())
    await nothing_left(settings)


async def nothing_left(settings: Settings) -> None:
    """No request, reply or cancel key of this deployment remains (polled: the worker's last
    push may land just after the API removed the reply list, which then expires)."""
    name = settings.jobs.job_queue_name
    left: list[str] = []
    with redis.Redis.from_url(REDIS_URL) as r:
        for _ in range(40):
            left = sorted(k.decode() for k in r.scan_iter(match=f"voxhub:{name}:relay:*:*"))
            if not left:
                return
            await asyncio.sleep(0.05)
    assert left == []


async def test_a_worker_that_stops_answering_ends_the_stream_with_an_error(
    settings: Settings, api
) -> None:
    settings.engine.engine_relay_idle_s = 0.5
    api = relayed(FakeEngine(), settings)
    engine = SlowEngine(hang_after=1)
    server = RelayServer(EngineRegistry({"fake": engine}, "fake"), settings)
    server.start()
    try:
        voice = await FakeEngine().enroll(reference())
        got: list[AudioChunk] = []
        with pytest.raises(EngineFailure, match=r"stopped answering for 0\.5 s"):
            async for chunk in api.synthesize(TEXT, voice, SynthesisParams()):
                got.append(chunk)
        assert [c.text for c in got] == ["One."]
    finally:
        await server.stop()  # its hung request is cancelled after the grace period
        await api.aclose()


async def test_requests_go_to_whichever_worker_is_free(settings: Settings, api) -> None:
    engines = [SlowEngine(chunk_delay=0.05), SlowEngine(chunk_delay=0.05)]
    servers = [RelayServer(EngineRegistry({"fake": e}, "fake"), settings) for e in engines]
    for s in servers:
        s.start()
    try:
        voice = await FakeEngine().enroll(reference())
        results = await asyncio.gather(*(collect(api, voice) for _ in range(4)))
        assert all(len(r) == 4 for r in results)
        # One slot each: while one worker speaks, the next request can only go to the other.
        assert [e.calls >= 1 for e in engines] == [True, True]
        assert sum(e.calls for e in engines) == 4
    finally:
        for s in servers:
            await s.stop()
