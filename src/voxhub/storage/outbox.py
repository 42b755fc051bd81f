"""The blob outbox: a blob removal is promised in the transaction that makes the blobs unwanted.

A voice's rows and the promise to remove its recordings commit together, so a blob store that
fails after the commit cannot leave a real person's voice behind: the promise stays until a
drain carries it out. `drain` runs right after the commit and again from the periodic sweep.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from voxhub.core.clock import utcnow
from voxhub.core.ids import new_id
from voxhub.storage.base import BlobStore
from voxhub.storage.keys import validate_key, validate_prefix
from voxhub.storage.models import BlobDeletion

log = logging.getLogger(__name__)

FIRST_RETRY = timedelta(seconds=30)
LAST_RETRY = timedelta(hours=6)
# A drainer that dies mid-removal holds its row this long; then any drainer may take it.
LEASE = timedelta(minutes=5)
_ERROR_CHARS = 1000


def enqueue(session: AsyncSession, prefix: str, reason: str) -> BlobDeletion:
    """Promise, inside the caller's transaction, to remove `prefix` (ending in '/') or one key."""
    if prefix.endswith("/"):
        validate_prefix(prefix)
    else:
        validate_key(prefix)
    row = BlobDeletion(
        id=new_id(), prefix=prefix, reason=reason, attempts=0, next_attempt_at=utcnow()
    )
    session.add(row)
    return row


@dataclass
class DrainReport:
    done: int = 0
    failed: int = 0


async def drain(
    sessions: async_sessionmaker[AsyncSession],
    blobs: BlobStore,
    ids: Collection[str] | None = None,
    *,
    now: datetime | None = None,
    every: bool = False,
    limit: int = 1000,
) -> DrainReport:
    """Carry out due promises (only `ids`, when given; all of them with `every`). Never raises:
    a failure is recorded on its row, with a later attempt time, for the next drain."""
    now = now or utcnow()
    report = DrainReport()
    try:
        pending = await _pending(sessions, ids, now, every, limit)
    except Exception:
        log.exception("could not read the blob outbox")
        return report
    for row_id in pending:
        try:
            ok = await _drain_one(sessions, blobs, row_id, now, every)
        except Exception:  # the database failed, not the store: the lease expires, others retry
            log.exception("blob outbox row %s could not be updated", row_id)
            ok = False
        if ok:
            report.done += 1
        elif ok is not None:
            report.failed += 1
    return report


async def discard(blobs: BlobStore, keys: Iterable[str]) -> None:
    """Best-effort removal of blobs whose rows never committed; never raises, since the caller
    is already handling the failure that matters. What stays is removed by the orphan sweep."""
    for key in keys:
        try:
            await blobs.delete(key)
        except Exception:
            log.warning("blob %s left for the orphan sweep", key, exc_info=True)


async def _pending(
    sessions: async_sessionmaker[AsyncSession],
    ids: Collection[str] | None,
    now: datetime,
    every: bool,
    limit: int,
) -> list[str]:
    stmt = select(BlobDeletion.id).order_by(BlobDeletion.next_attempt_at).limit(limit)
    if not every:
        stmt = stmt.where(BlobDeletion.next_attempt_at <= now)
    if ids is not None:
        stmt = stmt.where(BlobDeletion.id.in_(list(ids)))
    async with sessions() as session:
        return list(await session.scalars(stmt))


async def _drain_one(
    sessions: async_sessionmaker[AsyncSession],
    blobs: BlobStore,
    row_id: str,
    now: datetime,
    every: bool,
) -> bool | None:
    """True when done, False when the store failed, None when another drainer holds the row."""
    async with sessions() as session:
        claim = (
            update(BlobDeletion)
            .where(BlobDeletion.id == row_id)
            .values(attempts=BlobDeletion.attempts + 1, next_attempt_at=now + LEASE)
        )
        if not every:
            claim = claim.where(BlobDeletion.next_attempt_at <= now)
        claimed = await session.execute(claim)
        row = await session.get(BlobDeletion, row_id) if getattr(claimed, "rowcount", 0) else None
        await session.commit()
    if row is None:
        return None
    try:
        if row.prefix.endswith("/"):
            await blobs.delete_prefix(row.prefix)
        else:
            await blobs.delete(row.prefix)
    except Exception as exc:
        log.warning("removing %s failed (attempt %d)", row.prefix, row.attempts, exc_info=True)
        async with sessions() as session:
            await session.execute(
                update(BlobDeletion)
                .where(BlobDeletion.id == row_id)
                .values(
                    last_error=f"{type(exc).__name__}: {exc}"[:_ERROR_CHARS],
                    next_attempt_at=now + _backoff(row.attempts),
                    updated_at=utcnow(),
                )
            )
            await session.commit()
        return False
    async with sessions() as session:
        await session.execute(delete(BlobDeletion).where(BlobDeletion.id == row_id))
        await session.commit()
    return True


def _backoff(attempts: int) -> timedelta:
    # Capped before multiplying: 2**attempts of a row failing for months would overflow.
    return min(FIRST_RETRY * 2 ** min(max(attempts - 1, 0), 16), LAST_RETRY)
