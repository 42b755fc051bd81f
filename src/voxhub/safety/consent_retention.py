"""Consent rows past their retention period are dropped by the periodic sweep.

Only then: the database's own trigger refuses to delete a row whose `retain_until` is ahead.
Past it is not enough either. Retention is how long a row outlives what it speaks about, not a
lifetime: a voice's consent rows stay as long as the voice does, and the holder's latest
standing row stays as long as it is the latest (dropping a given one would withdraw it without
a word; dropping a withdrawal could bring an older given row back into force).
"""

from __future__ import annotations

from sqlalchemy import and_, delete, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from voxhub.core.clock import utcnow
from voxhub.safety.consent_models import StandingConsent, VoiceConsent
from voxhub.voices.models import Voice


async def purge_expired_consents(sessions: async_sessionmaker[AsyncSession]) -> dict[str, int]:
    """Delete consent rows whose retention has ended and that nothing still stands on; returns
    how many per table."""
    now = utcnow()
    newer = aliased(StandingConsent)
    # A later row of the same holder, in the order `consent_standing.latest` reads them.
    superseded = exists(
        select(newer.id).where(
            newer.holder == StandingConsent.holder,
            or_(
                newer.created_at > StandingConsent.created_at,
                and_(
                    newer.created_at == StandingConsent.created_at,
                    newer.id > StandingConsent.id,
                ),
            ),
        )
    )
    voice_gone = ~exists(select(Voice.id).where(Voice.id == VoiceConsent.voice_id))
    statements = {
        VoiceConsent.__tablename__: delete(VoiceConsent).where(
            VoiceConsent.retain_until <= now, voice_gone
        ),
        StandingConsent.__tablename__: delete(StandingConsent).where(
            StandingConsent.retain_until <= now, superseded
        ),
    }
    removed: dict[str, int] = {}
    async with sessions() as session:
        for table, stmt in statements.items():
            result = await session.execute(stmt.execution_options(synchronize_session=False))
            removed[table] = int(getattr(result, "rowcount", 0) or 0)
        await session.commit()
    return removed
