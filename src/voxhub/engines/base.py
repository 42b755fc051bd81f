"""The engine port: what every speech engine offers the rest of voxhub."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol, runtime_checkable

import numpy as np


@dataclass(frozen=True)
class EngineInfo:
    """What an engine is and can do; shown at `GET /api/v1/engines`."""

    name: str
    version: str
    sample_rate: int
    languages: tuple[str, ...]
    supports_cloning: bool
    supports_streaming: bool
    max_concurrency: int
    description: str = ""
    # Takes `SynthesisParams.lexicon` (phonemes for words, from pronunciation dictionaries).
    supports_phonemes: bool = False


@dataclass
class Reference:
    """A cleaned reference recording of one speaker (float32 mono) and its speaker embedding."""

    samples: np.ndarray
    sample_rate: int
    embedding: np.ndarray | None = None
    seed: int = 0


class ProfileStatus(StrEnum):
    instant = "instant"  # usable at once, computed during the upload request
    refining = "refining"  # a background job is improving it
    ready = "ready"  # refinement finished (or the engine needs none)
    failed = "failed"  # refinement failed; the instant profile is still used


@dataclass
class VoiceProfile:
    """An engine-specific voice description, stored as opaque bytes with a few metrics."""

    engine: str
    engine_version: str
    data: bytes
    status: ProfileStatus = ProfileStatus.ready
    metrics: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class SynthesisParams:
    """Knobs a caller may turn; validated by the API before they reach an engine."""

    speed: float = 1.0
    language: str = "en"
    seed: int = 0
    # (phrase as written in the text, its phonemes in IPA): say these phrases so. Only for
    # engines whose info says `supports_phonemes`; the API refuses it for the others.
    lexicon: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class WordTiming:
    """One word and where it sits in the chunk, in seconds from the chunk's start."""

    word: str
    start: float
    end: float


@dataclass
class AudioChunk:
    """A piece of synthesised audio (float32 mono in [-1, 1]) and the text it says."""

    samples: np.ndarray
    sample_rate: int
    text: str = ""
    words: list[WordTiming] = field(default_factory=list)

    @property
    def duration(self) -> float:
        return len(self.samples) / self.sample_rate


ProgressCallback = Callable[[float, str], None]


@runtime_checkable
class Engine(Protocol):
    """A speech engine. Blocking work must run off the event loop (threads or processes)."""

    info: EngineInfo

    async def load(self) -> None:
        """Load weights and warm up; called once at start-up of the process that runs it."""

    async def enroll(self, reference: Reference) -> VoiceProfile:
        """Compute the voice profile for a reference, quickly (it runs during the upload)."""

    def synthesize(
        self, text: str, voice: VoiceProfile, params: SynthesisParams
    ) -> AsyncIterator[AudioChunk]:
        """Speak `text` (already normalised, one or more sentences) in `voice`, chunk by chunk."""

    async def aclose(self) -> None:
        """Release what `load` took."""


@runtime_checkable
class RefiningEngine(Engine, Protocol):
    """An engine that can improve a profile in the background after the instant enrolment."""

    async def refine(
        self, reference: Reference, profile: VoiceProfile, progress: ProgressCallback
    ) -> VoiceProfile:
        """Return a better profile for `reference`, reporting progress in [0, 1]."""


@runtime_checkable
class ForgettingEngine(Engine, Protocol):
    """An engine that keeps something of a voice elsewhere (a provider's model) to delete when
    the voice is deleted. Engines without it keep nothing outside voxhub's own profile blob."""

    async def forget(self, voice: VoiceProfile) -> None:
        """Delete what `enroll` made for `voice` outside voxhub (gone already: no error)."""
