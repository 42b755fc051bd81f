"""Speaker embeddings and long-term spectra of the stock packs: shipped, or computed once.

Both come from one synthesis of `EMBED_TEXT` per pack: the embedding chooses the packs an
instant profile blends, the spectrum gives its equaliser a starting point (adapt.py) without
synthesising anything during the upload.

They depend only on a pack's values and on how they are derived (the model and its graph edit,
the phonemes of `EMBED_TEXT`, the speaker encoder, the spectrum, the sample rate): the
*derivation context*. Each entry is keyed by the pack's sha256 within one context. voxhub ships
the entries of its 28 English packs (`data/pack_voices.npz`, made by
`python -m voxhub.engines.embedded.derive_packs`), so a fresh home synthesises nothing; a pack
not in that table (a user's own, or any pack when the context differs from the shipped one) is
synthesised once and kept in the home's cache.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from importlib import metadata, resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import NamedTuple

import numpy as np

from voxhub.engines.embedded.adapt import N_FFT, long_term_spectrum
from voxhub.engines.embedded.graph import PATCH_VERSION
from voxhub.engines.embedded.model import SAMPLE_RATE, model_sha
from voxhub.engines.embedded.packs import VoicePack, pack_sha256
from voxhub.engines.embedded.phonemes import phonemize, tokenize

log = logging.getLogger(__name__)

# What each pack says for its embedding: short (the derivation synthesises it once per pack on
# a 2-core machine) but long enough for the encoder (it averages 1.6 s windows), with varied
# vowels and fricatives. Changing it changes the derivation context.
EMBED_TEXT = "She sells fresh bread at the market on Wednesday."
_ALGORITHM = "resemblyzer-ge2e/1+ltas-1"
# Bump when the way an entry is derived changes in a way the context below does not see
# (e.g. how the synthesis is trimmed or the spectrum normalised).
DERIVATION = "pack-voices/2: en-us, speed 1, f0 1, trimmed, spectrum summing to 1"
SHIPPED_TABLE = "pack_voices.npz"

Synthesise = Callable[[np.ndarray, str], np.ndarray]  # (style table, text) -> 24 kHz audio
Embed = Callable[[np.ndarray], np.ndarray]  # 24 kHz audio -> unit embedding
Entry = tuple[np.ndarray, np.ndarray]  # (embedding [256] float32, spectrum [bins] float64)


def _encoder_identity() -> str:
    """The speaker encoder's package version and the sha256 of its weights (found through the
    package's metadata, so that nothing is imported)."""
    try:
        dist = metadata.distribution("resemblyzer")
        found = [f for f in dist.files or () if f.name == "pretrained.pt"]
        weights = Path(str(dist.locate_file(found[0]))).read_bytes() if found else b""
    except (metadata.PackageNotFoundError, OSError) as exc:
        return f"resemblyzer unavailable: {exc}"
    digest = hashlib.sha256(weights).hexdigest() if weights else "unknown"
    return f"resemblyzer {dist.version} weights sha256:{digest}"


def derivation_context() -> dict[str, object]:
    """Everything an entry depends on besides the pack: a change of any part invalidates it."""
    return {
        "algorithm": _ALGORITHM,
        "derivation": DERIVATION,
        "encoder": _encoder_identity(),
        "graph": PATCH_VERSION,
        "model_sha256": model_sha(),
        "n_fft": N_FFT,
        "sample_rate": SAMPLE_RATE,
        "text": EMBED_TEXT,
        # The phonemes actually spoken: a new espeak-ng or phonemiser shows up here.
        "tokens": tokenize(phonemize(EMBED_TEXT, "en-us")),
    }


def _context_json(context: Mapping[str, object]) -> str:
    return json.dumps(dict(context), sort_keys=True)


class PackVoices(NamedTuple):
    """Per pack, in pack order: unit speaker embeddings [n, 256] and spectra [n, bins]."""

    embeddings: np.ndarray
    spectra: np.ndarray


def derive(style: np.ndarray, synthesise: Synthesise, embed: Embed) -> Entry:
    """One pack's entry: the embedding and spectrum shape of it saying `EMBED_TEXT`."""
    audio = synthesise(style, EMBED_TEXT)
    spectrum = long_term_spectrum(audio, SAMPLE_RATE)
    return (
        np.asarray(embed(audio), dtype=np.float32),
        spectrum / max(float(spectrum.sum()), 1e-12),  # shape, not loudness
    )


