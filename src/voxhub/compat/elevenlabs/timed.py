"""Speech with its word times kept, over voxhub's own speech service.

`voxhub.synthesis` renders, prices, caches and streams; its loop keeps the samples and drops
the engine's word times. So the plan's engine is wrapped in a `Tap` that passes every chunk on
unchanged and notes its words on the audio's timeline: the service's own `render`,
`paid_stream`, credit hold and recording run as they do for every face. The words are stored
beside the generation's audio (a JSON blob under the voice's folder, removed with the voice),
so a cache hit answers with the same times; a hit stored without them is rendered afresh.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

from voxhub.audio.encode import FORMATS
from voxhub.compat.elevenlabs.alignment import Timed
from voxhub.container import Container
from voxhub.engines.base import AudioChunk, Engine, Reference, SynthesisParams, VoiceProfile
from voxhub.synthesis.models import Generation
from voxhub.synthesis.service import SpeechPlan

log = logging.getLogger(__name__)


class Tap:
    """An engine that is `engine`, noting each chunk's words as it passes."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.info = engine.info
        self.words: list[Timed] = []
        self.seconds = 0.0  # audio passed so far

    async def load(self) -> None:
        """Loaded with the engine it wraps."""

    async def enroll(self, reference: Reference) -> VoiceProfile:
        """The wrapped engine's enrolment."""
        return await self.engine.enroll(reference)

    async def synthesize(
        self, text: str, voice: VoiceProfile, params: SynthesisParams
    ) -> AsyncIterator[AudioChunk]:
        """The wrapped engine's chunks, their words moved onto the whole audio's timeline."""
        chunks = self.engine.synthesize(text, voice, params)
        try:
            async for chunk in chunks:
                at = self.seconds
                self.words += [(w.word, at + w.start, at + w.end) for w in chunk.words]
                self.seconds += chunk.duration
                yield chunk
        finally:  # a stream cut short stops the engine now (as `stream_plan` does)
            close = getattr(chunks, "aclose", None)
            if close is not None:
                await close()

    async def aclose(self) -> None:
        """The wrapped engine stays open: it belongs to the registry."""


def tap(plan: SpeechPlan) -> Tap:
    """Wrap the plan's engine (before it renders) and return the tap."""
    tapped = Tap(plan.engine)
    plan.engine = tapped
    return tapped


@dataclass(frozen=True)
class StoredWords:
    words: list[Timed]
    duration: float


def _words_key(voice_id: str, gen_id: str, fmt: str) -> str:
    # Beside the audio `record` stores, so the voice's deletion removes it with the rest.
    return f"voices/{voice_id}/generations/{gen_id}.{FORMATS[fmt].extension}.words.json"


async def store_words(c: Container, plan: SpeechPlan, words: list[Timed], seconds: float) -> None:
    """Keep a generation's word times for its cache hits; a failure only costs a re-render."""
    body = json.dumps({"words": words, "duration": round(seconds, 3)}).encode()
    try:
        await c.blobs.put(
            _words_key(plan.voice_id, plan.generation_id, plan.format), body, "application/json"
        )
    except Exception:
        log.exception("could not store the word times of generation %s", plan.generation_id)


async def stored_words(c: Container, gen: Generation) -> StoredWords | None:
    """A cached generation's word times, or None when it was stored without them."""
    key = _words_key(gen.voice_id, gen.id, gen.format)
    if not await c.blobs.exists(key):
        return None
    said = json.loads(await c.blobs.get(key))
    words = [(str(w), float(s), float(e)) for w, s, e in said["words"]]
    return StoredWords(words, float(said["duration"]))
