"""The sweep removes seed 004 clone recordings no job will read again, and keeps the rest
(SQLite and PostgreSQL, real local blob store)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.storage.test_sweep import age, sessions
from voxhub.compat.seed004_uploads import CLONE, RETRY_WINDOW, UPLOADS, remove_abandoned_uploads
from voxhub.core.clock import utcnow
from voxhub.jobs.models import Job, JobStatus
from voxhub.storage.local import LocalBlobStore
from voxhub.storage.sweep import run_sweep

Sessions = async_sessionmaker[AsyncSession]
__all__ = ["sessions"]  # the fixture (tests/storage/test_sweep.py)


async def clone_job(sessions: Sessions, status: JobStatus, key: str, *, stopped_ago: timedelta):
    async with sessions() as session:
        job = Job(kind=CLONE, status=status, payload={"upload_key": key})
        session.add(job)
        await session.flush()
        job.updated_at = utcnow() - stopped_ago
        await session.commit()


async def test_a_recording_stays_while_its_job_may_run_and_goes_after(
    sessions: Sessions, tmp_path: Path
) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    week = RETRY_WINDOW
    keys = {
        name: f"{UPLOADS}/{name}"
        for name in (
            "queued",
            "running",
            "cancelled_today",
            "cancelled_long_ago",
            "dead_long_ago",
            "no_job",
            "young_no_job",
        )
    }
    await clone_job(sessions, JobStatus.queued, keys["queued"], stopped_ago=2 * week)
    await clone_job(sessions, JobStatus.running, keys["running"], stopped_ago=2 * week)
    await clone_job(
        sessions, JobStatus.cancelled, keys["cancelled_today"], stopped_ago=timedelta(hours=1)
    )
    await clone_job(
        sessions,
        JobStatus.cancelled,
        keys["cancelled_long_ago"],
        stopped_ago=week + timedelta(hours=1),
    )
    await clone_job(sessions, JobStatus.dead, keys["dead_long_ago"], stopped_ago=2 * week)
    outside = "voices-elsewhere/x.bin"
    for key in [*keys.values(), outside]:
        await store.put(key, b"recording")
        if key != keys["young_no_job"]:
            age(store, key)

    assert await remove_abandoned_uploads(sessions, store, grace_s=3600) == (3, 0)
    assert await store.list() == sorted(
        [keys["queued"], keys["running"], keys["cancelled_today"], keys["young_no_job"], outside]
    )
    # The whole sweep includes it, and reports it apart from the voice tables' orphans.
    later = utcnow() + timedelta(hours=2)
    report = await run_sweep(sessions, store, 3600, now=later)
    assert (report.uploads_removed, report.orphans_removed) == (1, 0)
    assert await store.list() == sorted(
        [keys["queued"], keys["running"], keys["cancelled_today"], outside]
    )
