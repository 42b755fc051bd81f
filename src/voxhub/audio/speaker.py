"""Speaker embeddings (resemblyzer's GE2E encoder; its weights ship in the wheel)."""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
import soxr

ENCODER_RATE = 16_000


class SpeakerEncoder:
    """Turns speech into a unit-length 256-d vector; cosine of two vectors = speaker similarity."""

    def __init__(self, threads: int = 1) -> None:
        self._threads = threads
        self._model: Any = None
        self._lock = threading.Lock()

    def _load(self) -> Any:
        if self._model is None:
            import torch
            from resemblyzer import VoiceEncoder

            # WORLD-vocoded or very quiet audio is full of denormals, which make torch crawl.
            torch.set_flush_denormal(True)
            torch.set_num_threads(self._threads)
            self._model = VoiceEncoder(device="cpu", verbose=False)
        return self._model

    def load(self) -> None:
        """Load the model now rather than on first use."""
        with self._lock:
            self._load()

    def embed(self, samples: np.ndarray, sample_rate: int) -> np.ndarray:
        """Embedding of one utterance (float32 mono). Blocking: call it from a thread."""
        wav = np.asarray(samples, dtype=np.float32)
        if sample_rate != ENCODER_RATE:
            wav = soxr.resample(wav, sample_rate, ENCODER_RATE).astype(np.float32)
        with self._lock:
            model = self._load()
            emb = np.asarray(model.embed_utterance(wav), dtype=np.float32)
        norm = float(np.linalg.norm(emb))
        return emb / norm if norm > 0 else emb


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    """Cosine similarity of two embeddings."""
    na, nb = float(np.linalg.norm(a)), float(np.linalg.norm(b))
    if na == 0 or nb == 0:
        return 0.0
    return float(np.dot(a, b) / (na * nb))


def mean_embedding(embeddings: list[np.ndarray]) -> np.ndarray:
    """The unit-length mean of several embeddings of one speaker."""
    mean = np.mean(np.stack(embeddings), axis=0).astype(np.float32)
    norm = float(np.linalg.norm(mean))
    return mean / norm if norm > 0 else mean
