"""Seed 004's queued answers: with Redis configured, clone and TTS answer 202 with a job, and the
worker records the voice profile and the story's audio (audioStatus, audioUrl, audioVersions).

The container is scale-out by its settings (`job_queue="redis"`) but runs jobs with its
in-process queue: the routes choose their answer from the settings, and the handlers are the
same whichever queue hands them the job id.
"""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from pydantic import SecretStr
from sqlalchemy import func, select, update

from tests.api.conftest import (
    Account,
    client_for,
    counts,
    create_voice,
    make_settings,
    make_user,
    service_attests,
)
from tests.api.test_seed004 import SECRET, seed_body, signed_headers
from tests.conftest import need_server, truncate_all
from voxhub.accounts.models import Role, User
from voxhub.app import create_app
from voxhub.audio.encode import encode
from voxhub.bootstrap import build_container, close_container
from voxhub.compat.seed004_jobs import CLONE_STEPS, GENERATE, clone_voice_id
from voxhub.compat.seed004_uploads import CLONE, UPLOADS
from voxhub.container import Container
from voxhub.core.clock import utcnow
from voxhub.core.errors import EngineFailure
from voxhub.credits.models import CreditEntry
from voxhub.engines.base import Reference, SynthesisParams, VoiceProfile
from voxhub.engines.fake import FakeEngine
from voxhub.engines.registry import EngineRegistry
from voxhub.jobs.models import FINAL, Job
from voxhub.jobs.redis_queue import RedisQueue
from voxhub.settings import Settings
from voxhub.synthesis.models import Generation
from voxhub.voices.models import Voice, VoiceProfileRow

REDIS_URL = "redis://127.0.0.1:6379/0"


class GatedEngine(FakeEngine):
    """The fake engine, held at a gate (to see a job while it runs) or failing on demand."""

    def __init__(self) -> None:
        super().__init__()
        self.enroll_gate = asyncio.Event()
        self.speak_gate = asyncio.Event()
        self.enroll_gate.set()
        self.speak_gate.set()
        self.fail = False

    async def enroll(self, reference: Reference) -> VoiceProfile:
        await self.enroll_gate.wait()
        return await super().enroll(reference)

    async def synthesize(  # type: ignore[override]
        self, text: str, voice: VoiceProfile, params: SynthesisParams
    ) -> AsyncIterator[Any]:
        await self.speak_gate.wait()
        if self.fail:
            raise EngineFailure("the engine could not speak this text")
        async for chunk in super().synthesize(text, voice, params):
            yield chunk


@pytest.fixture
def fake_engine() -> GatedEngine:
    return GatedEngine()


@pytest.fixture
async def admin(container: Container) -> Account:
    account = await make_user(container, "root@example.com", Role.admin)
    container.extras["local_admin_id"] = account.id
    return account


@pytest.fixture
async def scale_out(container: Container, admin: Account) -> Container:
    """Redis configured (scale-out answers), HMAC on; jobs still run in this process."""
    container.settings.redis_url = "redis://127.0.0.1:6379/0"
    container.settings.jobs.job_queue = "redis"
    assert container.settings.queue_backend == "redis"
    sec = container.settings.security
    sec.enable_hmac = True
    sec.hmac_secret = SecretStr(SECRET)
    await service_attests(container)
    return container


@pytest.fixture
async def internal(scale_out: Container) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(scale_out, None) as c:
        yield c


@pytest.fixture
async def admin_client(scale_out: Container, admin: Account) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(scale_out, admin) as c:
        yield c


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 30) -> None:
    async with asyncio.timeout(timeout):
        while not await check():
            await asyncio.sleep(0.02)


async def job_row(c: Container, job_id: str) -> Job:
    async with c.sessions() as s:
        job = await s.get(Job, job_id)
    assert job is not None
    return job


async def all_jobs(c: Container) -> list[Job]:
    async with c.sessions() as s:
        return list(await s.scalars(select(Job)))


async def voice_rows(c: Container) -> list[Voice]:
    async with c.sessions() as s:
        return list(await s.scalars(select(Voice)))


async def post_clone(
    client: httpx.AsyncClient, body: bytes, key: str = "clone-1"
) -> httpx.Response:
    return await client.post(
        "/api/voices/clone", content=body, headers=signed_headers(body, key=key)
    )


# --- Clone ------------------------------------------------------------------------------------


