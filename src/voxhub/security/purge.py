"""Forget what has expired: idempotency keys past their TTL, signatures past their window."""

from __future__ import annotations

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from voxhub.core.clock import utcnow
from voxhub.security.idempotency_models import IdempotencyRecord
from voxhub.security.signature_models import UsedSignature


async def purge_expired(sessions: async_sessionmaker[AsyncSession]) -> dict[str, int]:
    """Delete expired rows; returns how many per table."""
    now = utcnow()
    removed: dict[str, int] = {}
    async with sessions() as session:
        for model in (IdempotencyRecord, UsedSignature):
            result = await session.execute(delete(model).where(model.expires_at <= now))
            removed[model.__tablename__] = int(getattr(result, "rowcount", 0) or 0)
        await session.commit()
    return removed
