"""Credits under concurrency and faults: a burst of requests never spends more than the
balance, a second capture is impossible, stale holds come back (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from tests.api.conftest import Account, client_for, create_voice
from tests.api.credits_helpers import (
    BreakableEngine,
    assert_exact,
    balance,
    entries,
    priced_container,
)
from voxhub.accounts import api_keys
from voxhub.accounts import service as accounts
from voxhub.accounts.models import Role
from voxhub.accounts.principal import Principal
from voxhub.api import errors
from voxhub.bootstrap import close_container
from voxhub.compat import seed001
from voxhub.container import Container
from voxhub.core.clock import utcnow
from voxhub.core.errors import InsufficientCredits
from voxhub.credits import ledger
from voxhub.credits.models import CreditEntry
from voxhub.credits.stale import release_stale_holds
from voxhub.jobs.models import Job
from voxhub.jobs.service import new_job
from voxhub.settings import CreditSettings

# 10 credits per started 1,000 spoken characters: a short text costs 10; clones are free here
# so the voice does not spend the balance under test.
PRICES = CreditSettings(price_speech_per_1k_chars=10, price_clone=0)


@pytest.fixture
def fake_engine() -> BreakableEngine:
    return BreakableEngine()


@pytest.fixture
async def container(
    tmp_path: Path, database_url: str, speaker_encoder: object, fake_engine: BreakableEngine
) -> AsyncIterator[Container]:
    c = await priced_container(tmp_path, database_url, speaker_encoder, fake_engine, PRICES)
    yield c
    await close_container(c)


async def _account(c: Container, email: str, credits: int) -> Account:
    async with c.sessions() as s:
        user = await accounts.signup(s, email, "a long pass phrase 1", "T", credits)
        _, key = await api_keys.create_key(s, Principal(user.id, Role.user, "test"), "t")
    return Account(user.id, user.email, "", key)


async def _burst(
    c: Container, who: Account, body: dict, n: int
) -> tuple[list[httpx.Response], list[int]]:
    """`n` concurrent requests, while another client and a direct query keep reading the
    balance; returns the answers and every balance observed."""
    seen: list[int] = []
    done = asyncio.Event()

    async def observe(client: httpx.AsyncClient) -> None:
        while not done.is_set():
            r = await client.get("/api/v1/credits")
            assert r.status_code == 200, r.text
            seen.append(r.json()["balance"])
            seen.append(await balance(c, who.id))
            await asyncio.sleep(0)

    async with client_for(c, who) as client, client_for(c, who) as watcher:
        watching = asyncio.create_task(observe(watcher))
        await asyncio.sleep(0)
        try:
            answers = await asyncio.gather(
                *(client.post("/api/v1/speech", json=body) for _ in range(n))
            )
        finally:
            done.set()
            await watching
    return list(answers), seen


async def test_balance_30_cost_10_twenty_concurrent_jobs(container: Container) -> None:
    """The issue's acceptance test: exactly 3 accepted, 17 refused with 402, the balance never
    negative at any observation, no job rows for the refused ones."""
    user = await _account(container, "thirty@example.com", 30)
    async with client_for(container, user) as client:
        voice = await create_voice(client)
    body = {"voice_id": voice["id"], "text": "Hello there, this costs ten.", "async": True}
    answers, seen = await _burst(container, user, body, 20)
    codes = sorted(r.status_code for r in answers)
    assert codes == [202] * 3 + [402] * 17, [r.text for r in answers if r.status_code >= 500]
    for r in answers:
        if r.status_code == 402:
            problem = r.json()
            assert problem["code"] == "insufficient_credits"
            assert problem["cost"] == 10 and problem["balance"] == 0
    assert seen and min(seen) >= 0
    accepted = {r.json()["id"] for r in answers if r.status_code == 202}
    async with container.sessions() as s:
        job_ids = set(await s.scalars(select(Job.id)))
    assert job_ids == accepted
    await asyncio.wait_for(container.jobs.wait_idle(), 120)
    moves = [(e.kind, e.amount) for e in await entries(container, user.id)]
    assert sorted(moves) == sorted([("grant", 30)] + [("hold", -10), ("capture", 0)] * 3)
    assert await balance(container, user.id) == 0
    await assert_exact(container, user.id)


async def test_concurrent_sync_speech_never_spends_more_than_the_balance(
    container: Container,
) -> None:
    user = await _account(container, "twenty@example.com", 25)
    async with client_for(container, user) as client:
        voice = await create_voice(client)
    body = {"voice_id": voice["id"], "text": "Paid on the spot."}
    answers, seen = await _burst(container, user, body, 8)
    assert sorted(r.status_code for r in answers) == [200] * 2 + [402] * 6
    assert seen and min(seen) >= 0
    assert await balance(container, user.id) == 5
    await assert_exact(container, user.id)


async def test_a_second_capture_of_a_job_round_is_a_unique_violation(
    container: Container,
) -> None:
    user = await _account(container, "twice@example.com", 50)
    async with container.sessions() as s:
        job = await new_job(s, "speech.synthesize", {}, user.id, cost=10)
        await s.commit()
    async with container.sessions() as s:
        await ledger.capture(s, user.id, job.id, 0, 10, "speech")
        await s.commit()
    async with container.sessions() as s:
        with pytest.raises(IntegrityError):
            await ledger.capture(s, user.id, job.id, 0, 10, "speech")
        await s.rollback()
    # A retry's new round is a new hold and may be captured once in its turn.
    async with container.sessions() as s:
        await ledger.hold(s, user.id, job.id, 1, 10, "speech")
        await ledger.capture(s, user.id, job.id, 1, 10, "speech")
        await s.commit()
    assert await balance(container, user.id) == 30
    await assert_exact(container, user.id)


async def test_a_reserved_hold_settles_once_either_way(container: Container) -> None:
    user = await _account(container, "once@example.com", 10)
    await ledger.reserve(container.sessions, user.id, "gen-1", 4, "speech")
    with pytest.raises(InsufficientCredits):
        await ledger.reserve(container.sessions, user.id, "gen-2", 7, "speech")
    async with container.sessions() as s:
        assert await ledger.capture_reserved(s, user.id, "gen-1", "speech")
        await s.commit()
    assert not await ledger.release_reserved(container.sessions, user.id, "gen-1", "late")
    async with container.sessions() as s:
        assert not await ledger.capture_reserved(s, user.id, "gen-1", "speech")
    assert await balance(container, user.id) == 6
    await assert_exact(container, user.id)


async def test_stale_holds_without_a_job_are_released(container: Container) -> None:
    user = await _account(container, "stale@example.com", 30)
    await ledger.reserve(container.sessions, user.id, "gen-died", 5, "speech")  # process died
    await ledger.reserve(container.sessions, user.id, "gen-fresh", 5, "speech")  # still running
    await ledger.reserve(container.sessions, user.id, "gen-done", 5, "speech")
    async with container.sessions() as s:
        await ledger.capture_reserved(s, user.id, "gen-done", "speech")
        job = await new_job(s, "speech.synthesize", {}, user.id, cost=5)  # a job's own hold
        await s.commit()
    old = utcnow() - timedelta(hours=2)
    async with container.sessions() as s:
        await s.execute(
            update(CreditEntry)
            .where(CreditEntry.job_id.in_(["gen-died", "gen-done", job.id]))
            .values(created_at=old)
        )
        await s.commit()
    assert await balance(container, user.id) == 10
    await release_stale_holds(container.sessions)  # (the jobs' sweep may have been first)
    assert await release_stale_holds(container.sessions) == 0
    assert await balance(container, user.id) == 15
    async with container.sessions() as s:
        released = await s.scalars(select(CreditEntry.job_id).where(CreditEntry.kind == "release"))
        assert list(released) == ["gen-died"]
    await assert_exact(container, user.id)


async def test_seed001_routes_answer_a_short_balance_with_400() -> None:
    assert all(isinstance(r, seed001.Seed001Route) for r in seed001.router.routes), (
        "every seed 001 route maps a short balance to 400"
    )
    app = FastAPI()
    errors.install(app)
    probe = APIRouter(route_class=seed001.Seed001Route)

    @probe.post("/api/scripts/x/generate-video")
    async def generate_video() -> dict:
        raise InsufficientCredits("this costs 1 credits and the balance is 0", cost=1, balance=0)

    primary = APIRouter()

    @primary.post("/api/v1/videos")
    async def primary_video() -> dict:
        raise InsufficientCredits("this costs 1 credits and the balance is 0", cost=1, balance=0)

    app.include_router(probe)
    app.include_router(primary)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as client:
        seed = await client.post("/api/scripts/x/generate-video")
        main = await client.post("/api/v1/videos")
    assert seed.status_code == 400 and main.status_code == 402
    assert seed.headers["content-type"].startswith("application/problem+json")
    assert {k: seed.json()[k] for k in ("code", "cost", "balance", "status")} == {
        "code": "insufficient_credits",
        "cost": 1,
        "balance": 0,
        "status": 400,
    }
    assert main.json()["code"] == "insufficient_credits"


async def test_no_job_rows_and_no_entries_for_a_refused_job(container: Container) -> None:
    user = await _account(container, "broke@example.com", 0)
    async with container.sessions() as s:
        with pytest.raises(InsufficientCredits):
            await new_job(s, "speech.synthesize", {}, user.id, cost=10)
        await s.rollback()
    async with container.sessions() as s:
        assert await s.scalar(select(func.count()).select_from(Job)) == 0
    assert await entries(container, user.id) == []