async def test_queued_clone_answers_202_and_the_worker_creates_the_voice(
    internal: httpx.AsyncClient,
    admin_client: httpx.AsyncClient,
    scale_out: Container,
    admin: Account,
    fake_engine: GatedEngine,
) -> None:
    fake_engine.enroll_gate.clear()  # hold the worker inside the clone
    r = await post_clone(internal, seed_body().encode())
    assert r.status_code == 202, r.text
    job_id = r.json()["metadata"]["job_id"]
    assert r.json() == {"status": "queued", "metadata": {"job_id": job_id, "name": "voice_test"}}
    assert r.headers["location"] == f"/api/v1/jobs/{job_id}"
    # Accepted: the recording is stored for the worker, and no voice exists yet.
    [upload] = await scale_out.blobs.list(UPLOADS)
    assert await voice_rows(scale_out) == []

    async def cloning() -> bool:
        steps = {s["name"]: s["status"] for s in (await job_row(scale_out, job_id)).steps}
        return steps.get("create_voice") == "in_progress"

    await eventually(cloning)
    job = await job_row(scale_out, job_id)
    assert job.kind == CLONE and job.status == "running" and job.owner_id == admin.id
    assert [s["name"] for s in job.steps] == CLONE_STEPS
    assert await voice_rows(scale_out) == []
    fake_engine.enroll_gate.set()
    async with asyncio.timeout(60):
        await scale_out.jobs.wait_idle()

    job = await job_row(scale_out, job_id)
    assert job.status == "succeeded", job.error
    assert [s["status"] for s in job.steps] == ["completed"] * len(CLONE_STEPS)
    result = job.result
    assert result is not None
    voice_id = clone_voice_id(job_id)
    # The voice profile record: status and paths, the synchronous answer's fields.
    assert result["status"] == "success" and result["voice_id"] == voice_id
    assert result["name"] == "voice_test" and result["model_type"] == "chatterbox"
    assert result["profile_status"] == "ready"
    assert result["sample_file"] == f"/api/v1/voices/{voice_id}/sample"
    assert result["embedding_file"] == f"/api/v1/voices/{voice_id}/profile"
    assert result["metadata"]["sample_rate_in"] == 16_000
    [voice] = await voice_rows(scale_out)
    assert voice.id == voice_id and voice.owner_id == admin.id
    async with scale_out.sessions() as s:
        profiles = list(await s.scalars(select(VoiceProfileRow)))
        entries = {e.kind: e.amount for e in await s.scalars(select(CreditEntry)) if e.job_id}
    assert [(p.voice_id, p.status) for p in profiles] == [(voice_id, "ready")]
    price = scale_out.settings.credits.price_clone
    assert price > 0 and entries == {"hold": -price, "capture": 0}  # held when queued, then taken
    sample = await admin_client.get(result["sample_file"])
    assert sample.status_code == 200 and sample.headers["content-type"] == "audio/wav"
    # The recording went with the success.
    assert await scale_out.blobs.list(UPLOADS) == []
    assert not await scale_out.blobs.exists(upload)


async def test_clone_rerun_after_a_crash_creates_no_second_voice(
    internal: httpx.AsyncClient, scale_out: Container
) -> None:
    """A worker killed after the voice committed but before the success: the next run finds
    the voice its job made instead of making another."""
    scale_out.settings.credits.price_clone = 0  # the replay below would capture twice
    r = await post_clone(internal, seed_body().encode())
    job_id = r.json()["metadata"]["job_id"]
    async with asyncio.timeout(60):
        await scale_out.jobs.wait_idle()
    first = (await job_row(scale_out, job_id)).result
    # What the dead worker left: the job running under its expired lease, no success.
    async with scale_out.sessions() as s:
        await s.execute(
            update(Job)
            .where(Job.id == job_id)
            .values(
                status="running",
                result=None,
                finished_at=None,
                lease_owner="dead-worker",
                lease_expires_at=utcnow() - timedelta(seconds=1),
            )
        )
        await s.commit()
    await scale_out.jobs.submit(job_id)
    async with asyncio.timeout(60):
        await scale_out.jobs.wait_idle()
    job = await job_row(scale_out, job_id)
    assert job.status == "succeeded" and job.attempts == 2
    assert job.result == first
    assert [v.id for v in await voice_rows(scale_out)] == [clone_voice_id(job_id)]


def _undecodable() -> str:
    data = b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(range(256)) * 8  # a damaged WAV
    return base64.b64encode(data).decode()


