"""Speaker embeddings of the stock packs, computed once and cached on disk."""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from voxhub.engines.embedded.packs import VoicePack

log = logging.getLogger(__name__)

# What each pack says for its embedding: short (the precompute synthesises it once per pack on
# a 2-core machine) but long enough for the encoder (it averages 1.6 s windows), with varied
# vowels and fricatives. Changing it changes the cache key.
EMBED_TEXT = "She sells fresh bread at the market on Wednesday."
_ALGORITHM = "resemblyzer-ge2e/1"

Synthesise = Callable[[np.ndarray, str], np.ndarray]  # (style table, text) -> 24 kHz audio
Embed = Callable[[np.ndarray], np.ndarray]  # 24 kHz audio -> unit embedding


def cache_key(packs: Sequence[VoicePack], model_sha: str) -> str:
    """A hash of everything the embeddings depend on: packs, model, text, encoder."""
    h = hashlib.sha256()
    for part in (model_sha, _ALGORITHM, EMBED_TEXT):
        h.update(part.encode() + b"\0")
    for pack in packs:
        h.update(pack.name.encode() + b"\0")
        h.update(np.ascontiguousarray(pack.style, dtype="<f4").tobytes())
    return h.hexdigest()


def _read(path: Path, key: str, names: list[str]) -> np.ndarray | None:
    try:
        with np.load(path, allow_pickle=False) as npz:
            if str(npz["key"]) != key or [str(n) for n in npz["names"]] != names:
                return None
            return np.asarray(npz["embeddings"], dtype=np.float32)
    except (OSError, KeyError, ValueError) as exc:
        log.warning("ignoring unreadable pack-embedding cache %s: %s", path, exc)
        return None


def _write(path: Path, key: str, names: list[str], embeddings: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".npz")
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, key=np.array(key), names=np.array(names), embeddings=embeddings)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def pack_embeddings(
    path: Path,
    packs: Sequence[VoicePack],
    model_sha: str,
    synthesise: Synthesise,
    embed: Embed,
) -> tuple[np.ndarray, bool]:
    """[n, 256] embeddings of `packs` (in order) and whether they came from the cache."""
    names = [p.name for p in packs]
    key = cache_key(packs, model_sha)
    cached = _read(path, key, names) if path.exists() else None
    if cached is not None:
        return cached, True
    rows = [embed(synthesise(pack.style, EMBED_TEXT)) for pack in packs]
    embeddings = np.stack(rows).astype(np.float32) if rows else np.zeros((0, 256), np.float32)
    try:
        _write(path, key, names, embeddings)
    except OSError as exc:  # a read-only cache only costs the next start some seconds
        log.warning("could not cache pack embeddings in %s: %s", path, exc)
    return embeddings, False
