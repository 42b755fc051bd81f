"""GET /api/v1/jobs/{id}/events: server-sent events from the job_events table, on SQLite and
PostgreSQL, served by uvicorn on loopback (real chunked HTTP)."""

from __future__ import annotations

import asyncio
import json
import sys
import textwrap
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from tests.api.conftest import Account
from voxhub.container import Container
from voxhub.jobs import events
from voxhub.jobs.executor import JobContext
from voxhub.jobs.models import JobEvent
from voxhub.jobs.service import new_job


@dataclass
class Sse:
    id: int | None
    event: str
    data: dict[str, Any]


async def read_events(lines: AsyncIterator[str], out: list[Sse], comments: list[str]) -> None:
    """Parse an SSE stream into `out` (and comment lines into `comments`) until it ends."""
    fields: dict[str, str] = {}
    async for line in lines:
        if line == "":
            if "event" in fields:
                seq = int(fields["id"]) if "id" in fields else None
                out.append(Sse(seq, fields["event"], json.loads(fields["data"])))
            fields = {}
        elif line.startswith(":"):
            comments.append(line)
        else:
            name, _, value = line.partition(": ")
            fields[name] = value


@dataclass
class Stepper:
    """A test job kind: `steps` steps, each waiting for the test to let it go on."""

    go: asyncio.Queue[None] = field(default_factory=asyncio.Queue)
    steps: int = 2

    async def __call__(self, ctx: JobContext) -> dict[str, Any]:
        for i in range(self.steps):
            await self.go.get()
            await ctx.progress(100 * i / self.steps, f"step{i}", f"doing {i}")
        await self.go.get()
        return {"steps": self.steps}


@pytest.fixture
def stepper(container: Container) -> Stepper:
    handler = Stepper()
    container.jobs.executor.handlers["test.stepper"] = handler  # type: ignore[attr-defined]
    return handler


async def make_job(c: Container, owner: Account, kind: str = "test.stepper") -> str:
    async with c.sessions() as s:
        job = await new_job(s, kind, {}, owner.id, steps=["step0", "step1"])
        await s.commit()
    return job.id


async def stored(c: Container, job_id: str) -> list[tuple[int, str, dict[str, Any]]]:
    async with c.sessions() as s:
        rows = await s.execute(
            select(JobEvent.seq, JobEvent.type, JobEvent.data)
            .where(JobEvent.job_id == job_id)
            .order_by(JobEvent.seq)
        )
        return [tuple(r) for r in rows.all()]  # type: ignore[misc]


async def wait_for(predicate: Any, timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.02)


async def test_a_job_streams_every_change_then_end(live_url, container, user_a, stepper) -> None:
    job_id = await make_job(container, user_a)
    got: list[Sse] = []
    comments: list[str] = []
    async with (
        httpx.AsyncClient(base_url=live_url, headers=user_a.headers, timeout=30) as http,
        http.stream("GET", f"/api/v1/jobs/{job_id}/events") as r,
    ):
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        assert r.headers["cache-control"] == "no-cache"
        reader = asyncio.create_task(read_events(r.aiter_lines(), got, comments))
        await wait_for(lambda: len(got) == 1)  # the queued job's first event, at once
        await container.jobs.submit(job_id)
        for _ in range(stepper.steps + 1):
            stepper.go.put_nowait(None)
        async with asyncio.timeout(30):
            await reader  # the stream ends by itself once the job is final
    rows = await stored(container, job_id)
    # One event per stored row, in order, then `end` (without an id).
    assert [(e.id, e.event, e.data) for e in got[:-1]] == rows
    assert [e.event for e in got[:-1]] == ["status", "status", "progress", "progress", "status"]
    assert [e.data["status"] for e in got[:-1]] == [
        "queued",
        "running",
        "running",
        "running",
        "succeeded",
    ]
    assert got[2].data["steps"][0]["status"] == "in_progress"
    assert got[3].data["steps"][1]["message"] == "doing 1"
    end = got[-1]
    assert end.event == "end" and end.id is None
    assert end.data["status"] == "succeeded" and end.data["result"] == {"steps": 2}
    assert comments == []  # no heartbeat within 15 s of silence


async def test_resume_after_last_event_id(live_url, container, user_a, stepper) -> None:
    job_id = await make_job(container, user_a)
    for _ in range(stepper.steps + 1):
        stepper.go.put_nowait(None)
    await container.jobs.submit(job_id)
    async with asyncio.timeout(30):
        await container.jobs.wait_idle()
    rows = await stored(container, job_id)
    assert len(rows) == 5

    async def resumed(**kw: Any) -> list[Sse]:
        got: list[Sse] = []
        async with (
            httpx.AsyncClient(base_url=live_url, headers=user_a.headers, timeout=30) as http,
            http.stream("GET", f"/api/v1/jobs/{job_id}/events", **kw) as r,
        ):
            assert r.status_code == 200
            await read_events(r.aiter_lines(), got, [])
        return got

    by_header = await resumed(headers={"Last-Event-ID": "3"})
    assert [e.id for e in by_header] == [4, 5, None]
    assert [(e.id, e.event, e.data) for e in by_header[:-1]] == rows[3:]
    by_query = await resumed(params={"last_event_id": "3"})
    assert [e.id for e in by_query] == [4, 5, None]
    # A reconnecting EventSource sends the header on the URL it first used: the later wins.
    both = await resumed(params={"last_event_id": "1"}, headers={"Last-Event-ID": "4"})
    assert [e.id for e in both] == [5, None]
    everything = await resumed()
    assert [e.id for e in everything] == [1, 2, 3, 4, 5, None]
    # After the last one there is only `end`.
    assert [e.event for e in await resumed(headers={"Last-Event-ID": "5"})] == ["end"]


