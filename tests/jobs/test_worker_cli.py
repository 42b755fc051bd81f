"""`voxhub worker` as a process: probes, metrics, a job, and a clean exit on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import truncate_all
from tests.jobs.test_redis_queue import REDIS_URL, new_job, queue_name, row
from voxhub.db.migrate import upgrade_to_head
from voxhub.db.session import create_engine, create_sessionmaker
from voxhub.jobs.models import JobStatus
from voxhub.jobs.redis_queue import RedisQueue
from voxhub.settings import JobSettings

VOXHUB = Path(sys.executable).parent / "voxhub"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def worker_env(tmp_path: Path, database_url: str, queue_name: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VOXHUB_")}
    return env | {
        "VOXHUB_ENV": "test",
        "VOXHUB_HOME": str(tmp_path / "home"),
        "VOXHUB_DATABASE_URL": database_url,
        "VOXHUB_REDIS_URL": REDIS_URL,
        "VOXHUB_JOB_QUEUE_NAME": queue_name,
        "VOXHUB_JWT_SECRET": "worker-cli-test-" + "x" * 40,
        "VOXHUB_ENGINES": '["fake"]',
        "VOXHUB_DEFAULT_ENGINE": "fake",
        "VOXHUB_LOG_FORMAT": "json",
    }


@pytest.fixture
def worker_proc(
    tmp_path: Path, database_url: str, queue_name: str
) -> Iterator[tuple[subprocess.Popen[bytes], str, Path]]:
    asyncio.run(_migrate(database_url))
    port = free_port()
    log = tmp_path / "worker.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(VOXHUB), "worker", "--concurrency", "2", "--port", str(port)],
            env=worker_env(tmp_path, database_url, queue_name),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        yield proc, f"http://127.0.0.1:{port}", log
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)


async def _migrate(url: str) -> None:
    engine = create_engine(url)
    await upgrade_to_head(engine)
    await engine.dispose()
    await truncate_all(url)


def wait_ready(proc: subprocess.Popen[bytes], base: str, log: Path) -> float:
    began = time.monotonic()
    while time.monotonic() - began < 120:
        assert proc.poll() is None, log.read_text()
        try:
            if httpx.get(f"{base}/ready", timeout=2).status_code == 200:
                return time.monotonic() - began
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError("the worker was not ready in 120 s:\n" + log.read_text())


def test_worker_serves_probes_runs_a_job_and_exits_cleanly_on_sigterm(
    worker_proc: tuple[subprocess.Popen[bytes], str, Path], database_url: str, queue_name: str
) -> None:
    proc, base, log = worker_proc
    wait_ready(proc, base, log)
    health = httpx.get(f"{base}/health").json()
    assert health["status"] == "ok"
    ready = httpx.get(f"{base}/ready").json()
    assert ready["status"] == "ready" and ready["worker_id"] == health["worker_id"]
    assert {name for name, c in ready["checks"].items() if c["ok"]} == {
        "engines",
        "queue",
        "database",
        "blobs",
        "redis",
    }
    metrics = httpx.get(f"{base}/metrics")  # loopback caller: allowed without a token
    assert metrics.status_code == 200 and "voxhub_job_queue_depth" in metrics.text

    async def submit_one() -> str:
        engine = create_engine(database_url)
        sessions = create_sessionmaker(engine)
        api = RedisQueue(sessions, JobSettings(), REDIS_URL, None, queue_name=queue_name)
        try:
            job_id = await new_job(sessions)
            await api.submit(job_id)
            async with asyncio.timeout(30):
                await api.wait_idle()
            job = await row(sessions, job_id)
            # No handler for the test kind in a real worker: failed, by that worker, once.
            assert job.status == JobStatus.failed and job.attempts == 1
            assert job.error is not None and job.error["code"] == "unknown_job_kind"
            return job_id
        finally:
            await api.stop()
            await engine.dispose()

    asyncio.run(submit_one())
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(30) == 0
    text = log.read_text()
    assert f'"worker_id": "{health["worker_id"]}"' in text  # every JSON line names the worker
    assert f"worker {health['worker_id']}: stopped" in text


def test_worker_refuses_to_start_without_redis(tmp_path: Path) -> None:
    env = worker_env(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'x.db'}", "unused")
    del env["VOXHUB_REDIS_URL"]
    done = subprocess.run(
        [str(VOXHUB), "worker"], env=env, capture_output=True, timeout=60, check=False
    )
    assert done.returncode == 2
    assert b"VOXHUB_REDIS_URL" in done.stdout + done.stderr


__all__ = ["queue_name"]  # the fixture: a queue of the test's own, its keys removed afterwards
