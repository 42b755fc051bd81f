"""POST /api/v1/jobs/{id}/cancel and /retry, through the HTTP API, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import select

from voxhub.accounts.models import User
from voxhub.container import Container
from voxhub.credits import ledger
from voxhub.credits.models import CreditEntry
from voxhub.jobs.errors import PermanentJobError
from voxhub.jobs.executor import JobContext
from voxhub.jobs.models import Job, JobEvent
from voxhub.jobs.service import new_job
from voxhub.webhooks.models import WebhookDelivery

COST = 5


@dataclass
class Gated:
    """A test job kind: step `first`, wait for `release`, step `second`, succeed; or fail
    (PermanentJobError) while `fail` is set."""

    started: asyncio.Event = field(default_factory=asyncio.Event)
    release: asyncio.Event = field(default_factory=asyncio.Event)
    fail: bool = False
    # Raise an unexpected error after the wait, before the next step boundary.
    boom: bool = False
    past_second: int = 0
    runs: int = 0

    async def __call__(self, ctx: JobContext) -> dict[str, Any]:
        self.runs += 1
        await ctx.progress(10, "first")
        if self.fail:
            raise PermanentJobError("test_failure", "asked to fail")
        self.started.set()
        await self.release.wait()
        if self.boom:
            raise RuntimeError("unexpected")
        await ctx.progress(50, "second")  # the step boundary where a cancel lands
        self.past_second += 1
        return {"done": True}


@pytest.fixture
def gated(container: Container) -> Gated:
    handler = Gated()
    executor = container.jobs.executor  # type: ignore[attr-defined]
    executor.handlers["test.gated"] = handler
    return handler


async def make_job(c: Container, owner_id: str, cost: int = COST) -> str:
    async with c.sessions() as s:
        job = await new_job(s, "test.gated", {}, owner_id, steps=["first", "second"], cost=cost)
        await s.commit()
    return job.id


async def balance(c: Container, user_id: str) -> int:
    async with c.sessions() as s:
        value = await s.scalar(select(User.credits).where(User.id == user_id))
    assert value is not None
    return value


async def entries(c: Container, job_id: str) -> list[tuple[int, str, int]]:
    async with c.sessions() as s:
        rows = await s.execute(
            select(CreditEntry.round, CreditEntry.kind, CreditEntry.amount)
            .where(CreditEntry.job_id == job_id)
            .order_by(CreditEntry.created_at, CreditEntry.round)
        )
        return [tuple(r) for r in rows.all()]  # type: ignore[misc]


async def event_types(c: Container, job_id: str) -> list[str]:
    async with c.sessions() as s:
        rows = await s.scalars(
            select(JobEvent.type).where(JobEvent.job_id == job_id).order_by(JobEvent.seq)
        )
        return list(rows)


async def idle(c: Container) -> None:
    async with asyncio.timeout(30):
        await c.jobs.wait_idle()


async def test_a_queued_job_cancelled_never_starts_and_its_hold_is_released(
    client, container, user_a, gated
) -> None:
    await container.jobs.stop()  # nothing picks it up before the cancel
    job_id = await make_job(container, user_a.id)
    assert await balance(container, user_a.id) == 100 - COST
    r = await client.post(f"/api/v1/jobs/{job_id}/cancel")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "cancelled" and body["error"]["code"] == "cancelled"
    assert await balance(container, user_a.id) == 100
    assert await entries(container, job_id) == [(0, "hold", -COST), (0, "release", COST)]
    # Its id reaching a worker later changes nothing: it never runs.
    await container.jobs.start()
    await container.jobs.submit(job_id)
    await idle(container)
    after = (await client.get(f"/api/v1/jobs/{job_id}")).json()
    assert after["status"] == "cancelled" and after["started_at"] is None
    assert after["attempts"] == 0 and gated.runs == 0
    assert await event_types(container, job_id) == ["status", "status"]


async def test_a_running_job_stops_at_its_next_step_boundary(
    client, container, user_a, gated
) -> None:
    job_id = await make_job(container, user_a.id)
    await container.jobs.submit(job_id)
    async with asyncio.timeout(30):
        await gated.started.wait()
    r = await client.post(f"/api/v1/jobs/{job_id}/cancel")
    assert r.status_code == 202, r.text
    assert r.json()["status"] == "running" and r.json()["cancel_requested"] is True
    # Asking again answers the same and records nothing more.
    again = await client.post(f"/api/v1/jobs/{job_id}/cancel")
    assert again.status_code == 202 and again.json()["cancel_requested"] is True
    assert (await event_types(container, job_id)).count("cancel_requested") == 1
    assert await balance(container, user_a.id) == 100 - COST  # still held while it runs
    gated.release.set()
    await idle(container)
    job = (await client.get(f"/api/v1/jobs/{job_id}")).json()
    assert job["status"] == "cancelled" and gated.past_second == 0
    steps = {s["name"]: s for s in job["steps"]}
    assert steps["first"]["status"] == "cancelled" and steps["first"]["error"] == "cancelled"
    assert steps["second"]["status"] == "pending"
    assert await balance(container, user_a.id) == 100
    assert await entries(container, job_id) == [(0, "hold", -COST), (0, "release", COST)]


async def test_a_finished_job_cannot_be_cancelled(client, container, user_a, gated) -> None:
    gated.release.set()
    job_id = await make_job(container, user_a.id)
    await container.jobs.submit(job_id)
    await idle(container)
    assert (await client.get(f"/api/v1/jobs/{job_id}")).json()["status"] == "succeeded"
    before = await event_types(container, job_id)
    r = await client.post(f"/api/v1/jobs/{job_id}/cancel")
    assert r.status_code == 409, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == "job_state_conflict" and r.json()["status"] == 409
    assert await event_types(container, job_id) == before
    assert await entries(container, job_id) == [(0, "hold", -COST), (0, "capture", 0)]


async def test_anothers_job_answers_as_a_missing_one(
    client, client_b, container, user_a, gated
) -> None:
    await container.jobs.stop()
    job_id = await make_job(container, user_a.id)
    missing = "00000000-0000-4000-8000-000000000000"
    for action in ("cancel", "retry"):
        theirs = await client_b.post(f"/api/v1/jobs/{job_id}/{action}")
        nobody = await client_b.post(f"/api/v1/jobs/{missing}/{action}")
        assert theirs.status_code == nobody.status_code == 404
        assert theirs.json()["code"] == "job_not_found"
        # The same answer, but for the id asked about.
        assert theirs.text == nobody.text.replace(missing, job_id)
    async with container.sessions() as s:
        job = await s.get(Job, job_id)
        assert job is not None and job.status == "queued" and not job.cancel_requested


async def test_retry_of_a_failed_job_holds_again_in_a_new_round(
    client, container, user_a, gated
) -> None:
    gated.fail = True
    job_id = await make_job(container, user_a.id)
    await container.jobs.submit(job_id)
    await idle(container)
    failed = (await client.get(f"/api/v1/jobs/{job_id}")).json()
    assert failed["status"] == "failed" and failed["error"]["code"] == "test_failure"
    assert await balance(container, user_a.id) == 100
    gated.fail = False
    gated.release.set()
    r = await client.post(f"/api/v1/jobs/{job_id}/retry")
    assert r.status_code == 202, r.text
    assert r.headers["location"] == f"/api/v1/jobs/{job_id}"
    queued = r.json()
    assert queued["status"] == "queued" and queued["attempts"] == 0
    assert queued["error"] is None and queued["progress"] == 0
    assert [s["status"] for s in queued["steps"]] == ["pending", "pending"]
    await idle(container)
    done = (await client.get(f"/api/v1/jobs/{job_id}")).json()
    assert done["status"] == "succeeded" and done["attempts"] == 1, done
    assert await balance(container, user_a.id) == 100 - COST
    assert await entries(container, job_id) == [
        (0, "hold", -COST),
        (0, "release", COST),
        (1, "hold", -COST),
        (1, "capture", 0),
    ]
    async with container.sessions() as s:
        job = await s.get(Job, job_id)
        assert job is not None and job.billing_round == 1


async def test_retry_of_a_cancelled_job(client, container, user_a, gated) -> None:
    await container.jobs.stop()
    job_id = await make_job(container, user_a.id)
    assert (await client.post(f"/api/v1/jobs/{job_id}/cancel")).status_code == 200
    await container.jobs.start()
    gated.release.set()
    r = await client.post(f"/api/v1/jobs/{job_id}/retry")
    assert r.status_code == 202, r.text
    assert r.json()["cancel_requested"] is False
    await idle(container)
    assert (await client.get(f"/api/v1/jobs/{job_id}")).json()["status"] == "succeeded"
    assert await balance(container, user_a.id) == 100 - COST


async def test_retry_of_a_dead_job(client, container, user_a, gated) -> None:
    await container.jobs.stop()
    job_id = await make_job(container, user_a.id)
    async with container.sessions() as s:
        job = await s.get(Job, job_id)
        assert job is not None
        job.status, job.attempts, job.error = "dead", 3, {"code": "worker_lost", "message": "x"}
        await s.commit()
    await container.jobs.start()
    gated.release.set()
    r = await client.post(f"/api/v1/jobs/{job_id}/retry")
    assert r.status_code == 202, r.text
    await idle(container)
    done = (await client.get(f"/api/v1/jobs/{job_id}")).json()
    assert done["status"] == "succeeded" and done["attempts"] == 1


async def test_retry_short_of_credits_is_402_and_changes_nothing(
    client, container, user_a, gated
) -> None:
    gated.fail = True
    job_id = await make_job(container, user_a.id)
    await container.jobs.submit(job_id)
    await idle(container)
    async with container.sessions() as s:
        await ledger.grant(s, user_a.id, -(100 - 2), "test: leave 2")
        await s.commit()
    before = await entries(container, job_id)
    events_before = await event_types(container, job_id)
    r = await client.post(f"/api/v1/jobs/{job_id}/retry")
    assert r.status_code == 402, r.text
    assert r.json()["code"] == "insufficient_credits"
    assert r.json()["cost"] == COST and r.json()["balance"] == 2
    job = (await client.get(f"/api/v1/jobs/{job_id}")).json()
    assert job["status"] == "failed" and job["error"]["code"] == "test_failure"
    assert await entries(container, job_id) == before
    assert await event_types(container, job_id) == events_before
    assert await balance(container, user_a.id) == 2


@pytest.mark.parametrize("state", ["queued", "running", "succeeded"])
async def test_retry_is_only_for_failed_dead_or_cancelled_jobs(
    client, container, user_a, gated, state: str
) -> None:
    if state == "queued":
        await container.jobs.stop()
    if state == "succeeded":
        gated.release.set()
    job_id = await make_job(container, user_a.id)
    await container.jobs.submit(job_id)
    if state == "running":
        async with asyncio.timeout(30):
            await gated.started.wait()
    if state == "succeeded":
        await idle(container)
    r = await client.post(f"/api/v1/jobs/{job_id}/retry")
    assert r.status_code == 409, r.text
    assert r.json()["code"] == "job_state_conflict" and r.json()["status"] == 409
    assert (await client.get(f"/api/v1/jobs/{job_id}")).json()["status"] == state
    gated.release.set()


async def test_cancel_and_retry_with_an_idempotency_key_act_once(
    client, container, user_a, gated
) -> None:
    await container.jobs.stop()
    job_id = await make_job(container, user_a.id)
    key = {"Idempotency-Key": "cancel-1"}
    first = await client.post(f"/api/v1/jobs/{job_id}/cancel", headers=key)
    replay = await client.post(f"/api/v1/jobs/{job_id}/cancel", headers=key)
    assert first.status_code == replay.status_code == 200
    assert replay.headers["idempotent-replayed"] == "true" and replay.json() == first.json()
    # Without the key, a second cancel is a conflict: the replay above was not a second try.
    assert (await client.post(f"/api/v1/jobs/{job_id}/cancel")).status_code == 409
    key = {"Idempotency-Key": "retry-1"}
    first = await client.post(f"/api/v1/jobs/{job_id}/retry", headers=key)
    replay = await client.post(f"/api/v1/jobs/{job_id}/retry", headers=key)
    assert first.status_code == replay.status_code == 202
    assert replay.headers["idempotent-replayed"] == "true"
    assert await entries(container, job_id) == [
        (0, "hold", -COST),
        (0, "release", COST),
        (1, "hold", -COST),
    ]


async def test_a_cancelled_job_that_errors_before_its_next_step_ends_cancelled(
    client, container, user_a, gated
) -> None:
    # The executor would retry it after an unexpected error; a claim skips a job whose cancel
    # was requested, so queued again it would wait forever. It ends cancelled instead.
    gated.boom = True
    job_id = await make_job(container, user_a.id)
    await container.jobs.submit(job_id)
    async with asyncio.timeout(30):
        await gated.started.wait()
    assert (await client.post(f"/api/v1/jobs/{job_id}/cancel")).status_code == 202
    gated.release.set()
    await idle(container)
    job = (await client.get(f"/api/v1/jobs/{job_id}")).json()
    assert job["status"] == "cancelled" and gated.runs == 1, job
    assert await balance(container, user_a.id) == 100
    assert await entries(container, job_id) == [(0, "hold", -COST), (0, "release", COST)]


async def test_a_cancel_racing_the_claim_always_ends_cancelled(
    client, container, user_a, gated
) -> None:
    # The job cannot finish before the cancel lands (it waits for `release` after its first
    # step), so whichever of the claim and the cancel wins, it must end cancelled.
    for _ in range(5):
        gated.release.clear()
        job_id = await make_job(container, user_a.id)
        submitted = container.jobs.submit(job_id)
        cancel = client.post(f"/api/v1/jobs/{job_id}/cancel")
        _, r = await asyncio.gather(submitted, cancel)
        assert r.status_code in (200, 202), r.text  # queued: cancelled now; running: asked
        gated.release.set()
        await idle(container)
        job = (await client.get(f"/api/v1/jobs/{job_id}")).json()
        assert job["status"] == "cancelled", job
    assert gated.past_second == 0
    assert await balance(container, user_a.id) == 100


async def test_concurrent_retries_queue_the_job_once(client, container, user_a, gated) -> None:
    gated.fail = True
    job_id = await make_job(container, user_a.id)
    await container.jobs.submit(job_id)
    await idle(container)
    await container.jobs.stop()
    answers = await asyncio.gather(*(client.post(f"/api/v1/jobs/{job_id}/retry") for _ in range(6)))
    assert sorted(r.status_code for r in answers) == [202] + [409] * 5, [r.text for r in answers]
    assert await entries(container, job_id) == [
        (0, "hold", -COST),
        (0, "release", COST),
        (1, "hold", -COST),
    ]
    assert await balance(container, user_a.id) == 100 - COST


async def test_a_retried_job_with_a_callback_gets_a_webhook_per_round(
    client, container, user_a, gated
) -> None:
    gated.fail = True
    async with container.sessions() as s:
        job = await new_job(
            s, "test.gated", {}, user_a.id, cost=COST, callback_url="https://example.com/hook"
        )
        await s.commit()
    await container.jobs.submit(job.id)
    await idle(container)
    gated.fail = False
    gated.release.set()
    assert (await client.post(f"/api/v1/jobs/{job.id}/retry")).status_code == 202
    await idle(container)
    assert (await client.get(f"/api/v1/jobs/{job.id}")).json()["status"] == "succeeded"
    async with container.sessions() as s:
        rows = await s.execute(
            select(WebhookDelivery.round, WebhookDelivery.event)
            .where(WebhookDelivery.job_id == job.id)
            .order_by(WebhookDelivery.round)
        )
        assert [tuple(r) for r in rows.all()] == [(0, "job.failed"), (1, "job.succeeded")]
