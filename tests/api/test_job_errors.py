"""What a failed job tells its owner: our own words, never an exception's internals."""

from __future__ import annotations

import asyncio
from typing import Any

from voxhub.jobs.executor import Executor, JobContext
from voxhub.jobs.models import Job
from voxhub.jobs.queue import InProcessQueue

INTERNALS = "could not open /var/lib/voxhub/secret.key: errno 13 (SELECT * FROM users)"


async def _run_failing(container, user_a, max_attempts: int) -> Job:
    async def explode(ctx: JobContext) -> dict[str, Any]:
        raise OSError(INTERNALS)

    settings = container.settings.jobs.model_copy(update={"job_retry_delay_s": 0.01})
    executor = Executor(container.sessions, {"test.explode": explode}, settings, "test-worker")
    runner = InProcessQueue(container.sessions, settings, executor)
    async with container.sessions() as s:
        job = Job(owner_id=user_a.id, kind="test.explode", payload={}, max_attempts=max_attempts)
        s.add(job)
        await s.commit()
        job_id = job.id
    await runner.start()
    try:
        await runner.submit(job_id)
        async with asyncio.timeout(30):
            await runner.wait_idle()
    finally:
        await runner.stop()
    async with container.sessions() as s:
        found = await s.get(Job, job_id)
        assert found is not None
        return found


async def test_unexpected_failure_text_stays_in_the_log(container, user_a, caplog) -> None:
    job = await _run_failing(container, user_a, max_attempts=1)
    assert job.status == "dead"
    assert job.error is not None and job.error["code"] == "job_failed"
    assert INTERNALS not in str(job.error)
    assert INTERNALS in caplog.text


async def test_retry_message_hides_the_failure_text(container, user_a) -> None:
    job = await _run_failing(container, user_a, max_attempts=2)
    assert job.status == "dead" and job.attempts == 2
    assert INTERNALS not in str(job.error)
