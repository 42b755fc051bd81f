"""Speaker embeddings and long-term spectra of the stock packs, computed once and cached.

Both come from one synthesis of `EMBED_TEXT` per pack: the embedding chooses the packs an
instant profile blends, the spectrum gives its equaliser a starting point (adapt.py) without
synthesising anything during the upload.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np

from voxhub.engines.embedded.adapt import N_FFT, long_term_spectrum
from voxhub.engines.embedded.packs import VoicePack

log = logging.getLogger(__name__)

# What each pack says for its embedding: short (the precompute synthesises it once per pack on
# a 2-core machine) but long enough for the encoder (it averages 1.6 s windows), with varied
# vowels and fricatives. Changing it changes the cache key.
EMBED_TEXT = "She sells fresh bread at the market on Wednesday."
_ALGORITHM = "resemblyzer-ge2e/1+ltas-1"
_RATE = 24_000

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


class PackVoices(NamedTuple):
    """Per pack, in pack order: unit speaker embeddings [n, 256] and spectra [n, bins]."""

    embeddings: np.ndarray
    spectra: np.ndarray


def _read(path: Path, key: str, names: list[str]) -> PackVoices | None:
    try:
        with np.load(path, allow_pickle=False) as npz:
            if str(npz["key"]) != key or [str(n) for n in npz["names"]] != names:
                return None
            return PackVoices(
                np.asarray(npz["embeddings"], dtype=np.float32),
                np.asarray(npz["spectra"], dtype=np.float64),
            )
    except (OSError, KeyError, ValueError) as exc:
        log.warning("ignoring unreadable pack-embedding cache %s: %s", path, exc)
        return None


def _write(path: Path, key: str, names: list[str], voices: PackVoices) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".npz")
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(
                f,
                key=np.array(key),
                names=np.array(names),
                embeddings=voices.embeddings,
                spectra=voices.spectra,
            )
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def pack_voices(
    path: Path,
    packs: Sequence[VoicePack],
    model_sha: str,
    synthesise: Synthesise,
    embed: Embed,
) -> tuple[PackVoices, bool]:
    """Embeddings and spectra of `packs` (in order), and whether they came from the cache."""
    names = [p.name for p in packs]
    key = cache_key(packs, model_sha)
    cached = _read(path, key, names) if path.exists() else None
    if cached is not None:
        return cached, True
    embeddings, spectra = [], []
    for pack in packs:
        audio = synthesise(pack.style, EMBED_TEXT)
        embeddings.append(embed(audio))
        spectrum = long_term_spectrum(audio, _RATE)
        spectra.append(spectrum / max(float(spectrum.sum()), 1e-12))  # shape, not loudness
    voices = PackVoices(
        np.stack(embeddings).astype(np.float32) if packs else np.zeros((0, 256), np.float32),
        np.stack(spectra) if packs else np.zeros((0, N_FFT // 2 + 1)),
    )
    try:
        _write(path, key, names, voices)
    except OSError as exc:  # a read-only cache only costs the next start some seconds
        log.warning("could not cache pack voices in %s: %s", path, exc)
    return voices, False
