"""A plan's text spoken piece by piece, with the silence its `<break>` tags ask for between."""

from __future__ import annotations

from collections.abc import AsyncIterator

import numpy as np

from voxhub.engines.base import AudioChunk, Engine, SynthesisParams, VoiceProfile
from voxhub.text.breaks import split_breaks


async def spoken_chunks(
    engine: Engine, text: str, profile: VoiceProfile, params: SynthesisParams
) -> AsyncIterator[AudioChunk]:
    """The engine's chunks for each piece of `text`, and a silent chunk for each pause.

    Text without breaks is one engine call, as before. Closing this closes the engine's
    generator too, so a client that hangs up stops the engine at once.
    """
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
