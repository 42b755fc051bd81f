"""A voice's clone at a provider is deleted by a `voice.forget` job committed with the change
that made it obsolete: deleting the voice (the request does not wait on the provider), a new
reference, an engine upgrade, a profile that lost a race, a clone whose voice was never stored.
A rollback keeps the stored profile's clone. The provider is a loopback server speaking
ElevenLabs' protocol; ElevenLabs is the app's engine."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import anyio
import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import select, update

from tests.api.conftest import counts, create_voice, make_settings, speech_file
from tests.conftest import truncate_all
from tests.engines.remote.provider_server import KEY, Behaviour, RunningServer, serve
from voxhub.accounts.models import Role, User
from voxhub.accounts.principal import Principal
from voxhub.bootstrap import build_container, close_container
from voxhub.container import Container
from voxhub.engines.base import Reference, VoiceProfile
from voxhub.engines.fake import FakeEngine
from voxhub.engines.registry import EngineRegistry
from voxhub.engines.remote.elevenlabs import ElevenLabsEngine
from voxhub.jobs.models import FINAL, Job, JobEvent
from voxhub.settings import EngineSettings
from voxhub.voices import service as voices
from voxhub.voices.models import VoiceProfileRow
from voxhub.voices.profiles import commit_stored, store_profile
from voxhub.voices.schemas import VoiceCreate


@pytest.fixture(scope="module")
def provider() -> Iterator[RunningServer]:
    yield from serve(Behaviour())


@pytest.fixture
def behaviour(provider: RunningServer) -> Behaviour:
    vars(provider.behaviour).update(vars(Behaviour()))
    return provider.behaviour


def engine_settings(provider: RunningServer, model: str = "eleven_flash_v2_5") -> EngineSettings:
    return EngineSettings(
        elevenlabs_base_url=provider.base_url,
        elevenlabs_api_key=SecretStr(KEY),
        elevenlabs_model=model,
        elevenlabs_timeout_s=5.0,
    )


Hook = Callable[[Reference], Awaitable[None]]


class Hooked(ElevenLabsEngine):
    """ElevenLabs, with something happening meanwhile (`hooks`: one per enrolment, in order)
    between the clone's creation at the provider and its return."""

    def __init__(self, settings: EngineSettings, *hooks: Hook) -> None:
        super().__init__(settings)
        self.hooks = list(hooks)

    async def enroll(self, reference: Reference) -> VoiceProfile:
        profile = await super().enroll(reference)
        if self.hooks:
            await self.hooks.pop(0)(reference)
        return profile


