"""Seed 004's queued-clone recordings: where they wait for their job, and the sweep that
removes the ones no job will read again.

A clone job promises its recording's removal when it ends with a voice, a refusal or its last
failed attempt; a job that is cancelled, or dies (its worker lost on the last attempt, a
timeout) may still be retried by hand, so its recording is kept for `RETRY_WINDOW` after the
job stopped, then swept. A retry after that, or one racing the sweep, fails `upload_gone`
(its hold released like any failure's); nothing else is lost. A recording with no job at all
(the process died between storing it and committing the job) goes once it is older than the
sweep's grace period.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from voxhub.core.clock import utcnow
from voxhub.jobs.models import Job, JobStatus
from voxhub.storage.base import BlobStore
from voxhub.storage.removal import remove_each

CLONE = "seed004.clone"
UPLOADS = "uploads/seed004"
# Long enough to retry a clone cancelled by mistake after a weekend; short enough that a
# recording of someone's voice is not kept for a job nobody will run.
RETRY_WINDOW = timedelta(days=7)
_ACTIVE = (JobStatus.queued, JobStatus.running)


async def _kept(sessions: async_sessionmaker[AsyncSession], now: datetime) -> set[str]:
    """The recordings a clone job may still read: queued or running, or stopped short of
    success within the retry window (a succeeded job has promised its removal already)."""
    async with sessions() as session:
        payloads = await session.scalars(
            select(Job.payload).where(
                Job.kind == CLONE,
                or_(
                    Job.status.in_(_ACTIVE),
                    (Job.status != JobStatus.succeeded) & (Job.updated_at > now - RETRY_WINDOW),
                ),
            )
        )
        return {str(p["upload_key"]) for p in payloads if p.get("upload_key")}


async def remove_abandoned_uploads(
    sessions: async_sessionmaker[AsyncSession],
    blobs: BlobStore,
    grace_s: float,
    *,
    now: datetime | None = None,
) -> tuple[int, int]:
    """Remove the queued-clone recordings older than `grace_s` that no job will read: (removed,
    failed)."""
    now = now or utcnow()
    cutoff = now - timedelta(seconds=grace_s)
    # Listed before the jobs are read: a job committed in between still protects its blob.
    old = [i.key for i in await blobs.list_info(f"{UPLOADS}/") if i.modified_at < cutoff]
    if not old:
        return 0, 0
    kept = await _kept(sessions, now)
    return await remove_each(blobs, set(old) - kept, "abandoned seed 004 upload")
