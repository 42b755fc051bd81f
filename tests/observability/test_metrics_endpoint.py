"""/metrics: every family is exposed, values move with the work done, scrapes are cheap, and
only trusted callers read it."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr
from sqlalchemy import event
from sqlalchemy.ext.asyncio import create_async_engine

from tests.api.conftest import create_voice, make_user
from voxhub.accounts.models import Role
from voxhub.app import create_app
from voxhub.container import Container
from voxhub.db.session import create_sessionmaker
from voxhub.jobs.errors import PermanentJobError
from voxhub.jobs.executor import JobContext
from voxhub.jobs.service import new_job
from voxhub.observability import metrics

FAMILIES = {
    "voxhub_job_queue_depth",
    "voxhub_job_queue_messages",
    "voxhub_job_queue_wait_seconds",
    "voxhub_job_run_seconds",
    "voxhub_job_outcomes",
    "voxhub_job_failures",
    "voxhub_speech_time_to_first_audio_seconds",
    "voxhub_engine_real_time_factor",
    "voxhub_http_requests",
    "voxhub_http_request_duration_seconds",
}
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


async def scrape(client: httpx.AsyncClient) -> tuple[set[str], Samples]:
    r = await client.get("/metrics")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain; version=")
    names, samples = set(), {}
    for family in text_string_to_metric_families(r.text):
        names.add(family.name)
        for s in family.samples:
            samples[(s.name, frozenset(s.labels.items()))] = s.value
    return names, samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def moved(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


async def test_each_family_moves_with_a_job_a_stream_and_requests(
    client: httpx.AsyncClient, container: Container
) -> None:
    voice = await create_voice(client)
    async with asyncio.timeout(60):
        await container.jobs.wait_idle()  # the voice's refinement, if any, is done first
    _, before = await scrape(client)

    queued = await client.post(
        "/api/v1/speech",
        json={"voice_id": voice["id"], "text": "A job for the metrics.", "async": True},
    )
    assert queued.status_code == 202, queued.text
    async with asyncio.timeout(60):
        await container.jobs.wait_idle()
    job = (await client.get(f"/api/v1/jobs/{queued.json()['id']}")).json()
    assert job["status"] == "succeeded", job
    streamed = await client.post(
        "/api/v1/speech",
        json={"voice_id": voice["id"], "text": "A stream for the metrics.", "stream": True},
    )
    assert streamed.status_code == 200 and streamed.headers["x-voxhub-cache"] == "miss"

    names, after = await scrape(client)
    assert names >= FAMILIES, FAMILIES - names
    kind = {"kind": "speech.synthesize"}
    assert moved(before, after, "voxhub_job_run_seconds_count", **kind) == 1
    assert moved(before, after, "voxhub_job_queue_wait_seconds_count", **kind) == 1
    assert moved(before, after, "voxhub_job_outcomes_total", outcome="succeeded", **kind) == 1
    assert moved(before, after, "voxhub_job_run_seconds_sum", **kind) > 0
    fake = {"engine": "fake"}
    assert moved(before, after, "voxhub_speech_time_to_first_audio_seconds_count", **fake) == 1
    # One factor for the job's rendering, one for the stream's.
    assert moved(before, after, "voxhub_engine_real_time_factor_count", **fake) == 2
    # Requests by route template: the job read counts under its template, never its id.
    route = {"method": "GET", "route": "/api/v1/jobs/{job_id}", "status": "200"}
    assert moved(before, after, "voxhub_http_requests_total", **route) == 1
    stream = {"method": "POST", "route": "/api/v1/speech", "status": "200"}
    assert moved(before, after, "voxhub_http_requests_total", **stream) == 1
    assert moved(before, after, "voxhub_http_requests_total", **(stream | {"status": "202"})) == 1
    labels = {v for _, ls in after for _, v in ls}
    assert not any(job["id"] in v or voice["id"] in v for v in labels)
    # The queue is empty again: each kind shows 0, not a missing series.
    assert value(after, "voxhub_job_queue_depth", status="queued", **kind) == 0


async def test_unmatched_paths_share_one_label(
    client: httpx.AsyncClient, container: Container
) -> None:
    _, before = await scrape(client)
    for n in range(3):
        assert (await client.get(f"/no/such/path/{n}")).status_code == 404
    _, after = await scrape(client)
    unmatched = {"method": "GET", "route": "unmatched", "status": "404"}
    assert moved(before, after, "voxhub_http_requests_total", **unmatched) == 3
    assert not any("/no/such" in v for _, ls in after for _, v in ls)


async def test_failures_count_by_code_and_outcome(
    client: httpx.AsyncClient, container: Container, user_a: Any
) -> None:
    async def refuse(ctx: JobContext) -> dict[str, Any]:
        raise PermanentJobError("voice_gone", "the voice was deleted")

    async def explode(ctx: JobContext) -> dict[str, Any]:
        raise RuntimeError("boom")

    handlers = container.jobs.executor.handlers  # type: ignore[attr-defined]
    handlers["test.refuse"], handlers["test.explode"] = refuse, explode
    _, before = await scrape(client)
    async with container.sessions() as s:
        jobs = [
            await new_job(s, "test.refuse", {}, user_a.id),
            await new_job(s, "test.explode", {}, user_a.id, max_attempts=1),
        ]
        await s.commit()
    for job in jobs:
        await container.jobs.submit(job.id)
    async with asyncio.timeout(30):
        await container.jobs.wait_idle()
    _, after = await scrape(client)
    refuse_kind, explode_kind = {"kind": "test.refuse"}, {"kind": "test.explode"}
    assert moved(before, after, "voxhub_job_failures_total", code="voice_gone", **refuse_kind) == 1
    assert moved(before, after, "voxhub_job_outcomes_total", outcome="failed", **refuse_kind) == 1
    assert moved(before, after, "voxhub_job_failures_total", code="job_failed", **explode_kind) == 1
    assert moved(before, after, "voxhub_job_outcomes_total", outcome="dead", **explode_kind) == 1
    assert moved(before, after, "voxhub_job_run_seconds_count", **explode_kind) == 1


async def test_queue_depth_is_read_once_per_interval(
    client: httpx.AsyncClient, container: Container, user_a: Any
) -> None:
    async with container.sessions() as s:
        for _ in range(3):  # queued rows nobody handed to the runner
            await new_job(s, "test.waiting", {}, user_a.id)
        await s.commit()
    queries: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if "FROM jobs" in statement and "GROUP BY" in statement:
            queries.append(statement)

    event.listen(container.db.sync_engine, "before_cursor_execute", note)
    try:
        _, first = await scrape(client)
        for _ in range(4):
            await scrape(client)
        assert len(queries) == 1  # five scrapes inside the interval: one reading
        waiting = {"kind": "test.waiting", "status": "queued"}
        assert value(first, "voxhub_job_queue_depth", **waiting) == 3
        async with container.sessions() as s:
            await new_job(s, "test.waiting", {}, user_a.id)
            await s.commit()
        _, cached = await scrape(client)
        assert value(cached, "voxhub_job_queue_depth", **waiting) == 3
        await metrics.refresh_queue_depth(container, ttl_s=0)  # the interval has passed
        _, fresh = await scrape(client)
        assert value(fresh, "voxhub_job_queue_depth", **waiting) == 4
        assert len(queries) == 2
    finally:
        event.remove(container.db.sync_engine, "before_cursor_execute", note)


def remote_client(container: Container, headers: dict[str, str] | None = None) -> httpx.AsyncClient:
    """A caller from another machine (the ASGI transport's peer address)."""
    transport = httpx.ASGITransport(
        app=create_app(container=container), client=("203.0.113.7", 5000)
    )
    return httpx.AsyncClient(transport=transport, base_url="http://test", headers=headers or {})


async def test_who_may_read_metrics_without_a_token(
    anon: httpx.AsyncClient, container: Container, user_a: Any
) -> None:
    admin = await make_user(container, "root@example.com", Role.admin)
    # This machine, directly: allowed (Prometheus beside voxhub).
    assert (await anon.get("/metrics")).status_code == 200
    # Relayed by a proxy on this machine: not local.
    relayed = await anon.get("/metrics", headers={"X-Forwarded-For": "198.51.100.1"})
    assert relayed.status_code == 401
    assert relayed.headers["content-type"] == "application/problem+json"
    async with remote_client(container) as remote:
        assert (await remote.get("/metrics")).status_code == 401
        user = await remote.get("/metrics", headers=user_a.headers)
        assert user.status_code == 403 and user.json()["code"] == "forbidden"
        ok = await remote.get("/metrics", headers=admin.headers)
        assert ok.status_code == 200 and "voxhub_http_requests_total" in ok.text
        assert admin.api_key not in ok.text


async def test_a_metrics_token_is_required_once_set(
    anon: httpx.AsyncClient, container: Container
) -> None:
    container.settings.metrics_token = SecretStr("scrape-me-" + "x" * 24)
    async with remote_client(container) as remote:
        good = await remote.get(
            "/metrics", headers={"Authorization": f"Bearer scrape-me-{'x' * 24}"}
        )
        assert good.status_code == 200
        assert "scrape-me" not in good.text
        wrong = await remote.get("/metrics", headers={"Authorization": "Bearer scrape-me-nope"})
        assert wrong.status_code == 401
    # With a token set, loopback is no longer enough.
    assert (await anon.get("/metrics")).status_code == 401


async def test_metrics_and_ready_stay_out_of_the_api_schema(container: Container) -> None:
    paths = create_app(container=container).openapi()["paths"]
    assert "/metrics" not in paths and "/ready" not in paths


async def test_requests_carry_an_id(client: httpx.AsyncClient, container: Container) -> None:
    given = await client.get("/health", headers={"X-Request-ID": "trace-42.a"})
    assert given.headers["x-request-id"] == "trace-42.a"
    made = await client.get("/health", headers={"X-Request-ID": "x" * 65})
    assert len(made.headers["x-request-id"]) == 32 and made.headers["x-request-id"] != "x" * 32


async def test_wait_is_measured_from_enqueue_and_run_time_from_the_claim(
    client: httpx.AsyncClient, container: Container, user_a: Any
) -> None:
    async def slow(ctx: JobContext) -> dict[str, Any]:
        await asyncio.sleep(0.3)
        return {}

    container.jobs.executor.handlers["test.slow"] = slow  # type: ignore[attr-defined]
    async with container.sessions() as s:
        job = await new_job(s, "test.slow", {}, user_a.id)
        job.enqueued_at = job.enqueued_at - timedelta(seconds=5)  # handed to the queue 5 s ago
        await s.commit()
    _, before = await scrape(client)
    await container.jobs.submit(job.id)
    async with asyncio.timeout(30):
        await container.jobs.wait_idle()
    _, after = await scrape(client)
    kind = {"kind": "test.slow"}
    assert 5 <= moved(before, after, "voxhub_job_queue_wait_seconds_sum", **kind) < 10
    assert 0.3 <= moved(before, after, "voxhub_job_run_seconds_sum", **kind) < 5
    # The histogram's buckets place it: not within 1 s, within 10 s.
    assert moved(before, after, "voxhub_job_queue_wait_seconds_bucket", le="1.0", **kind) == 0
    assert moved(before, after, "voxhub_job_queue_wait_seconds_bucket", le="10.0", **kind) == 1


async def test_metrics_answer_while_the_database_does_not(
    anon: httpx.AsyncClient, container: Container, tmp_path: Path
) -> None:
    (tmp_path / "a-file").write_bytes(b"")
    bad = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'a-file' / 'x.db'}")
    broken = dataclasses.replace(container, db=bad, sessions=create_sessionmaker(bad))
    transport = httpx.ASGITransport(app=create_app(container=broken))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            r = await http.get("/metrics")
        assert r.status_code == 200 and "voxhub_http_requests_total" in r.text
    finally:
        await bad.dispose()
