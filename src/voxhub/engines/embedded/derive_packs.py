"""Regenerate (or check) the shipped table of the stock packs' embeddings and spectra.

    python -m voxhub.engines.embedded.derive_packs            # rewrite data/pack_voices.npz
    python -m voxhub.engines.embedded.derive_packs --check af_heart bm_george

Run it after anything in `embeddings.derivation_context()` changes (the model, its graph edit,
the phonemiser, the speaker encoder, `EMBED_TEXT`, `DERIVATION`): until then every new home
derives the English packs itself (about a minute on two cores) and keeps them in its cache.
It synthesises each of the 28 shipped packs once with the engine's own synthesis.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from voxhub.audio.speaker import SpeakerEncoder
from voxhub.engines.embedded.embeddings import (
    Entry,
    derivation_context,
    derive,
    read_table,
    shipped_table,
    write_table,
)
from voxhub.engines.embedded.model import SAMPLE_RATE
from voxhub.engines.embedded.packs import VoicePack, load_shipped_packs, pack_sha256
from voxhub.settings import EngineSettings, Settings

# How close a fresh derivation must be to the stored entry (int8 kernels and thread counts
# move the audio by a hair from one CPU to another).
MIN_EMBEDDING_COSINE = 0.995
MAX_SPECTRUM_DB = 0.5  # largest difference on a bin carrying at least 0.1 % of the power


def difference(stored: Entry, fresh: Entry) -> tuple[float, float]:
    """Cosine of the two embeddings, and the largest spectrum difference in dB on strong bins."""
    (e1, s1), (e2, s2) = stored, fresh
    cosine = float(np.dot(e1, e2) / max(float(np.linalg.norm(e1) * np.linalg.norm(e2)), 1e-12))
    strong = np.maximum(s1, s2) >= 1e-3 * max(float(np.max(s1)), float(np.max(s2)))
    ratio = np.maximum(s1[strong], 1e-30) / np.maximum(s2[strong], 1e-30)
    return cosine, float(np.max(np.abs(10 * np.log10(ratio)))) if strong.any() else 0.0


def agrees(stored: Entry, fresh: Entry) -> bool:
    """Whether a fresh derivation matches the stored entry within the tolerances above."""
    cosine, spectrum_db = difference(stored, fresh)
    return cosine >= MIN_EMBEDDING_COSINE and spectrum_db <= MAX_SPECTRUM_DB


class Deriver:
    """The engine's synthesis and the speaker encoder, loaded once, deriving entries."""

    def __init__(self, home: Path, encoder: SpeakerEncoder | None = None) -> None:
        from voxhub.engines.embedded.engine import EmbeddedEngine

        settings = Settings(home=home, engine=EngineSettings(kokoro_download=False))
        self._encoder = encoder or SpeakerEncoder(threads=settings.engine.engine_threads)
        self._engine = EmbeddedEngine(settings, self._encoder)

    def load(self) -> None:
        """The model and the encoder only: the engine's own load would read the table."""
        self._engine._model.load()
        self._encoder.load()

    def entry(self, pack: VoicePack) -> Entry:
        """The pack's embedding and spectrum, freshly synthesised."""
        return derive(
            pack.style,
            self._engine._synthesise_text,
            lambda audio: self._encoder.embed(audio, SAMPLE_RATE),
        )


def _select(packs: list[VoicePack], names: Sequence[str]) -> list[VoicePack]:
    if not names:
        return packs
    unknown = sorted(set(names) - {p.name for p in packs})
    if unknown:
        raise SystemExit(f"not shipped packs: {', '.join(unknown)}")
    return [p for p in packs if p.name in names]


def main(argv: Sequence[str] | None = None) -> int:
    """Rewrite the table (or with --check compare it against fresh derivations)."""
    parser = argparse.ArgumentParser(prog="python -m voxhub.engines.embedded.derive_packs")
    parser.add_argument("names", nargs="*", help="packs to check (default: every shipped pack)")
    parser.add_argument("--check", action="store_true", help="compare, write nothing")
    parser.add_argument("--out", type=Path, help="where to write (default: the package's table)")
    parser.add_argument("--home", type=Path, help="VOXHUB_HOME for the model cache (default: temp)")
    args = parser.parse_args(argv)
    if args.names and not args.check:
        parser.error("naming packs only makes sense with --check (the table holds all of them)")
    packs = _select(load_shipped_packs(), args.names)
    with tempfile.TemporaryDirectory() as tmp:
        deriver = Deriver(args.home or Path(tmp))
        deriver.load()
        context = derivation_context()
        if args.check:
            stored, _ = read_table(shipped_table(), context)
            failed = 0
            for pack in packs:
                entry = stored.get(pack_sha256(pack.style))
                if entry is None:
                    print(f"{pack.name}: not in the shipped table for this context")
                    failed += 1
                    continue
                fresh = deriver.entry(pack)
                cosine, spectrum_db = difference(entry, fresh)
                ok = agrees(entry, fresh)
                failed += not ok
                print(
                    f"{pack.name}: cosine {cosine:.5f}, spectrum {spectrum_db:.3f} dB, "
                    f"{'ok' if ok else 'STALE'}"
                )
            return 1 if failed else 0
        entries, names = {}, {}
        for n, pack in enumerate(packs, 1):
            sha = pack_sha256(pack.style)
            entries[sha], names[sha] = deriver.entry(pack), pack.name
            print(f"[{n}/{len(packs)}] {pack.name}", file=sys.stderr)
        out = args.out or Path(str(shipped_table()))
        write_table(out, context, entries, names)
        print(f"wrote {len(entries)} packs to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
