"""Which engine speaks a request: the one it names, else the voice's own, else the default;
while that engine is down, the next one the settings name for it where the voice has a profile
(a named engine is never swapped for another), else 503 at once with Retry-After."""

from __future__ import annotations

import math
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from voxhub.core.errors import EngineUnavailable
from voxhub.engines.base import Engine
from voxhub.engines.registry import EngineRegistry
from voxhub.voices.models import Voice, VoiceProfileRow


def chosen_engine(engines: EngineRegistry, voice: Voice, requested: str | None) -> Engine:
    """The engine a request for `voice` names or implies, up or down (EngineNotFound when it
    is not enabled)."""
    return engines.get(requested or voice.engine or engines.default)


async def route(
    engines: EngineRegistry,
    session: AsyncSession,
    voice: Voice,
    requested: str | None,
    fits: Callable[[Engine], bool] = lambda _: True,
) -> Engine:
    """The engine to speak `voice` with now, refusing fast (EngineUnavailable) when it is down
    and no other may stand in: one that is up, holds a profile of the voice and `fits` the
    request (takes its language and any phonemes; an outage is not the request's fault)."""
    engine = chosen_engine(engines, voice, requested)
    name = engine.info.name
    down_for = engines.health.down_for(name)
    if not down_for:
        return engine
    if requested is None:
        profiled = set(
            await session.scalars(
                select(VoiceProfileRow.engine).where(VoiceProfileRow.voice_id == voice.id)
            )
        )
        for other in engines.failover.get(name, []):
            if (
                other in profiled
                and other in engines.names()
                and not engines.health.down_for(other)
                and fits(engines.get(other))
            ):
                return engines.get(other)
    raise EngineUnavailable(
        f"engine {name} is not answering; try again in {math.ceil(down_for)} s",
        engine=name,
        retry_after=math.ceil(down_for),
    )
