"""F5-TTS (flow-matching DiT + Vocos), as seeds 001 and 003 ran it on GPU machines.

F5 continues a reference: it needs the reference's words as well as its sound, so enrolment
transcribes the reference (voxhub's offline Whisper tiny.en: English references) and the
profile keeps both. Speech is one `infer_batch_process` call per sentence (long ones cut by
the package's own `chunk_text` to what the model's context holds beside the reference).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any

import numpy as np

from voxhub.core.errors import EngineUnavailable, NotEnoughSpeech
from voxhub.engines.base import SynthesisParams
from voxhub.engines.neural.common import Prompt, chunk, fetch, pick_device, require
from voxhub.engines.neural.engine import WARM_TEXT, Emit, NeuralEngine

NAME = "f5_tts"
RATE = 24_000
SPEED_RANGE = (0.5, 2.0)
_CONTEXT_S = 22.0  # reference + generated audio per call, as the package's own CLI budgets it

Transcriber = Callable[[np.ndarray, int], str]


@dataclass
class F5Runtime:
    """A loaded F5 model: the CFM (DiT inside) and its vocoder, on one device."""

    model: Any
    vocoder: Any
    device: str
    mel_spec_type: str = "vocos"


def _config_file(model: str) -> Any:
    """A YAML file, or the name of one of the package's configs (F5TTS_v1_Base, ...)."""
    if model.endswith((".yaml", ".yml")):
        return fetch(model, NAME)
    config = files("f5_tts").joinpath(f"configs/{model}.yaml")
    if not config.is_file():
        raise EngineUnavailable(f"f5_tts has no model config {model!r}", engine=NAME)
    return config


def default_transcriber() -> Transcriber:
    """voxhub's offline recogniser (ships in the default install)."""
    from voxhub.audio.recognizer import Recognizer

    recognizer = Recognizer(threads=2)
    recognizer.load()
    return recognizer.transcribe


class F5Engine(NeuralEngine):
    """F5-TTS behind the Engine port: zero-shot from the reference audio and its transcript."""

    NAME = NAME
    EXTRA = "f5"
    RATE = RATE
    DESCRIPTION = "F5-TTS (flow-matching DiT, Vocos vocoder): zero-shot cloning, best on a GPU."

    def __init__(self, *args: Any, transcriber: Transcriber | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._transcriber = transcriber

    def model_id(self) -> str:
        digest = hashlib.sha256(self.settings.f5_checkpoint.encode()).hexdigest()[:8]
        return f"{Path(self.settings.f5_model).stem}-{digest}"

    def languages(self) -> tuple[str, ...]:
        return ("en", "zh")  # what the released Emilia ZH/EN checkpoints speak

    def _build(self) -> F5Runtime:
        s = self.settings
        infer = require("f5_tts.infer.utils_infer", NAME, self.EXTRA)
        models = require("f5_tts.model", NAME, self.EXTRA)
        omegaconf = require("omegaconf", NAME, self.EXTRA)
        config = omegaconf.OmegaConf.load(str(_config_file(s.f5_model))).model
        device = pick_device(s.neural_device, NAME)
        checkpoint = fetch(s.f5_checkpoint, NAME)
        vocab = str(fetch(s.f5_vocab, NAME)) if s.f5_vocab else ""
        mel_spec_type = str(config.mel_spec.mel_spec_type)
        if s.f5_vocoder_dir:
            local = fetch(s.f5_vocoder_dir, NAME)
            vocoder = infer.load_vocoder(mel_spec_type, True, str(local), device=device)
        else:
            try:
                vocoder = infer.load_vocoder(mel_spec_type, False, device=device)
            except Exception as exc:  # the hub is out of reach: say which setting fixes it
                raise EngineUnavailable(
                    f"f5_tts: no vocoder ({type(exc).__name__}); set VOXHUB_F5_VOCODER_DIR",
                    engine=NAME,
                ) from exc
        model = infer.load_model(
            getattr(models, str(config.backbone)),
            dict(config.arch),
            str(checkpoint),
            mel_spec_type=mel_spec_type,
            vocab_file=vocab,
            device=device,
        )
        return F5Runtime(model, vocoder, device, mel_spec_type)

    def _load(self) -> None:
        if self._transcriber is None:
            self._transcriber = default_transcriber()
        super()._load()

    def _warm(self, runtime: Any) -> None:
        noise = np.random.default_rng(0).standard_normal(RATE * 3).astype(np.float32) * 0.05
        prompt = Prompt(NAME, self.model_id(), RATE, noise, "Some words to continue from.")
        with self._lock:
            self._speak(runtime, prompt, WARM_TEXT, SynthesisParams(), lambda _chunk: None)

    def _prompt(self, runtime: Any, samples: np.ndarray) -> Prompt:
        assert self._transcriber is not None  # set by _load
        transcript = " ".join(self._transcriber(samples, RATE).split())
        if not any(ch.isalnum() for ch in transcript):
            raise NotEnoughSpeech("no words could be heard in the reference (F5-TTS needs them)")
        return Prompt(NAME, self.model_id(), RATE, samples, transcript)

    def _speak(
        self, runtime: Any, prompt: Prompt, text: str, params: SynthesisParams, emit: Emit
    ) -> None:
        import torch

        infer = require("f5_tts.infer.utils_infer", NAME, self.EXTRA)
        reference = torch.from_numpy(np.ascontiguousarray(prompt.samples))[None, :]
        ref_text = prompt.transcript.strip()
        if ref_text[-1] not in ".!?。":
            ref_text += "."
        ref_text += " "  # F5's convention: the reference's words, then a space, then the new
        ref_s = len(prompt.samples) / prompt.sample_rate
        speed = float(min(max(params.speed, SPEED_RANGE[0]), SPEED_RANGE[1]))
        # The package's own budget: characters per second of the reference times what is left.
        per_s = len(ref_text.encode()) / ref_s
        max_chars = max(20, int(per_s * max(1.0, _CONTEXT_S - ref_s) * speed))
        for piece in infer.chunk_text(text, max_chars=max_chars):
            for wave, rate, _mel in infer.infer_batch_process(
                (reference, prompt.sample_rate),
                ref_text,
                [piece],
                runtime.model,
                runtime.vocoder,
                mel_spec_type=runtime.mel_spec_type,
                progress=None,
                nfe_step=self.settings.f5_nfe_steps,
                cfg_strength=self.settings.f5_cfg_strength,
                speed=speed,
                device=runtime.device,
            ):
                if wave is not None:
                    emit(chunk(wave, int(rate), piece))