async def test_queued_clone_refusals_store_nothing(
    internal: httpx.AsyncClient, scale_out: Container, admin: Account
) -> None:
    body = json.loads(seed_body())
    cases: list[tuple[bytes, dict[str, str] | None, int, str]] = [
        (json.dumps({**body, "audio_data": "not base64!"}).encode(), None, 422, "validation_error"),
        (
            json.dumps({**body, "audio_data": _undecodable()}).encode(),
            None,
            422,
            "audio_undecodable",
        ),
        (json.dumps({**body, "name": ""}).encode(), None, 422, "validation_error"),
        (json.dumps({**body, "extra": 1}).encode(), None, 422, "validation_error"),
    ]
    signed = json.dumps(body).encode()
    cases.append(
        (signed, signed_headers(signed, secret="a-different-secret"), 401, "invalid_signature")
    )
    for i, (content, headers, status, code) in enumerate(cases):
        sent = headers or signed_headers(content, key=f"refused-{i}")
        r = await internal.post("/api/voices/clone", content=content, headers=sent)
        assert r.status_code == status, r.text
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["code"] == code
    # Short of credits: 402 before anything is stored.
    async with scale_out.sessions() as s:
        await s.execute(update(User).where(User.id == admin.id).values(credits=0))
        await s.commit()
    r = await post_clone(internal, signed, key="broke")
    assert r.status_code == 402 and r.json()["code"] == "insufficient_credits", r.text
    assert await counts(scale_out) == (0, 0)
    assert await all_jobs(scale_out) == []


# --- TTS: the story's audio record ------------------------------------------------------------


async def _story(client: httpx.AsyncClient, story_id: str) -> dict[str, Any]:
    r = await client.get("/api/tts/stories/en", params={"story_type": "user"})
    assert r.status_code == 200, r.text
    [story] = [s for s in r.json()["stories"] if s["story_id"] == story_id]
    return story


async def test_story_audio_moves_queued_processing_completed_failed(
    internal: httpx.AsyncClient,
    admin_client: httpx.AsyncClient,
    scale_out: Container,
    fake_engine: GatedEngine,
) -> None:
    voice = await create_voice(admin_client)

    async def generate(text: str, key: str) -> str:
        payload = {
            "user_id": "user_123",
            "story_id": "story_abc",
            "voice_id": voice["id"],
            "text": text,
            "profile_base64": "AAAA",
            "language": "en",
            "story_type": "user",
            "is_kids_voice": False,
            "model_type": "chatterbox",
        }
        body = json.dumps(payload).encode()
        headers = signed_headers(body, path="/api/tts/generate", key=key)
        r = await internal.post("/api/tts/generate", content=body, headers=headers)
        assert r.status_code == 202, r.text
        job_id: str = r.json()["metadata"]["job_id"]
        assert r.json() == {
            "status": "queued",
            "metadata": {"job_id": job_id, "story_id": "story_abc", "voice_id": voice["id"]},
        }
        return job_id

    await scale_out.jobs.stop()  # nothing runs: the story waits in the queue
    first = await generate("Hello there.", "g1")
    story = await _story(admin_client, "story_abc")
    assert story["audioStatus"] == "queued" and story["job_id"] == first
    assert story["audioUrl"] is None and story["audioVersions"] == []

    fake_engine.speak_gate.clear()
    await scale_out.jobs.start()

    async def status_is(want: str) -> bool:
        return (await _story(admin_client, "story_abc"))["audioStatus"] == want

    await eventually(lambda: status_is("processing"))
    fake_engine.speak_gate.set()
    async with asyncio.timeout(60):
        await scale_out.jobs.wait_idle()
    story = await _story(admin_client, "story_abc")
    assert story["audioStatus"] == "completed" and story["error"] is None
    [v1] = story["audioVersions"]
    job = await job_row(scale_out, first)
    assert job.kind == GENERATE and job.result is not None
    assert v1["version"] == 1 and v1["job_id"] == first
    assert v1["generation_id"] == job.result["generation_id"]
    assert story["audioUrl"] == v1["audioUrl"] == f"/api/v1/generations/{v1['generation_id']}/audio"
    audio = await admin_client.get(story["audioUrl"])
    assert audio.status_code == 200 and audio.content.startswith(b"RIFF")

    # Each generation appends a version; the newest is the story's audio.
    second = await generate("Hello again, a second take.", "g2")
    async with asyncio.timeout(60):
        await scale_out.jobs.wait_idle()
    story = await _story(admin_client, "story_abc")
    assert story["audioStatus"] == "completed"
    assert [v["job_id"] for v in story["audioVersions"]] == [first, second]
    assert [v["version"] for v in story["audioVersions"]] == [1, 2]
    assert story["audioUrl"] == story["audioVersions"][1]["audioUrl"] != v1["audioUrl"]

    # A generation that fails: the status says so, the last good audio stays, no version added.
    fake_engine.fail = True
    third = await generate("This one the engine cannot say.", "g3")
    async with asyncio.timeout(60):
        await scale_out.jobs.wait_idle()
    assert (await job_row(scale_out, third)).status == "failed"
    failed = await _story(admin_client, "story_abc")
    assert failed["audioStatus"] == "failed" and failed["job_id"] == third
    assert failed["error"]["code"] == "engine_failure"
    assert failed["audioVersions"] == story["audioVersions"]
    assert failed["audioUrl"] == story["audioUrl"]
    async with scale_out.sessions() as s:
        assert await s.scalar(select(func.count()).select_from(Generation)) == 2


