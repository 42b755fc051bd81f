"""Consent rows past their retention period are dropped by the periodic sweep.

Only then: the database's own trigger refuses to delete a row whose `retain_until` is ahead.
Past it is not enough either. Retention is how long a row outlives what it speaks about, not a
lifetime: a voice's consent rows stay as long as the voice does and, once it is deleted, until
its `voice_deleted` row (voxhub.safety.consent.note_voice_deleted) is past its own date too;
the holder's latest standing row stays as long as it is the latest (dropping a given one would
withdraw it without a word; dropping a withdrawal could bring an older given row back into
force). A spoken consent's recording goes with its row.
"""

from __future__ import annotations

from sqlalchemy import and_, delete, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from voxhub.core.clock import utcnow
from voxhub.safety.consent_models import StandingConsent, VoiceConsent
from voxhub.storage.base import BlobStore
from voxhub.storage.outbox import drain, enqueue
from voxhub.voices.models import Voice


async def purge_expired_consents(
    sessions: async_sessionmaker[AsyncSession], blobs: BlobStore
) -> dict[str, int]:
    """Delete consent rows whose retention has ended and that nothing still stands on, and
    their recordings; returns how many rows per table."""
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
    sibling = aliased(VoiceConsent)
    # Any row of the voice still in its period (its deletion's, most often) keeps them all.
    voice_kept = exists(
        select(sibling.id).where(
            sibling.voice_id == VoiceConsent.voice_id, sibling.retain_until > now
        )
    )
    due = (VoiceConsent.retain_until <= now) & voice_gone & ~voice_kept
    removed: dict[str, int] = {}
    async with sessions() as session:
        recordings = [
            key
            for key in await session.scalars(select(VoiceConsent.consent_audio_key).where(due))
            if key
        ]
        voice_rows = await session.execute(
            delete(VoiceConsent).where(due).execution_options(synchronize_session=False)
        )
        standing_rows = await session.execute(
            delete(StandingConsent)
            .where(StandingConsent.retain_until <= now, superseded)
            .execution_options(synchronize_session=False)
        )
        # Promised with the rows' deletion: the store may fail, the promise is kept anyway.
        promises = [enqueue(session, key, "consent_expired").id for key in recordings]
        await session.commit()
    await drain(sessions, blobs, promises)
    removed[VoiceConsent.__tablename__] = _count(voice_rows)
    removed[StandingConsent.__tablename__] = _count(standing_rows)
    return removed


def _count(result: object) -> int:
    return int(getattr(result, "rowcount", 0) or 0)
