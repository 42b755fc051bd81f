"""Resemble AI's Chatterbox (English), as seeds 003 and 004 ran it on GPU machines.

Enrolment runs the package's own `prepare_conditionals` on the reference and keeps what it
computes (speaker embedding, prompt speech tokens, the S3Gen reference features) in the profile,
so speech does not encode the reference again. Speech is per sentence: the T3 language model
writes speech tokens and S3Gen turns them into 24 kHz audio, as the package's `generate` does,
but with the token budget bounded by the sentence's length (the package allows 1000 tokens,
40 s of audio, for any sentence a model fails to end). The package's own Perth watermark is not
applied here: voxhub marks every output itself, once, after all post-processing
(voxhub.safety.marking), and marking twice would double the mark's energy in the speech.
"""

from __future__ import annotations

import hashlib
import io
import tempfile
import wave
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from voxhub.core.errors import EngineUnavailable
from voxhub.engines.base import SynthesisParams
from voxhub.engines.neural.common import Prompt, chunk, fixed_speed, pick_device, require
from voxhub.engines.neural.engine import Emit, NeuralEngine

NAME = "chatterbox"
RATE = 24_000  # S3Gen's output rate
WEIGHT_FILES = ("ve.safetensors", "t3_cfg.safetensors", "s3gen.safetensors", "tokenizer.json")
_FIRST_TOKENS = 25  # a second of speech before the per-character budget starts
_CACHED_VOICES = 8


@dataclass
class ChatterboxRuntime:
    """A loaded ChatterboxTTS on one device, and the voices' conditionals it last used."""

    model: Any
    device: str
    conds: OrderedDict[str, Any] = field(default_factory=OrderedDict)


def weights_folder(spec: str) -> Path:
    """A local folder with the weight files, or the hub repo they are fetched from."""
    local = Path(spec).expanduser()
    if local.is_dir():
        missing = [f for f in WEIGHT_FILES if not (local / f).is_file()]
        if missing:
            raise EngineUnavailable(f"chatterbox: {local} lacks {', '.join(missing)}", engine=NAME)
        return local
    from huggingface_hub import hf_hub_download

    try:
        paths = [hf_hub_download(repo_id=spec, filename=f) for f in WEIGHT_FILES]
    except Exception as exc:  # offline, unknown repo: no weights either way
        raise EngineUnavailable(
            f"chatterbox: {spec!r} is no local folder and the model hub did not give it "
            f"({type(exc).__name__}); set VOXHUB_CHATTERBOX_WEIGHTS to a folder",
            engine=NAME,
        ) from exc
    return Path(paths[0]).parent


def _wav_file(samples: np.ndarray, rate: int, path: Path) -> None:
    pcm = (np.clip(samples, -1.0, 1.0) * 32767.0).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(pcm.tobytes())


class ChatterboxEngine(NeuralEngine):
    """Chatterbox behind the Engine port: zero-shot from the reference's prompt features."""

    NAME = NAME
    EXTRA = "chatterbox"
    RATE = RATE
    DESCRIPTION = "Chatterbox (Resemble AI; T3 + S3Gen): zero-shot, on a GPU."

    def model_id(self) -> str:
        digest = hashlib.sha256(self.settings.chatterbox_weights.encode()).hexdigest()[:8]
        return f"chatterbox-en-{digest}"

    def languages(self) -> tuple[str, ...]:
        return ("en",)

    def _check(self, params: SynthesisParams) -> None:
        fixed_speed(NAME, params)

    def _build(self) -> ChatterboxRuntime:
        tts = require("chatterbox.tts", NAME, self.EXTRA)
        device = pick_device(self.settings.neural_device, NAME)
        model = tts.ChatterboxTTS.from_local(
            weights_folder(self.settings.chatterbox_weights), device
        )
        return ChatterboxRuntime(model, device)

    def _prompt(self, runtime: Any, samples: np.ndarray) -> Prompt:
        with tempfile.TemporaryDirectory(prefix="voxhub-chatterbox-") as folder:
            path = Path(folder) / "reference.wav"
            _wav_file(samples, RATE, path)  # the package's loader reads a file
            runtime.model.prepare_conditionals(
                str(path), exaggeration=self.settings.chatterbox_exaggeration
            )
        features = io.BytesIO()
        runtime.model.conds.save(features)
        return Prompt(NAME, self.model_id(), RATE, samples, "", features.getvalue())

    def _conditionals(self, runtime: ChatterboxRuntime, prompt: Prompt) -> Any:
        if prompt.model != self.model_id() or not prompt.features:
            # Made with other weights: their features mean nothing to these; the audio does.
            return self._prompt_conditionals(runtime, prompt.samples)
        key = hashlib.sha256(prompt.features).hexdigest()
        if key not in runtime.conds:
            tts = require("chatterbox.tts", NAME, self.EXTRA)
            loaded = tts.Conditionals.load(io.BytesIO(prompt.features), map_location=runtime.device)
            runtime.conds[key] = loaded.to(runtime.device)
            while len(runtime.conds) > _CACHED_VOICES:
                runtime.conds.popitem(last=False)
        runtime.conds.move_to_end(key)
        return runtime.conds[key]

    def _prompt_conditionals(self, runtime: ChatterboxRuntime, samples: np.ndarray) -> Any:
        self._prompt(runtime, samples)
        return runtime.model.conds

    def _speak(
        self, runtime: Any, prompt: Prompt, text: str, params: SynthesisParams, emit: Emit
    ) -> None:
        import torch
        import torch.nn.functional as F

        tts = require("chatterbox.tts", NAME, self.EXTRA)
        s3 = require("chatterbox.models.s3tokenizer", NAME, self.EXTRA)
        s = self.settings
        model = runtime.model
        conds = self._conditionals(runtime, prompt)
        words = tts.punc_norm(text)
        tokens = model.tokenizer.text_to_tokens(words).to(runtime.device)
        # Two rows whatever the CFG weight: T3's decoding loop always feeds a pair.
        tokens = torch.cat([tokens, tokens], dim=0)
        tokens = F.pad(tokens, (1, 0), value=model.t3.hp.start_text_token)
        tokens = F.pad(tokens, (0, 1), value=model.t3.hp.stop_text_token)
        budget = min(1000, _FIRST_TOKENS + round(len(words) * s.chatterbox_tokens_per_char))
        with torch.inference_mode():
            speech = model.t3.inference(
                t3_cond=conds.t3,
                text_tokens=tokens,
                max_new_tokens=budget,
                temperature=s.chatterbox_temperature,
                cfg_weight=s.chatterbox_cfg_weight,
            )[0]
            speech = s3.drop_invalid_tokens(speech)
            speech = speech[speech < s3.SPEECH_VOCAB_SIZE].to(runtime.device)
            if speech.numel() == 0:
                return  # nothing but control tokens: no audio for this sentence
            wav, _ = model.s3gen.inference(speech_tokens=speech, ref_dict=conds.gen)
            audio = wav.squeeze(0).detach().float().cpu().numpy()
        emit(chunk(audio, int(model.sr), text))
