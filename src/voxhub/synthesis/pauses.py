"""A plan's text spoken piece by piece, with the silence its `<break>` tags ask for between."""

from __future__ import annotations

from collections.abc import AsyncIterator

import numpy as np

from voxhub.core.errors import EngineTimeout, EngineUnavailable
from voxhub.engines.base import AudioChunk, Engine, SynthesisParams, VoiceProfile
from voxhub.engines.health import EngineHealth
from voxhub.text.breaks import split_breaks


async def spoken_chunks(
    engine: Engine,
    text: str,
    profile: VoiceProfile,
    params: SynthesisParams,
    health: EngineHealth | None = None,
) -> AsyncIterator[AudioChunk]:
    """The engine's chunks for each piece of `text`, and a silent chunk for each pause.

    Text without breaks is one engine call, as before. Closing this closes the engine's
    generator too, so a client that hangs up stops the engine at once. A provider that cannot
    answer (unavailable, rate limited, timed out) has its engine noted down in `health`, so
    requests after this one fail fast or fall over instead of waiting on it too.
    """
    try:
        async for chunk in _chunks(engine, text, profile, params):
            yield chunk
    except (EngineUnavailable, EngineTimeout) as exc:
        # Only a provider's outage or rate limit marks its engine down: "no worker took the
        # request" is a busy moment of voxhub's own, which the next request may not meet.
        if health is not None and "provider" in exc.extra:
            told = exc.extra.get("provider_retry_after")
            health.mark_down(engine.info.name, None if told is None else float(told))
        raise


async def _chunks(
    engine: Engine, text: str, profile: VoiceProfile, params: SynthesisParams
) -> AsyncIterator[AudioChunk]:
    rate = engine.info.sample_rate
    for piece, pause in split_breaks(text):
        if piece.strip():
            chunks = engine.synthesize(piece, profile, params)
            try:
                async for chunk in chunks:
                    yield chunk
            finally:  # the port types an AsyncIterator; the engines' generators can be closed
                close = getattr(chunks, "aclose", None)
                if close is not None:
                    await close()
        if pause > 0:
            yield AudioChunk(np.zeros(round(pause * rate), dtype=np.float32), rate)
