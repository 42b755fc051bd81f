"""A deleted voice's models at remote providers: read before the rows go, deleted after.

Best effort: the voice is deleted in voxhub whatever the provider says (a provider that is down
must not keep a user's voice alive here); a model left behind is logged by its engine and id."""

from __future__ import annotations

import contextlib
import logging

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from voxhub.container import Container
from voxhub.core.errors import EngineNotFound
from voxhub.engines.base import ForgettingEngine, ProfileStatus, VoiceProfile
from voxhub.storage.base import BlobNotFound
from voxhub.voices.models import VoiceProfileRow

log = logging.getLogger(__name__)


async def remote_profiles(
    c: Container, session: AsyncSession, voice_id: str
) -> list[tuple[ForgettingEngine, VoiceProfile]]:
    """The voice's profiles held by enabled engines that keep something at a provider."""
    rows = (
        await session.scalars(select(VoiceProfileRow).where(VoiceProfileRow.voice_id == voice_id))
    ).all()
    found = []
    for row in rows:
        try:
            engine = c.engines.get(row.engine)
        except EngineNotFound:
            continue  # not enabled in this process: nothing to call
        if not isinstance(engine, ForgettingEngine):
            continue
        with contextlib.suppress(BlobNotFound):
            data = await c.blobs.get(row.blob_key)
            profile = VoiceProfile(row.engine, row.engine_version, data, ProfileStatus(row.status))
            found.append((engine, profile))
    return found


async def forget_remote(profiles: list[tuple[ForgettingEngine, VoiceProfile]]) -> None:
    """Ask each engine to delete its part; failures are logged, never raised."""
    for engine, profile in profiles:
        try:
            await engine.forget(profile)
        except Exception as exc:  # the deletion has committed; this is cleanup
            log.warning("engine %s kept a deleted voice's model: %s", engine.info.name, exc)