async def test_stories_are_the_callers_own_and_filtered(
    internal: httpx.AsyncClient,
    admin_client: httpx.AsyncClient,
    scale_out: Container,
    user_a: Account,
) -> None:
    voice = await create_voice(admin_client)
    for i, (story_id, language, story_type) in enumerate(
        [("s-en", "en", "user"), ("s-fr", "fr", "user"), ("s-app", "en", "app")]
    ):
        payload = {
            "story_id": story_id,
            "voice_id": voice["id"],
            "text": "Bonjour." if language == "fr" else "Hello.",
            "language": language,
            "story_type": story_type,
        }
        body = json.dumps(payload).encode()
        headers = signed_headers(body, path="/api/tts/generate", key=f"s{i}")
        r = await internal.post("/api/tts/generate", content=body, headers=headers)
        assert r.status_code == 202, r.text
    async with asyncio.timeout(60):
        await scale_out.jobs.wait_idle()
    listed = (await admin_client.get("/api/tts/stories/en")).json()
    assert listed["language"] == "en" and listed["story_type"] == "user"
    assert [s["story_id"] for s in listed["stories"]] == ["s-en"] and listed["total"] == 1
    app = (await admin_client.get("/api/tts/stories/en", params={"story_type": "app"})).json()
    assert [s["story_id"] for s in app["stories"]] == ["s-app"]
    fr = (await admin_client.get("/api/tts/stories/fr")).json()
    assert [(s["story_id"], s["audioStatus"]) for s in fr["stories"]] == [("s-fr", "completed")]
    async with client_for(scale_out, user_a) as other:
        assert (await other.get("/api/tts/stories/en")).json()["stories"] == []
        assert (await other.get("/api/tts/stories/EN!")).status_code == 422
    odd = await admin_client.get("/api/tts/stories/en", params={"story_type": "ü'\"}{"})
    assert odd.status_code == 200 and odd.json()["stories"] == []
    nul = await admin_client.get("/api/tts/stories/en", params={"story_type": "a\x00b"})
    assert nul.status_code == 422 and nul.json()["code"] == "invalid_characters"


async def test_a_clone_the_worker_refuses_fails_and_releases_its_credits(
    internal: httpx.AsyncClient, scale_out: Container, admin: Account
) -> None:
    """Silence decodes (the API accepts it) but holds no speech: the worker's refusal is the
    job's error, as the synchronous route's would be its answer."""
    silence = encode(np.zeros(16_000 * 3, np.float32), 16_000, "wav")
    body = json.loads(seed_body())
    content = json.dumps({**body, "audio_data": base64.b64encode(silence).decode()}).encode()
    r = await post_clone(internal, content)
    assert r.status_code == 202, r.text
    job_id = r.json()["metadata"]["job_id"]
    async with asyncio.timeout(60):
        await scale_out.jobs.wait_idle()
    job = await job_row(scale_out, job_id)
    assert job.status == "failed" and job.error is not None
    assert job.error["code"] == "not_enough_speech"
    assert await voice_rows(scale_out) == []
    async with scale_out.sessions() as s:
        kinds = [
            e.kind for e in await s.scalars(select(CreditEntry).where(CreditEntry.job_id == job_id))
        ]
        user = await s.get(User, admin.id)
    assert sorted(kinds) == ["hold", "release"]
    assert user is not None and user.credits == 100
    # A refusal ends the job: no later attempt reads the recording, so it goes (a retry asked
    # for by hand fails `upload_gone`; the same recording would be refused the same way).
    assert await scale_out.blobs.list(UPLOADS) == []


# --- Through the real Redis queue: an API that holds no model, a worker that does -------------


@pytest.fixture
def queue_name() -> Iterator[str]:
    import redis

    name = f"voxhub-seed004-{uuid.uuid4().hex[:10]}"
    try:
        with redis.Redis.from_url(REDIS_URL, socket_timeout=2) as probe:
            probe.ping()
    except redis.RedisError as exc:
        need_server(f"Redis not reachable at {REDIS_URL}: {exc}")
    yield name
    with redis.Redis.from_url(REDIS_URL) as r:
        keys = list(r.scan_iter(match=f"streaq:{name}*", count=500))
        if keys:
            r.delete(*keys)


