"""Structured logs: JSON lines that name the job (inside its handler, its tasks, the executor)
and the HTTP request they were logged for."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from voxhub.container import Container
from voxhub.jobs.executor import JobContext
from voxhub.jobs.service import new_job
from voxhub.observability.http import RequestContextMiddleware
from voxhub.observability.logs import configure_logging
from voxhub.settings import Settings

log = logging.getLogger("voxhub.tests.observability")


@pytest.fixture
def json_lines() -> Iterator[io.StringIO]:
    """Root logging as `voxhub serve` sets it up with VOXHUB_LOG_FORMAT=json, into a buffer."""
    root = logging.getLogger()
    level = root.level
    out = io.StringIO()
    handler = configure_logging("INFO", "json", stream=out)
    yield out
    root.removeHandler(handler)
    root.setLevel(level)


def records(out: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.getvalue().splitlines()]


async def test_records_inside_a_handler_carry_its_job_id(
    container: Container, user_a: Any, json_lines: io.StringIO
) -> None:
    async def chatty(ctx: JobContext) -> dict[str, Any]:
        log.info("inside the handler", extra={"step": "one"})

        async def helper() -> None:
            log.info("inside a task the handler started")

        await asyncio.create_task(helper())
        return {}

    async def explode(ctx: JobContext) -> dict[str, Any]:
        raise RuntimeError("boom")

    handlers = container.jobs.executor.handlers  # type: ignore[attr-defined]
    handlers["test.chatty"], handlers["test.explode"] = chatty, explode
    async with container.sessions() as s:
        chatty_job = await new_job(s, "test.chatty", {}, user_a.id)
        failing_job = await new_job(s, "test.explode", {}, user_a.id, max_attempts=1)
        await s.commit()
    await container.jobs.submit(chatty_job.id)
    await container.jobs.submit(failing_job.id)
    async with asyncio.timeout(30):
        await container.jobs.wait_idle()
    log.info("after the jobs")

    by_message = {r["message"]: r for r in records(json_lines)}
    inside = by_message["inside the handler"]
    assert inside["job_id"] == chatty_job.id
    assert inside["level"] == "INFO" and inside["logger"] == log.name
    assert inside["step"] == "one"  # extra= fields are kept
    assert by_message["inside a task the handler started"]["job_id"] == chatty_job.id
    # The executor's own record of the failure names the job, with its traceback.
    failure = next(r for r in records(json_lines) if r["logger"] == "voxhub.jobs.executor")
    assert failure["job_id"] == failing_job.id
    assert "RuntimeError: boom" in failure["exc_info"]
    # Outside any job, no job id.
    assert "job_id" not in by_message["after the jobs"]


async def test_records_inside_a_request_carry_its_request_id(json_lines: io.StringIO) -> None:
    async def endpoint(request: Request) -> PlainTextResponse:
        log.warning("serving")
        return PlainTextResponse("ok")

    app = RequestContextMiddleware(Starlette(routes=[Route("/thing", endpoint)]))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        r = await http.get("/thing", headers={"X-Request-ID": "req-7"})
        other = await http.get("/thing")
    assert r.headers["x-request-id"] == "req-7"
    serving = [rec for rec in records(json_lines) if rec["message"] == "serving"]
    assert [rec["request_id"] for rec in serving] == ["req-7", other.headers["x-request-id"]]
    assert all("job_id" not in rec for rec in serving)


def test_text_format_names_the_job_and_calling_again_replaces_the_handler() -> None:
    root = logging.getLogger()
    level, before = root.level, list(root.handlers)
    out = io.StringIO()
    try:
        configure_logging("INFO", "json", stream=io.StringIO())
        configure_logging("INFO", "text", stream=out)
        assert len(root.handlers) == len(before) + 1  # replaced, not added
        log.info("plain", extra={"job_id": "j-1"})
    finally:
        for h in [h for h in root.handlers if h not in before]:
            root.removeHandler(h)
        root.setLevel(level)
    line = out.getvalue().strip()
    assert line.endswith("voxhub.tests.observability [job_id=j-1]: plain"), line


def test_the_log_format_is_a_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VOXHUB_LOG_FORMAT", "json")
    assert Settings().log_format == "json"
    monkeypatch.setenv("VOXHUB_LOG_FORMAT", "yaml")
    with pytest.raises(ValueError, match="log_format"):
        Settings()
