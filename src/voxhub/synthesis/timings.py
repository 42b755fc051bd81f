"""Word times for every generation, kept beside its audio.

Engines time the words of each chunk from that chunk's start; `WordClock` moves them onto the
whole audio's timeline as `render` and `stream_plan` pass the chunks on, so every path that
records a generation (sync, stream, job, a face's timed speech) has them without wrapping the
engine. They are stored as a JSON blob keyed by the generation's audio key
(`<blob_key>.words.json`) rather than in a column: no migration, no large rows read with the
history list, and the voice's deletion (a prefix under `voices/<id>/`) removes them with the
audio; the orphan sweep keeps them as long as their audio's row exists. A generation recorded
before this (or whose words could not be stored) has no blob: `TimingsNotFound`.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

from voxhub.container import Container
from voxhub.core.errors import TimingsNotFound
from voxhub.engines.base import AudioChunk
from voxhub.storage.base import BlobNotFound
from voxhub.synthesis.alignment import Timed
from voxhub.synthesis.models import Generation

WORDS_SUFFIX = ".words.json"
# Word lists past this many entries are encoded and decoded in a thread, off the event loop.
_OFF_LOOP_WORDS = 2_000


@dataclass
class WordClock:
    """The words of the chunks seen so far, on the whole audio's timeline."""

    words: list[Timed] = field(default_factory=list)
    seconds: float = 0.0  # audio seen so far

    def note(self, chunk: AudioChunk) -> None:
        at = self.seconds
        self.words += [(w.word, at + w.start, at + w.end) for w in chunk.words]
        self.seconds += chunk.duration


@dataclass(frozen=True)
class StoredTimings:
    words: list[Timed]
    duration: float


def words_key(audio_key: str) -> str:
    """Where the words of the audio stored under `audio_key` live (same folder, so the voice's
    deletion removes both)."""
    return audio_key + WORDS_SUFFIX


def _encode(words: list[Timed], duration: float) -> bytes:
    rounded = [[w, round(s, 3), round(e, 3)] for w, s, e in words]
    return json.dumps({"words": rounded, "duration": round(duration, 3)}).encode()


def _decode(body: bytes) -> StoredTimings:
    said: dict[str, Any] = json.loads(body)
    words = [(str(w), float(s), float(e)) for w, s, e in said["words"]]
    return StoredTimings(words, float(said["duration"]))


async def store_timings(c: Container, audio_key: str, words: list[Timed], duration: float) -> str:
    """Store the words of the audio under `audio_key`; returns their key."""
    if len(words) > _OFF_LOOP_WORDS:
        body = await asyncio.to_thread(_encode, words, duration)
    else:
        body = _encode(words, duration)
    key = words_key(audio_key)
    await c.blobs.put(key, body, "application/json")
    return key


async def stored_timings(c: Container, gen: Generation) -> StoredTimings | None:
    """A generation's word times, or None when it was recorded without them."""
    try:
        body = await c.blobs.get(words_key(gen.blob_key))
    except BlobNotFound:
        return None
    if len(body) > _OFF_LOOP_WORDS * 40:
        return await asyncio.to_thread(_decode, body)
    return _decode(body)


async def timings_of(c: Container, gen: Generation) -> StoredTimings:
    """A generation's word times; 404 `timings_not_found` when it was recorded without them."""
    kept = await stored_timings(c, gen)
    if kept is None:
        raise TimingsNotFound(
            f"generation {gen.id} was recorded without word timings", generation_id=gen.id
        )
    return kept