async def test_a_bad_last_event_id_is_422(client, container, user_a, stepper) -> None:
    job_id = await make_job(container, user_a)
    for bad in ("abc", "-1", str(2**31)):
        r = await client.get(f"/api/v1/jobs/{job_id}/events", headers={"Last-Event-ID": bad})
        assert r.status_code == 422, r.text
        assert r.json()["code"] == "validation_error"
        r = await client.get(f"/api/v1/jobs/{job_id}/events", params={"last_event_id": bad})
        assert r.status_code == 422, r.text


async def test_anothers_job_stream_is_a_missing_one(client_b, container, user_a, stepper) -> None:
    job_id = await make_job(container, user_a)
    missing = "00000000-0000-4000-8000-000000000000"
    theirs = await client_b.get(f"/api/v1/jobs/{job_id}/events")
    nobody = await client_b.get(f"/api/v1/jobs/{missing}/events")
    assert theirs.status_code == nobody.status_code == 404
    assert theirs.json()["code"] == "job_not_found"
    assert theirs.text == nobody.text.replace(missing, job_id)


WORKER = textwrap.dedent(
    """
    import asyncio, sys
    from voxhub.db.session import create_engine, create_sessionmaker
    from voxhub.jobs import lifecycle

    async def main(url, job_id):
        engine = create_engine(url)
        sessions = create_sessionmaker(engine)
        assert await lifecycle.claim(sessions, job_id, "other-process", 30.0)
        for i in range(3):
            await lifecycle.record_progress(
                sessions, job_id, "other-process", 30 * i, f"step{i}", "elsewhere"
            )
            await asyncio.sleep(0.2)
        assert await lifecycle.succeed(sessions, job_id, "other-process", {"where": "there"})
        await engine.dispose()

    asyncio.run(main(sys.argv[1], sys.argv[2]))
    """
)


async def test_a_worker_in_another_process_is_streamed(
    live_url, container, user_a, database_url
) -> None:
    await container.jobs.stop()  # this process runs nothing: the other one does
    job_id = await make_job(container, user_a, kind="test.elsewhere")
    got: list[Sse] = []
    async with (
        httpx.AsyncClient(base_url=live_url, headers=user_a.headers, timeout=60) as http,
        http.stream("GET", f"/api/v1/jobs/{job_id}/events") as r,
    ):
        reader = asyncio.create_task(read_events(r.aiter_lines(), got, []))
        await wait_for(lambda: len(got) == 1)
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-c", WORKER, database_url, job_id
        )
        assert await proc.wait() == 0
        async with asyncio.timeout(30):
            await reader
    kinds = ["status", "status", "progress", "progress", "progress", "status", "end"]
    assert [e.event for e in got] == kinds
    assert got[-1].data["result"] == {"where": "there"}
    running = [[s for s in e.data["steps"] if s["status"] == "in_progress"] for e in got[2:5]]
    assert [[(s["name"], s["message"]) for s in r] for r in running] == [
        [("step0", "elsewhere")],
        [("step1", "elsewhere")],
        [("step2", "elsewhere")],
    ]


async def test_the_stream_ends_when_the_client_goes_away(
    live_url, container, user_a, stepper
) -> None:
    job_id = await make_job(container, user_a)
    assert events.open_streams() == 0
    async with httpx.AsyncClient(base_url=live_url, headers=user_a.headers, timeout=30) as http:
        async with http.stream("GET", f"/api/v1/jobs/{job_id}/events") as r:
            lines = r.aiter_lines()
            while (await anext(lines)) != "":  # the retry hint
                pass
            assert (await anext(lines)).startswith("id: 1")
            assert events.open_streams() == 1
        # The response is closed with the job still queued: the server stops streaming.
        await wait_for(lambda: events.open_streams() == 0)


async def test_between_polls_no_connection_is_held_and_a_heartbeat_goes_out(
    container, user_a, stepper
) -> None:
    job_id = await make_job(container, user_a)
    stream = events.job_events(container.sessions, job_id, 0, poll_s=0.05, heartbeat_s=0.3)
    try:
        assert (await anext(stream)).startswith("retry: ")
        first = await anext(stream)
        assert first.startswith("id: 1\nevent: status\ndata: {")
        # Suspended between polls: its session is closed and its connection back in the pool.
        assert container.db.pool.checkedout() == 0  # type: ignore[attr-defined]
        loop = asyncio.get_running_loop()
        start = loop.time()
        assert await anext(stream) == ": keep-alive\n\n"
        assert 0.25 <= loop.time() - start < 5
        assert container.db.pool.checkedout() == 0  # type: ignore[attr-defined]
    finally:
        await stream.aclose()
    assert events.open_streams() == 0
