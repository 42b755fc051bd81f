"""Per-user job limits (settings.jobs): at most N queued (429 job_limit_reached with Retry-After
beyond, also under concurrent submissions) and at most M running (a worker leaves the rest
queued without counting an attempt), on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.api.conftest import Account, client_for, create_voice, make_settings, make_user
from tests.conftest import truncate_all
from voxhub.accounts.models import User
from voxhub.bootstrap import build_container, close_container
from voxhub.container import Container
from voxhub.engines.fake import FakeEngine
from voxhub.engines.registry import EngineRegistry
from voxhub.jobs.errors import PermanentJobError
from voxhub.jobs.executor import JobContext
from voxhub.jobs.models import Job
from voxhub.jobs.service import new_job

QUEUED, RUNNING = 3, 2


@dataclass
class Gated:
    """A test job kind that records how many of each owner's jobs run at once."""

    release: asyncio.Event = field(default_factory=asyncio.Event)
    running: dict[str, int] = field(default_factory=dict)
    most: dict[str, int] = field(default_factory=dict)
    fail: bool = False

    async def __call__(self, ctx: JobContext) -> dict[str, Any]:
        owner = ctx.owner_id or ""
        self.running[owner] = self.running.get(owner, 0) + 1
        self.most[owner] = max(self.most.get(owner, 0), self.running[owner])
        try:
            if self.fail:
                raise PermanentJobError("test_failure", "asked to fail")
            await self.release.wait()
            await ctx.progress(50, "work")
            return {}
        finally:
            self.running[owner] -= 1


@pytest.fixture
async def limited(
    tmp_path: Path, database_url: str, speaker_encoder: object
) -> AsyncIterator[Container]:
    settings = make_settings(tmp_path, database_url)
    settings.jobs.jobs_queued_per_user = QUEUED
    settings.jobs.jobs_running_per_user = RUNNING
    settings.job_workers = 6  # more workers than one owner may use
    c = await build_container(
        settings,
        engines=EngineRegistry({"fake": FakeEngine()}, "fake"),
        speaker=speaker_encoder,
        run_jobs=False,  # type: ignore[arg-type]
    )
    await truncate_all(database_url)
    c.jobs.executor.handlers["test.gated"] = Gated()  # type: ignore[attr-defined]
    yield c
    await close_container(c)


def gated(c: Container) -> Gated:
    handler = c.jobs.executor.handlers["test.gated"]  # type: ignore[attr-defined]
    assert isinstance(handler, Gated)
    return handler


async def owner_jobs(c: Container, user_id: str) -> list[Job]:
    async with c.sessions() as s:
        return list(await s.scalars(select(Job).where(Job.owner_id == user_id)))


async def credits(c: Container, user_id: str) -> int:
    async with c.sessions() as s:
        return await s.scalar(select(User.credits).where(User.id == user_id)) or 0


def speech(voice_id: str, i: int) -> dict[str, Any]:
    return {"voice_id": voice_id, "text": f"Job number {i}.", "async": True}


async def test_beyond_the_queued_limit_is_429_with_retry_after(limited: Container) -> None:
    user = await make_user(limited, "q@example.com")
    async with client_for(limited, user) as client:
        vid = (await create_voice(client))["id"]  # no job runs: the queue is not started
        for i in range(QUEUED):
            assert (await client.post("/api/v1/speech", json=speech(vid, i))).status_code == 202
        balance = await credits(limited, user.id)
        r = await client.post("/api/v1/speech", json=speech(vid, 99))
        assert r.status_code == 429, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["code"] == "job_limit_reached" and r.json()["limit"] == QUEUED
        assert r.headers["retry-after"] == "30"
        # Nothing of the refused one was stored or held.
        assert len(await owner_jobs(limited, user.id)) == QUEUED
        assert await credits(limited, user.id) == balance
        # Another account is not held back by this one's queue.
        other = await make_user(limited, "o@example.com")
        async with client_for(limited, other) as theirs:
            ovid = (await create_voice(theirs))["id"]
            assert (await theirs.post("/api/v1/speech", json=speech(ovid, 0))).status_code == 202
        # A cancelled job makes room.
        first = (await client.get("/api/v1/jobs")).json()["items"][0]["id"]
        assert (await client.post(f"/api/v1/jobs/{first}/cancel")).status_code == 200
        assert (await client.post("/api/v1/speech", json=speech(vid, 100))).status_code == 202
        assert (await client.post("/api/v1/speech", json=speech(vid, 101))).status_code == 429


