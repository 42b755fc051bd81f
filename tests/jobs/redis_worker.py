"""A bare job worker in a process of its own, for tests that SIGKILL one: a RedisQueue and an
Executor over the test's database, and one job kind, `test.echo`, that notes its start in a
file and then runs until the process dies.

    python -m tests.jobs.redis_worker DATABASE_URL QUEUE_NAME LEASE_S MARKER_FILE
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

from voxhub.db.session import create_engine, create_sessionmaker
from voxhub.jobs.executor import Executor, JobContext
from voxhub.jobs.redis_queue import RedisQueue
from voxhub.settings import JobSettings

REDIS_URL = "redis://127.0.0.1:6379/0"


async def main(database_url: str, queue_name: str, lease_s: float, marker: Path) -> None:
    engine = create_engine(database_url)
    sessions = create_sessionmaker(engine)
    # No sweep: what brings the job back after the kill is streaq's redelivery alone.
    settings = JobSettings(job_lease_s=lease_s, job_sweep_interval_s=3600)
    worker_id = f"doomed-{Path(marker).stem}"

    async def block(ctx: JobContext) -> dict[str, Any]:
        with marker.open("a") as f:
            f.write(f"{ctx.job_id} {ctx.worker_id}\n")
        await asyncio.Event().wait()
        return {}

    executor = Executor(sessions, {"test.echo": block}, settings, worker_id)
    queue = RedisQueue(sessions, settings, REDIS_URL, executor, queue_name=queue_name)
    await queue.start()
    await asyncio.Event().wait()


if __name__ == "__main__":
    url, name, lease, path = sys.argv[1:5]
    asyncio.run(main(url, name, float(lease), Path(path)))