async def test_api_and_worker_over_redis(
    tmp_path: Path, database_url: str, speaker_encoder: object, queue_name: str
) -> None:
    def settings() -> Settings:
        s = make_settings(tmp_path, database_url)
        s.redis_url = REDIS_URL
        s.jobs.job_queue = "redis"
        s.jobs.job_queue_name = queue_name
        s.security.enable_hmac = True
        s.security.hmac_secret = SecretStr(SECRET)
        return s

    def fake() -> EngineRegistry:
        return EngineRegistry({"fake": FakeEngine()}, "fake")

    kw: dict[str, Any] = {"speaker": speaker_encoder, "run_jobs": False}
    api = await build_container(settings(), engines=fake(), role="api", **kw)
    await truncate_all(database_url)
    worker = await build_container(settings(), engines=fake(), role="worker", **kw)
    try:
        assert isinstance(api.jobs, RedisQueue) and isinstance(worker.jobs, RedisQueue)
        await api.jobs.start()
        await worker.jobs.start()
        admin = await make_user(api, "root@example.com", Role.admin)
        api.extras["local_admin_id"] = admin.id
        await service_attests(api)

        async def final(job_id: str) -> Job:
            async def done() -> bool:
                return (await job_row(api, job_id)).status in FINAL

            await eventually(done, timeout=60)
            return await job_row(api, job_id)

        async with client_for(api, None) as internal, client_for(api, admin) as mine:
            r = await post_clone(internal, seed_body().encode())
            assert r.status_code == 202, r.text
            clone = await final(r.json()["metadata"]["job_id"])
            assert clone.status == "succeeded", clone.error
            assert clone.lease_owner is None and clone.attempts == 1
            voice_id = clone_voice_id(clone.id)
            assert [v.id for v in await voice_rows(api)] == [voice_id]

            async def upload_removed() -> bool:  # right after the success's commit
                return await api.blobs.list(UPLOADS) == []

            await eventually(upload_removed)

            payload = {"story_id": "story_r", "voice_id": voice_id, "text": "Hello there."}
            body = json.dumps(payload).encode()
            headers = signed_headers(body, path="/api/tts/generate", key="g-redis")
            r = await internal.post("/api/tts/generate", content=body, headers=headers)
            assert r.status_code == 202, r.text
            gen = await final(r.json()["metadata"]["job_id"])
            assert gen.status == "succeeded", gen.error
            story = await _story(mine, "story_r")
            assert story["audioStatus"] == "completed"
            assert [v["job_id"] for v in story["audioVersions"]] == [gen.id]
            assert (await mine.get(story["audioUrl"])).status_code == 200
    finally:
        await close_container(worker)
        await close_container(api)


async def test_a_replayed_queued_clone_answers_the_same_job(
    internal: httpx.AsyncClient, scale_out: Container
) -> None:
    body = seed_body().encode()
    first = await post_clone(internal, body, key="same-key")
    again = await post_clone(internal, body, key="same-key")
    assert first.status_code == again.status_code == 202
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
    async with asyncio.timeout(60):
        await scale_out.jobs.wait_idle()
    assert [j.id for j in await all_jobs(scale_out)] == [first.json()["metadata"]["job_id"]]
    assert len(await voice_rows(scale_out)) == 1


async def test_a_store_that_fails_leaves_no_job_and_no_hold(
    scale_out: Container, admin: Account
) -> None:
    """The recording cannot be written (a file stands where its folder goes): the job and its
    credit hold, added to the same transaction, are rolled back with it."""
    blob_dir = scale_out.settings.storage.blob_dir
    assert blob_dir is not None
    blocker = Path(blob_dir) / UPLOADS
    blocker.parent.mkdir(parents=True, exist_ok=True)
    blocker.write_bytes(b"not a folder")
    # As a server answers it (the test transport would raise the error instead).
    app = httpx.ASGITransport(app=create_app(container=scale_out), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=app, base_url="http://test") as served:
        r = await post_clone(served, seed_body().encode())
    assert r.status_code == 500 and r.json()["code"] == "internal_error", r.text
    assert await all_jobs(scale_out) == []
    async with scale_out.sessions() as s:
        held = await s.scalar(
            select(func.count()).select_from(CreditEntry).where(CreditEntry.job_id.is_not(None))
        )
        user = await s.get(User, admin.id)
    assert held == 0 and user is not None and user.credits == 100
    blocker.unlink()
    assert await scale_out.blobs.list("") == []
