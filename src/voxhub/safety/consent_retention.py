"""Consent rows past their retention period are dropped by the periodic sweep.

Only then: the database's own trigger refuses to delete a row whose `retain_until` is ahead.
"""

from __future__ import annotations

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from voxhub.core.clock import utcnow
from voxhub.safety.consent_models import StandingConsent, VoiceConsent


async def purge_expired_consents(sessions: async_sessionmaker[AsyncSession]) -> dict[str, int]:
    """Delete consent rows whose retention has ended; returns how many per table."""
    now = utcnow()
    removed: dict[str, int] = {}
    async with sessions() as session:
        for model in (VoiceConsent, StandingConsent):
            result = await session.execute(delete(model).where(model.retain_until <= now))
            removed[model.__tablename__] = int(getattr(result, "rowcount", 0) or 0)
        await session.commit()
    return removed
