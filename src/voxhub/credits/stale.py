"""Holds nobody settled: the process that reserved them died between reserving and recording.

Kept apart from `voxhub.credits.service` (which needs the container) so the jobs' sweep can
call it.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import Select, exists, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from voxhub.core.clock import utcnow
from voxhub.credits import ledger
from voxhub.credits.models import CreditEntry, EntryKind
from voxhub.jobs.models import Job

log = logging.getLogger(__name__)
# A hold with no job that nothing settled for this long was left by a process that died while
# it rendered (a synchronous request is bounded by the text limit: minutes, never an hour).
STALE_HOLD_S = 3600.0


def open_holds(user_id: str | None = None) -> Select[CreditEntry]:
    """Hold entries that no capture or release of the same job and round followed."""
    settled = aliased(CreditEntry)
    stmt = select(CreditEntry).where(
        CreditEntry.kind == EntryKind.hold,
        ~exists().where(
            settled.job_id == CreditEntry.job_id,
            settled.round == CreditEntry.round,
            settled.kind.in_([EntryKind.capture, EntryKind.release]),
        ),
    )
    if user_id is not None:
        stmt = stmt.where(CreditEntry.user_id == user_id)
    return stmt


async def release_stale_holds(
    sessions: async_sessionmaker[AsyncSession], older_than_s: float = STALE_HOLD_S
) -> int:
    """Release holds of work with no job (synchronous speech) that nothing settled: the process
    died between reserving and recording. Returns how many were released. Run it with the
    jobs' sweep; each release is its own transaction, and a capture racing it loses or wins
    whole (`ledger.open_hold` takes the user's row first)."""
    cutoff = utcnow() - timedelta(seconds=older_than_s)
    async with sessions() as session:
        rows = (
            await session.execute(
                open_holds()
                .where(
                    CreditEntry.created_at < cutoff, ~exists().where(Job.id == CreditEntry.job_id)
                )
                .with_only_columns(CreditEntry.user_id, CreditEntry.job_id)
                .limit(500)
            )
        ).all()
    released = 0
    for user_id, op_id in rows:
        if op_id and await ledger.release_reserved(sessions, user_id, op_id, "stale hold"):
            released += 1
    if released:
        log.info("released %d stale credit holds", released)
    return released
