"""The Engine port for one zero-shot neural model: load and warm, enrol, speak by sentence.

A subclass says how to build its model (`_build`), turn a reference into a prompt
(`_prompt`) and speak one sentence of a prompt (`_speak`); all three block and run in threads.
The model is one object on one device, so its calls are taken one at a time (a lock per
sentence: two requests interleave by sentence instead of one waiting for the other's end).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable
from typing import Any, ClassVar

import numpy as np

from voxhub.core.errors import EngineUnavailable
from voxhub.engines.base import (
    AudioChunk,
    EngineInfo,
    ProfileStatus,
    Reference,
    SynthesisParams,
    VoiceProfile,
)
from voxhub.engines.neural.common import (
    Prompt,
    check_request,
    decode_prompt,
    encode_prompt,
    reference_audio,
    seeded,
    sentences,
    stream_thread,
)
from voxhub.settings import NeuralSettings, Settings

log = logging.getLogger(__name__)

Emit = Callable[[AudioChunk], None]
WARM_TEXT = "Ready when you are."


class NeuralEngine:
    """What F5-TTS, Chatterbox and pocket-tts share behind the Engine port."""

    NAME: ClassVar[str]
    EXTRA: ClassVar[str]
    RATE: ClassVar[int]
    DESCRIPTION: ClassVar[str]

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        neural: NeuralSettings | None = None,
        runtime_factory: Callable[[], Any] | None = None,
        **deps: Any,
    ) -> None:
        # `runtime_factory` replaces `_build` (tests: a small model from the package's own
        # classes with random weights); everything after it is the same path.
        self.settings = neural or (settings.neural if settings is not None else NeuralSettings())
        self._factory = runtime_factory
        self._runtime: Any = None
        self._lock = threading.Lock()
        self.load_stats: dict[str, float] = {}
        self.info = EngineInfo(
            name=self.NAME,
            version=f"{self.NAME}/{self.model_id()}/p1",
            sample_rate=self.RATE,
            languages=self.languages(),
            supports_cloning=True,
            supports_streaming=True,
            max_concurrency=1,
            description=self.DESCRIPTION,
        )

    # ---- what a subclass provides --------------------------------------------------------------

    def model_id(self) -> str:
        """The weights this engine loads, as short as still tells two apart (profile version)."""
        raise NotImplementedError

    def languages(self) -> tuple[str, ...]:
        raise NotImplementedError

    def _build(self) -> Any:
        """Blocking: import the package, fetch the weights, build the model on its device."""
        raise NotImplementedError

    def _prompt(self, runtime: Any, samples: np.ndarray) -> Prompt:
        """Blocking: the prompt for reference speech already at `RATE`."""
        raise NotImplementedError

    def _speak(self, runtime: Any, prompt: Prompt, text: str, params: SynthesisParams, emit: Emit):
        """Blocking: speak one sentence, emitting one chunk or several."""
        raise NotImplementedError

    def _check(self, params: SynthesisParams) -> None:
        """Refuse parameters the engine cannot honour (language is checked for every engine)."""

    # ---- lifecycle ---------------------------------------------------------------------------

    async def load(self) -> None:
        """Build the model and, unless switched off, speak one phrase to warm it."""
        await asyncio.to_thread(self._load)

    def _load(self) -> None:
        t0 = time.perf_counter()
        runtime = self._factory() if self._factory is not None else self._build()
        t1 = time.perf_counter()
        with self._lock:
            self._runtime = runtime
        if self.settings.neural_warm_up:
            self._warm(runtime)
        self.load_stats = {"build_s": t1 - t0, "warm_s": time.perf_counter() - t1}
        log.info("%s ready: %s", self.NAME, {k: round(v, 2) for k, v in self.load_stats.items()})

    def _warm(self, runtime: Any) -> None:
        """One sentence in a voice made from noise: kernels, caches and allocations, once."""
        noise = np.random.default_rng(0).standard_normal(self.RATE * 3).astype(np.float32) * 0.05
        with self._lock:
            prompt = self._prompt(runtime, noise)
            self._speak(runtime, prompt, WARM_TEXT, SynthesisParams(), lambda _chunk: None)

    def _loaded(self) -> Any:
        if self._runtime is None:
            raise EngineUnavailable(f"the {self.NAME} engine is not loaded", engine=self.NAME)
        return self._runtime

    async def aclose(self) -> None:
        """Drop the model (and what CUDA cached for it)."""
        await asyncio.to_thread(self._close)

    def _close(self) -> None:
        with self._lock:
            self._runtime = None
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()

    # ---- voices ------------------------------------------------------------------------------

    async def enroll(self, reference: Reference) -> VoiceProfile:
        """The prompt: the reference speech (cut to the longest the model uses) and, per
        engine, its transcript or prompt features."""
        runtime = self._loaded()
        samples = reference_audio(
            reference.samples, reference.sample_rate, self.RATE, self.settings
        )

        def work() -> Prompt:
            with self._lock:
                return self._prompt(runtime, samples)

        prompt = await asyncio.to_thread(work)
        return VoiceProfile(
            engine=self.NAME,
            engine_version=self.info.version,
            data=encode_prompt(prompt),
            status=ProfileStatus.ready,
            metrics={"reference_s": round(len(prompt.samples) / prompt.sample_rate, 3)},
        )

    async def synthesize(
        self, text: str, voice: VoiceProfile, params: SynthesisParams
    ) -> AsyncIterator[AudioChunk]:
        """Each sentence in turn, each chunk as soon as the model has it."""
        check_request(self.NAME, self.info.languages, params)
        self._check(params)
        prompt = decode_prompt(voice.data, self.NAME)
        pieces = sentences(text)
        runtime = self._loaded()
        salt = int.from_bytes(hashlib.sha256(voice.data).digest()[:4], "big")

        def produce(emit: Emit) -> None:
            for i, piece in enumerate(pieces):
                with self._lock:
                    seeded(params.seed * 1_000_003 + salt + i)  # repeatable per voice and text
                    self._speak(runtime, prompt, piece, params, emit)

        async for piece_chunk in stream_thread(self.NAME, produce):
            yield piece_chunk
