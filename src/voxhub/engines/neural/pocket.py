"""Kyutai's pocket-tts: a ~100M-parameter flow LM and Mimi codec that clone zero-shot on a CPU.

The profile keeps the reference audio; the model state it conditions (a KV cache, megabytes)
is computed from it on first use and kept for a few voices. Speech streams as the package
decodes it: several chunks a sentence.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from voxhub.core.errors import EngineUnavailable
from voxhub.engines.base import SynthesisParams
from voxhub.engines.neural.common import Prompt, chunk, fixed_speed, pick_device, require
from voxhub.engines.neural.engine import Emit, NeuralEngine

NAME = "pocket_tts"
RATE = 24_000  # Mimi's rate in every released config
_CACHED_VOICES = 4
# The package's config names by language (their stems start with it: english_2026-10, ...).
_LANGUAGES = {
    "english": "en",
    "french": "fr",
    "german": "de",
    "portuguese": "pt",
    "italian": "it",
    "spanish": "es",
    "dutch": "nl",
}


@dataclass
class PocketRuntime:
    """A loaded TTSModel and the voice states it last conditioned."""

    model: Any
    states: OrderedDict[str, Any] = field(default_factory=OrderedDict)


def _import_pocket() -> Any:
    """pocket_tts sets torch to one thread when imported; give the process its setting back."""
    import torch

    threads = torch.get_num_threads()
    try:
        return require("pocket_tts", NAME, "pocket")
    finally:
        torch.set_num_threads(threads)


class PocketEngine(NeuralEngine):
    """pocket-tts behind the Engine port: zero-shot from the reference audio, on any device."""

    NAME = NAME
    EXTRA = "pocket"
    RATE = RATE
    DESCRIPTION = "Kyutai pocket-tts (flow LM + Mimi): zero-shot cloning fast enough for a CPU."

    def model_id(self) -> str:
        spec = self.settings.pocket_config
        digest = hashlib.sha256(spec.encode()).hexdigest()[:8]
        return f"{Path(spec).stem}-{digest}"

    def languages(self) -> tuple[str, ...]:
        stem = Path(self.settings.pocket_config).stem.lower()
        found = [code for name, code in _LANGUAGES.items() if stem.startswith(name)]
        return tuple(found) or ("en",)  # a custom YAML: English, as the package's default

    def _check(self, params: SynthesisParams) -> None:
        fixed_speed(NAME, params)

    def _build(self) -> PocketRuntime:
        pocket = _import_pocket()
        spec = self.settings.pocket_config
        as_file = spec.endswith((".yaml", ".yml"))
        try:
            model = pocket.TTSModel.load_model(
                language=None if as_file else spec,
                config=spec if as_file else None,
                quantize=self.settings.pocket_quantize,
            )
        except (OSError, ValueError) as exc:  # no such config, weights out of reach, bad YAML
            raise EngineUnavailable(
                f"pocket_tts could not load {spec!r}: {type(exc).__name__}: {exc}", engine=NAME
            ) from exc
        if model.sample_rate != RATE:
            raise EngineUnavailable(f"pocket_tts: {spec} speaks at {model.sample_rate} Hz")
        if not model.has_voice_cloning:
            raise EngineUnavailable(
                "pocket_tts loaded the weights without voice cloning (the cloning ones are gated "
                "on the hub): point VOXHUB_POCKET_CONFIG at a config whose weights clone",
                engine=NAME,
            )
        model.to(pick_device(self.settings.neural_device, NAME))
        return PocketRuntime(model.eval())

    def _state(self, runtime: PocketRuntime, samples: np.ndarray) -> Any:
        import torch

        key = hashlib.sha256(samples.tobytes()).hexdigest()
        if key not in runtime.states:
            audio = torch.from_numpy(np.ascontiguousarray(samples, dtype=np.float32))[None, :]
            runtime.states[key] = runtime.model.get_state_for_audio_prompt(audio)
            while len(runtime.states) > _CACHED_VOICES:
                runtime.states.popitem(last=False)
        runtime.states.move_to_end(key)
        return runtime.states[key]

    def _prompt(self, runtime: Any, samples: np.ndarray) -> Prompt:
        self._state(runtime, samples)  # fails here, at the upload, if the model cannot use it
        return Prompt(NAME, self.model_id(), RATE, samples)

    def _speak(
        self, runtime: Any, prompt: Prompt, text: str, params: SynthesisParams, emit: Emit
    ) -> None:
        # The profile's PCM went through 16 bits: the same key for every request of a voice.
        state = self._state(runtime, prompt.samples)
        first = True
        for piece in runtime.model.generate_audio_stream(state, text, copy_state=True):
            emit(chunk(piece, RATE, text if first else ""))  # the words ride on the first chunk
            first = False