async def test_concurrent_submissions_never_pass_the_queued_limit(limited: Container) -> None:
    user = await make_user(limited, "c@example.com")
    async with client_for(limited, user) as client:
        vid = (await create_voice(client))["id"]
        answers = await asyncio.gather(
            *(client.post("/api/v1/speech", json=speech(vid, i)) for i in range(12))
        )
    codes = sorted(r.status_code for r in answers)
    assert codes == [202] * QUEUED + [429] * (12 - QUEUED), [r.text for r in answers]
    assert len(await owner_jobs(limited, user.id)) == QUEUED


async def test_retry_counts_against_the_queued_limit(limited: Container) -> None:
    user = await make_user(limited, "r@example.com")
    handler = gated(limited)
    handler.fail = True
    async with limited.sessions() as s:
        failing = await new_job(s, "test.gated", {}, user.id, cost=1)
        await s.commit()
    await limited.jobs.start()
    await limited.jobs.submit(failing.id)
    async with asyncio.timeout(30):
        await limited.jobs.wait_idle()
    await limited.jobs.stop()
    async with limited.sessions() as s:
        for _ in range(QUEUED):
            await new_job(s, "test.gated", {}, user.id, cost=1)
        await s.commit()
    balance = await credits(limited, user.id)
    async with client_for(limited, user) as client:
        r = await client.post(f"/api/v1/jobs/{failing.id}/retry")
        assert r.status_code == 429, r.text
        assert r.json()["code"] == "job_limit_reached" and r.headers["retry-after"] == "30"
        job = (await client.get(f"/api/v1/jobs/{failing.id}")).json()
    assert job["status"] == "failed"
    assert await credits(limited, user.id) == balance


async def test_at_most_n_of_an_owners_jobs_run_at_once(limited: Container) -> None:
    a = await make_user(limited, "a@example.com")
    b = await make_user(limited, "b@example.com")
    handler = gated(limited)
    ids: list[str] = []
    async with limited.sessions() as s:
        for owner in (a, a, a, b):
            ids.append((await new_job(s, "test.gated", {}, owner.id, steps=["work"])).id)
        await s.commit()
    await limited.jobs.start()  # the start hands every queued job to the six workers at once

    async def statuses(owner: Account) -> list[str]:
        return sorted(j.status for j in await owner_jobs(limited, owner.id))

    async with asyncio.timeout(30):
        while sum(handler.running.values()) < RUNNING + 1:
            await asyncio.sleep(0.02)
    # Long enough for the held-back job to be looked at again several times.
    await asyncio.sleep(3)
    assert handler.running == {a.id: RUNNING, b.id: 1}
    assert await statuses(a) == ["queued", "running", "running"]
    waiting = next(j for j in await owner_jobs(limited, a.id) if j.status == "queued")
    assert waiting.attempts == 0 and waiting.started_at is None
    handler.release.set()
    async with asyncio.timeout(30):
        await limited.jobs.wait_idle()
    done = await owner_jobs(limited, a.id) + await owner_jobs(limited, b.id)
    assert sorted(j.status for j in done) == ["succeeded"] * 4
    assert [j.attempts for j in done] == [1] * 4  # waiting for a slot is not an attempt
    assert handler.most == {a.id: RUNNING, b.id: 1}
    async with limited.sessions() as s:
        assert await s.scalar(select(func.count()).select_from(Job)) == 4
