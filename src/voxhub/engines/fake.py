"""A deterministic engine for tests of everything around an engine.

It "speaks" a harmonic tone per word whose pitch comes from the voice profile, so tests can
tell voices apart, check durations and streaming without loading a model.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
from collections.abc import AsyncIterator
from typing import Any

import numpy as np

from voxhub.engines.base import (
    AudioChunk,
    EngineInfo,
    ProfileStatus,
    Reference,
    SynthesisParams,
    VoiceProfile,
    WordTiming,
)
from voxhub.text.split import split_sentences

RATE = 24_000
WORD_SECONDS = 0.25


class FakeEngine:
    """Deterministic tones; `chunk_delay` simulates inference time for streaming tests."""

    info = EngineInfo(
        name="fake",
        version="fake-1",
        sample_rate=RATE,
        languages=("en", "es", "fr", "de"),
        supports_cloning=True,
        supports_streaming=True,
        max_concurrency=4,
        description="Deterministic test engine: a tone per word, pitch derived from the voice.",
    )

    def __init__(self, chunk_delay: float | None = None, **deps: Any) -> None:
        settings = deps.get("settings")
        if chunk_delay is None:  # built from entry points: a process started by a test
            chunk_delay = settings.engine.fake_chunk_delay_s if settings is not None else 0.0
        self.chunk_delay = chunk_delay
        self.calls = 0

    async def load(self) -> None:
        """Nothing to load."""

    async def enroll(self, reference: Reference) -> VoiceProfile:
        """The profile is a pitch derived from the reference's embedding (or its samples)."""
        basis = reference.embedding if reference.embedding is not None else reference.samples
        digest = hashlib.sha256(np.asarray(basis, np.float32).tobytes()).digest()
        pitch = 110.0 + (int.from_bytes(digest[:2], "big") % 200)
        buf = io.BytesIO()
        np.save(buf, np.array([pitch], dtype=np.float32))
        return VoiceProfile(
            engine=self.info.name,
            engine_version=self.info.version,
            data=buf.getvalue(),
            status=ProfileStatus.ready,
            metrics={"pitch_hz": pitch},
        )

    async def synthesize(
        self, text: str, voice: VoiceProfile, params: SynthesisParams
    ) -> AsyncIterator[AudioChunk]:
        """One chunk per sentence, a tone per word."""
        self.calls += 1
        pitch = float(np.load(io.BytesIO(voice.data))[0])
        for sentence in split_sentences(text):
            if self.chunk_delay:
                await asyncio.sleep(self.chunk_delay)
            yield _tone_chunk(sentence, pitch, params.speed)

    async def aclose(self) -> None:
        """Nothing to release."""


def _tone_chunk(sentence: str, pitch: float, speed: float) -> AudioChunk:
    words = sentence.split()
    step = WORD_SECONDS / speed
    n = int(step * RATE)
    t = np.arange(n, dtype=np.float32) / RATE
    envelope = np.hanning(n).astype(np.float32)
    pieces, timings = [], []
    for i, word in enumerate(words):
        f = pitch * (1.0 + 0.05 * (len(word) % 5))
        tone = 0.3 * np.sin(2 * np.pi * f * t) + 0.1 * np.sin(4 * np.pi * f * t)
        pieces.append((tone * envelope).astype(np.float32))
        timings.append(WordTiming(word=word, start=i * step, end=(i + 1) * step))
    samples = np.concatenate(pieces) if pieces else np.zeros(0, np.float32)
    return AudioChunk(samples=samples, sample_rate=RATE, text=sentence, words=timings)