def shipped_table() -> Traversable:
    """The table of the shipped packs' entries inside the package."""
    return resources.files("voxhub.engines.embedded") / "data" / SHIPPED_TABLE


def read_table(
    source: Path | Traversable, context: Mapping[str, object]
) -> tuple[dict[str, Entry], dict[str, str]]:
    """The entries (by pack sha256) of a table made in `context`, and the table's pack names.

    A table made in another context, or one that cannot be read, gives no entries.
    """
    try:
        with source.open("rb") as f, np.load(f, allow_pickle=False) as npz:
            if "context" not in npz.files:  # the cache of voxhub before the shipped table
                log.info("pack-voice table %s is of an older format; not used", source)
                return {}, {}
            made_in = str(npz["context"])
            shas = [str(s) for s in npz["sha256"]]
            names = [str(n) for n in npz["names"]]
            embeddings = np.asarray(npz["embeddings"], dtype=np.float32)
            spectra = np.asarray(npz["spectra"], dtype=np.float64)
    except FileNotFoundError:
        return {}, {}
    except (OSError, KeyError, ValueError) as exc:
        log.warning("ignoring unreadable pack-voice table %s: %s", source, exc)
        return {}, {}
    if made_in != _context_json(context):
        try:
            theirs = json.loads(made_in)
        except ValueError:
            theirs = {}
        changed = sorted(k for k in {**theirs, **context} if theirs.get(k) != context.get(k))
        log.info("pack-voice table %s was made in another context (%s)", source, changed)
        return {}, {}
    if not (len(shas) == len(names) == len(embeddings) == len(spectra)):
        log.warning("ignoring inconsistent pack-voice table %s", source)
        return {}, {}
    entries = {sha: (embeddings[i], spectra[i]) for i, sha in enumerate(shas)}
    return entries, dict(zip(shas, names, strict=True))


def write_table(
    path: Path,
    context: Mapping[str, object],
    entries: Mapping[str, Entry],
    names: Mapping[str, str],
) -> None:
    """Write a table atomically (entries sorted by pack name, then sha256)."""
    order = sorted(entries, key=lambda sha: (names.get(sha, ""), sha))
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".npz")
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(
                f,
                context=np.array(_context_json(context)),
                sha256=np.array(order, dtype=np.str_),
                names=np.array([names.get(sha, "") for sha in order], dtype=np.str_),
                embeddings=np.stack([entries[sha][0] for sha in order]).astype(np.float32),
                spectra=np.stack([entries[sha][1] for sha in order]).astype(np.float64),
            )
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def pack_voices(
    path: Path,
    packs: Sequence[VoicePack],
    synthesise: Synthesise,
    embed: Embed,
    context: Mapping[str, object] | None = None,
    shipped: Path | Traversable | None = None,
) -> tuple[PackVoices, int]:
    """Embeddings and spectra of `packs` (in order), and how many packs were synthesised now.

    Each pack is looked up by its sha256 in the shipped table, then in the home's table at
    `path`; only the packs in neither are synthesised, and those are added to the home's table.
    """
    context = derivation_context() if context is None else context
    known, _ = read_table(shipped_table() if shipped is None else shipped, context)
    home, home_names = read_table(path, context)
    rows: list[Entry] = []
    synthesised = 0
    for pack in packs:
        sha = pack_sha256(pack.style)
        entry = known.get(sha) or home.get(sha)
        if entry is None:
            entry = derive(pack.style, synthesise, embed)
            home[sha], home_names[sha] = entry, pack.name
            synthesised += 1
        rows.append(entry)
    if synthesised:
        log.info("derived the voices of %d packs; keeping them in %s", synthesised, path)
        try:
            write_table(path, context, home, home_names)
        except OSError as exc:  # a read-only cache only costs the next start some seconds
            log.warning("could not cache pack voices in %s: %s", path, exc)
    voices = PackVoices(
        np.stack([e for e, _ in rows]).astype(np.float32)
        if rows
        else np.zeros((0, 256), np.float32),
        np.stack([s for _, s in rows]) if rows else np.zeros((0, N_FFT // 2 + 1)),
    )
    return voices, synthesised
