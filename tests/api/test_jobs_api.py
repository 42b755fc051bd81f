"""GET /api/v1/jobs (filters, cursor pages) and GET /api/v1/jobs/{id} (named steps), through
the HTTP API on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from voxhub.container import Container
from voxhub.jobs.errors import PermanentJobError
from voxhub.jobs.executor import JobContext
from voxhub.jobs.models import Job
from voxhub.jobs.service import new_job

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


async def add_jobs(c: Container, owner_id: str, specs: list[tuple[str, str, int]]) -> list[str]:
    """Jobs of (kind, status, minutes after T0), stored as the workers would have left them."""
    ids = []
    async with c.sessions() as s:
        for kind, status, minutes in specs:
            job = await new_job(s, kind, {}, owner_id, steps=["a"])
            job.status = status
            job.created_at = T0 + timedelta(minutes=minutes)
            ids.append(job.id)
        await s.commit()
    return ids


@pytest.fixture
async def mixed(container: Container, user_a, user_b) -> dict[str, list[str]]:
    await container.jobs.stop()  # the rows stay as written
    mine = await add_jobs(
        container,
        user_a.id,
        [
            ("speech.synthesize", "succeeded", 0),
            ("voice.refine", "failed", 1),
            ("speech.synthesize", "queued", 2),
            ("speech.synthesize", "succeeded", 3),
            ("voice.refine", "succeeded", 4),
        ],
    )
    theirs = await add_jobs(container, user_b.id, [("speech.synthesize", "succeeded", 2)])
    return {"mine": mine, "theirs": theirs}


def at(minutes: int) -> str:
    return (T0 + timedelta(minutes=minutes)).isoformat()


async def ids(client, **params: Any) -> list[str]:
    r = await client.get("/api/v1/jobs", params=params)
    assert r.status_code == 200, r.text
    assert set(r.json()) == {"items", "next_cursor"}
    return [j["id"] for j in r.json()["items"]]


async def test_filters(client, mixed) -> None:
    m = mixed["mine"]
    assert await ids(client) == m[::-1]  # newest first, only the caller's
    assert await ids(client, kind="voice.refine") == [m[4], m[1]]
    assert await ids(client, status="succeeded") == [m[4], m[3], m[0]]
    assert await ids(client, kind="speech.synthesize", status="succeeded") == [m[3], m[0]]
    # After is inclusive, before exclusive: adjacent ranges share nothing.
    assert await ids(client, created_after=at(1), created_before=at(3)) == [m[2], m[1]]
    assert await ids(client, created_after=at(3)) == [m[4], m[3]]
    assert await ids(client, created_before=at(1)) == [m[0]]
    # Another offset names the same instant.
    plus2 = (T0 + timedelta(minutes=3)).astimezone(timezone(timedelta(hours=2)))
    assert await ids(client, created_after=plus2.isoformat()) == [m[4], m[3]]
    assert await ids(client, kind="video.render") == []


async def test_cursor_pages_cover_every_job_once(client, mixed) -> None:
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 2, "status": "succeeded"} | (
            {"cursor": cursor} if cursor else {}
        )
        body = (await client.get("/api/v1/jobs", params=params)).json()
        seen += [j["id"] for j in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    m = mixed["mine"]
    assert seen == [m[4], m[3], m[0]] and pages == 2


async def test_jobs_made_in_one_instant_are_paged_once_each(client, container, user_a) -> None:
    await container.jobs.stop()
    same = await add_jobs(container, user_a.id, [("voice.refine", "queued", 7)] * 3)
    seen: list[str] = []
    cursor = None
    for _ in range(5):
        params: dict[str, Any] = {"limit": 1} | ({"cursor": cursor} if cursor else {})
        body = (await client.get("/api/v1/jobs", params=params)).json()
        seen += [j["id"] for j in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(same, reverse=True)  # ties broken by id


@pytest.mark.parametrize(
    "params",
    [
        {"status": "sleeping"},
        {"created_after": "2026-03-01T12:00:00"},  # no offset: which zone?
        {"created_before": "yesterday"},
        {"limit": 0},
        {"limit": 101},
        {"kind": "k" * 65},
    ],
)
async def test_bad_filters_are_422(client, mixed, params: dict[str, Any]) -> None:
    r = await client.get("/api/v1/jobs", params=params)
    assert r.status_code == 422, r.text
    assert r.json()["code"] == "validation_error"


async def test_times_beyond_the_utc_range_bound_nothing(client, mixed) -> None:
    m = mixed["mine"]
    # Before 0001-01-01T00:00Z and after 9999-12-31T23:59:59Z: every job is inside.
    assert await ids(client, created_after="0001-01-01T00:00:00+05:00") == m[::-1]
    assert await ids(client, created_before="9999-12-31T23:00:00-05:00") == m[::-1]
    assert await ids(client, created_before="0001-01-01T00:00:00+05:00") == []


async def test_a_cursor_not_made_here_is_422(client, mixed) -> None:
    r = await client.get("/api/v1/jobs", params={"cursor": "bm90LWEtY3Vyc29y"})
    assert r.status_code == 422 and r.json()["code"] == "invalid_cursor", r.text


async def failing(ctx: JobContext) -> dict[str, Any]:
    await ctx.progress(10, "fetch", "fetching")
    await ctx.progress(60, "render", "rendering")
    raise PermanentJobError("render_broke", "the render broke")


async def test_a_job_shows_its_named_steps(client, container, user_a) -> None:
    container.jobs.executor.handlers["test.failing"] = failing  # type: ignore[attr-defined]
    async with container.sessions() as s:
        job = await new_job(s, "test.failing", {}, user_a.id, steps=["fetch", "render", "store"])
        await s.commit()
    await container.jobs.submit(job.id)
    async with asyncio.timeout(30):
        await container.jobs.wait_idle()
    body = (await client.get(f"/api/v1/jobs/{job.id}")).json()
    assert body["status"] == "failed" and body["error"]["code"] == "render_broke"
    fetch, render, store = body["steps"]
    keys = {"name", "status", "progress", "message", "started_at", "completed_at", "error"}
    assert set(fetch) == set(render) == set(store) == keys
    assert (fetch["name"], fetch["status"], fetch["progress"]) == ("fetch", "completed", 100)
    assert fetch["started_at"] <= fetch["completed_at"] and fetch["error"] is None
    assert (render["status"], render["message"], render["error"]) == (
        "failed",
        "rendering",
        "render_broke",
    )
    assert render["started_at"] is not None and render["completed_at"] is not None
    assert (store["status"], store["started_at"], store["completed_at"]) == ("pending", None, None)
    assert body["started_at"] is not None and body["finished_at"] is not None
    assert body["cost"] == 0 and body["cancel_requested"] is False


async def test_the_list_and_a_job_answer_the_same(client, container, mixed) -> None:
    first = (await client.get("/api/v1/jobs", params={"limit": 1})).json()["items"][0]
    assert (await client.get(f"/api/v1/jobs/{first['id']}")).json() == first
    async with container.sessions() as s:
        assert await s.get(Job, first["id"]) is not None