@pytest.fixture
async def container(  # replaces the conftest's: ElevenLabs is this app's default engine
    tmp_path: Path, database_url: str, speaker_encoder: object, provider: RunningServer
) -> AsyncIterator[Container]:
    settings = make_settings(tmp_path, database_url)
    settings.jobs.job_retry_delay_s = 0.2
    c = await build_container(
        settings,
        engines=EngineRegistry({"elevenlabs": Hooked(engine_settings(provider))}, "elevenlabs"),
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


def spoken_with(behaviour: Behaviour) -> str:
    """The voice id the last speech request named."""
    speech = [r for r in behaviour.requests if r["path"].startswith("/v1/text-to-speech/")]
    return str(speech[-1]["path"].split("/")[3])


async def speak(client, voice_id: str) -> None:
    body = {"voice_id": voice_id, "text": "Hello there.", "format": "wav"}
    r = await client.post("/api/v1/speech", json=body)
    assert r.status_code == 200, r.text


async def add_reference(client, voice_id: str) -> httpx.Response:
    fname, data = speech_file("vctk_p225_008.wav")
    return await client.post(
        f"/api/v1/voices/{voice_id}/references",
        files={"file": (fname, data)},
        data={"consent": "self"},
    )


def upgrade(container: Container, provider: RunningServer, *hooks: Hook) -> Hooked:
    """The engine now runs another model: its version changes, so profiles are rebuilt."""
    engine = Hooked(engine_settings(provider, "eleven_v3"), *hooks)
    container.extras["old_engines"] = container.engines
    container.engines = EngineRegistry({"elevenlabs": engine}, "elevenlabs")
    return engine


@pytest.fixture
async def closes_swapped(container: Container) -> AsyncIterator[None]:
    yield
    old = container.extras.pop("old_engines", None)
    if old is not None:
        await old.aclose()


async def set_credits(c: Container, user_id: str, credits: int = 0) -> None:
    async with c.sessions() as s:
        await s.execute(update(User).where(User.id == user_id).values(credits=credits))
        await s.commit()


async def test_a_new_reference_forgets_the_replaced_clone(
    container: Container, client, behaviour: Behaviour
) -> None:
    v = await create_voice(client)
    r = await add_reference(client, v["id"])
    assert r.status_code == 201, r.text
    first, second = clone_ids(behaviour)
    (job,) = await forget_jobs(container, 1)
    assert job.status == "succeeded" and behaviour.deleted == [first]
    await speak(client, v["id"])
    assert spoken_with(behaviour) == second


async def test_a_new_reference_rebuilds_the_profile_of_the_engine_that_speaks_the_voice(
    container: Container, client, behaviour: Behaviour
) -> None:
    """The default engine is another one: the voice was enrolled on ElevenLabs by name, and its
    new reference replaces (and forgets) its ElevenLabs clone, not a default-engine profile."""
    eleven = container.engines.get("elevenlabs")  # closed with the registry it moves to
    container.engines = EngineRegistry({"fake": FakeEngine(), "elevenlabs": eleven}, "fake")
    fname, data = speech_file()
    form = {"name": "Ana", "consent": "self", "engine": "elevenlabs"}
    r = await client.post("/api/v1/voices", files={"file": (fname, data)}, data=form)
    assert r.status_code == 201, r.text
    v = r.json()
    assert (await add_reference(client, v["id"])).status_code == 201
    first, second = clone_ids(behaviour)
    (job,) = await forget_jobs(container, 1)
    assert job.status == "succeeded" and behaviour.deleted == [first]
    async with container.sessions() as s:
        engines = list(await s.scalars(select(VoiceProfileRow.engine)))
    assert engines == ["elevenlabs"]
    await speak(client, v["id"])
    assert spoken_with(behaviour) == second


async def test_an_engine_upgrade_forgets_the_old_versions_clone(
    container: Container, client, behaviour: Behaviour, provider: RunningServer, closes_swapped
) -> None:
    v = await create_voice(client)
    upgrade(container, provider)
    await speak(client, v["id"])  # rebuilt for the new version, committed, then spoken
    old, new = clone_ids(behaviour)
    (job,) = await forget_jobs(container, 1)
    assert job.status == "succeeded" and behaviour.deleted == [old]
    assert spoken_with(behaviour) == new


async def test_a_profile_that_lost_the_race_is_forgotten(
    container: Container, client, behaviour: Behaviour, provider: RunningServer, closes_swapped
) -> None:
    v = await create_voice(client)

    async def another_writer_wins(reference: Reference) -> None:
        engine = container.engines.get()
        winner = await engine.enroll(reference)  # no hook left: a plain enrolment
        async with container.sessions() as s:
            await commit_stored(container, s, await store_profile(container, s, v["id"], winner))

    upgrade(container, provider, another_writer_wins)
    await speak(client, v["id"])
    old, lost, won = clone_ids(behaviour)
    jobs = await forget_jobs(container, 2)
    assert [j.status for j in jobs] == ["succeeded"] * 2
    assert sorted(behaviour.deleted) == sorted([old, lost])
    assert spoken_with(behaviour) == won


async def test_a_clone_whose_voice_was_not_stored_is_forgotten(
    container: Container, client, behaviour: Behaviour, user_a
) -> None:
    async def spent_meanwhile(_: Reference) -> None:
        await set_credits(container, user_a.id)

    container.engines.get().hooks.append(spent_meanwhile)  # type: ignore[attr-defined]
    fname, data = speech_file()
    r = await client.post(
        "/api/v1/voices", files={"file": (fname, data)}, data={"name": "Ana", "consent": "self"}
    )
    assert (r.status_code, r.json()["code"]) == (402, "insufficient_credits")
    (clone,) = clone_ids(behaviour)
    (job,) = await forget_jobs(container, 1)
    assert job.status == "succeeded" and behaviour.deleted == [clone]
    assert (await client.get("/api/v1/voices")).json()["items"] == []


async def test_a_rolled_back_reference_keeps_the_stored_clone(
    container: Container, client, behaviour: Behaviour, user_a
) -> None:
    v = await create_voice(client)

    async def spent_meanwhile(_: Reference) -> None:
        await set_credits(container, user_a.id)

    container.engines.get().hooks.append(spent_meanwhile)  # type: ignore[attr-defined]
    r = await add_reference(client, v["id"])
    assert (r.status_code, r.json()["code"]) == (402, "insufficient_credits")
    kept, discarded = clone_ids(behaviour)
    (job,) = await forget_jobs(container, 1)
    assert job.status == "succeeded" and behaviour.deleted == [discarded]
    await set_credits(container, user_a.id, 100)
    await speak(client, v["id"])
    assert spoken_with(behaviour) == kept


# A provider that cannot take the deletion now is asked again, after the wait it names.


async def events_of(c: Container, job_id: str) -> list[JobEvent]:
    async with c.sessions() as s:
        rows = await s.scalars(
            select(JobEvent)
            .where(JobEvent.job_id == job_id, JobEvent.type == "status")
            .order_by(JobEvent.seq)
        )
        return list(rows)


async def test_a_busy_provider_is_asked_again_after_its_retry_after(
    container: Container, client, behaviour: Behaviour
) -> None:
    v = await create_voice(client)
    (clone,) = clone_ids(behaviour)
    behaviour.status, behaviour.retry_after = 429, "1"
    assert (await client.delete(f"/api/v1/voices/{v['id']}")).status_code == 204
    deadline = time.monotonic() + 10
    while True:  # the first attempt fails and the job waits for its next one
        async with container.sessions() as s:
            job = await s.scalar(select(Job).where(Job.kind == "voice.forget"))
        if job is not None and job.status == "queued" and job.attempts == 1:
            break
        assert time.monotonic() < deadline
        await asyncio.sleep(0.02)
    assert job.error is not None
    assert (job.error["code"], job.error["cause"]) == ("retrying", "engine_unavailable")
    assert job.not_before is not None
    waits = (job.not_before - job.updated_at).total_seconds()
    assert 0.9 < waits < 1.1  # the provider's Retry-After, not the 0.2 s default delay
    behaviour.status, behaviour.retry_after = 200, None
    (done,) = await forget_jobs(container, 1)
    assert (done.status, done.attempts) == ("succeeded", 2)
    assert behaviour.deleted == [clone]
    events = await events_of(container, done.id)
    assert [e.data["status"] for e in events] == [
        "queued",
        "running",
        "queued",
        "running",
        "succeeded",
    ]
    assert (events[3].created_at - events[2].created_at).total_seconds() >= 0.9


async def test_a_provider_busy_on_every_attempt_fails_the_job_at_its_max_attempts(
    container: Container, client, behaviour: Behaviour
) -> None:
    v = await create_voice(client)
    behaviour.status, behaviour.retry_after = 503, "0"
    assert (await client.delete(f"/api/v1/voices/{v['id']}")).status_code == 204
    (job,) = await forget_jobs(container, 1)
    assert (job.status, job.attempts, job.max_attempts) == ("failed", 3, 3)
    assert job.error is not None and job.error["code"] == "engine_unavailable"
    assert len([r for r in behaviour.requests if r["method"] == "DELETE"]) == 3
    assert behaviour.deleted == []


async def test_a_provider_refusal_fails_the_job_at_once(
    container: Container, client, behaviour: Behaviour
) -> None:
    v = await create_voice(client)
    behaviour.status = 400
    behaviour.error_body = {"detail": {"status": "invalid_uid", "message": "no such voice"}}
    assert (await client.delete(f"/api/v1/voices/{v['id']}")).status_code == 204
    (job,) = await forget_jobs(container, 1)
    assert (job.status, job.attempts) == ("failed", 1)
    assert job.error is not None and job.error["code"] == "engine_failure"
    assert len([r for r in behaviour.requests if r["method"] == "DELETE"]) == 1


async def test_a_client_that_hangs_up_after_the_clone_leaves_no_clone(
    container: Container, behaviour: Behaviour, user_a
) -> None:
    """A hang-up cancels the request's scope, and anyio cancels every await after it: the
    cleanup (rollback, blobs, the clone's forget job) is shielded from that."""
    scope = anyio.CancelScope()

    async def hang_up(_: Reference) -> None:
        scope.cancel()

    container.engines.get().hooks.append(hang_up)  # type: ignore[attr-defined]
    fname, data = speech_file()
    p = Principal(user_a.id, Role.user, "test")
    with scope:
        async with container.sessions() as session:
            await voices.create_voice(
                container, session, [voices.Upload(data, fname)], VoiceCreate(name="Ana"), p
            )
    assert scope.cancelled_caught
    (clone,) = clone_ids(behaviour)
    (job,) = await forget_jobs(container, 1)
    assert job.status == "succeeded" and behaviour.deleted == [clone]
    assert await counts(container) == (0, 0)
