"""Speaker similarity and speed of the neural engines on real weights (a GPU machine's job).

    python -m voxhub.engines.neural.evaluate --engine f5_tts --speakers 4
    scripts/gpu-neural-eval --engine chatterbox --device cuda

Each engine loads its weights as a worker would (VOXHUB_F5_CHECKPOINT, ... : local paths or
the hub), enrols the first recording of each ../shared/data/speech speaker through voxhub's
reference pipeline, speaks two sentences, and is scored as `make eval` scores the embedded
engine: cosine of voxhub's speaker embedding (resemblyzer) of the output with the speaker's
held-out recording, and that normalised between a same-gender stranger (0) and the speaker's
own other recording (1); RTF is synthesis seconds over audio seconds; WER from Whisper tiny.en.
One JSON object on stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from voxhub.audio.reference import prepare_reference
from voxhub.audio.speaker import SpeakerEncoder, cosine
from voxhub.audio.types import Audio
from voxhub.engines.base import Engine, Reference, SynthesisParams
from voxhub.evaluation.speakers import Speaker, baselines, load_manifest
from voxhub.evaluation.voice import TEST_SENTENCES, embed_levelled
from voxhub.evaluation.wer import word_errors
from voxhub.settings import LimitSettings, Settings

ENGINES = ("f5_tts", "chatterbox", "pocket_tts")
RATE = 24_000
DEFAULT_SPEECH = Path(__file__).resolve().parents[4].parent / "shared" / "data" / "speech"
TEXT = " ".join(TEST_SENTENCES[i] for i in (0, 2))  # two sentences without digits


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="gpu-neural-eval",
        description="Speaker similarity, RTF and WER of the neural engines on real weights.",
    )
    parser.add_argument("--engine", action="append", choices=ENGINES, help="repeatable; all")
    parser.add_argument("--speech-dir", type=Path, default=DEFAULT_SPEECH)
    parser.add_argument("--speakers", type=int, default=4, help="first N speakers (default 4)")
    parser.add_argument("--device", default=None, help="cuda, cuda:1, cpu (VOXHUB_NEURAL_DEVICE)")
    parser.add_argument("--out", type=Path, default=None, help="also write the JSON here")
    return parser.parse_args(argv)


def _engine(name: str, settings: Settings) -> Engine:
    from voxhub.engines.registry import available_engines

    engine: Engine = available_engines()[name].load()(settings=settings)
    return engine


def _audio(path: Path) -> Audio:
    return prepare_reference(path.read_bytes(), LimitSettings(), RATE).audio


async def _speak(engine: Engine, reference: Audio, seed: int) -> dict[str, Any]:
    t0 = time.perf_counter()
    voice = await engine.enroll(Reference(reference.samples, reference.sample_rate, seed=seed))
    t1 = time.perf_counter()
    pieces: list[np.ndarray] = []
    first: float | None = None
    async for chunk in engine.synthesize(TEXT, voice, SynthesisParams(seed=seed)):
        first = first if first is not None else time.perf_counter() - t1
        pieces.append(chunk.samples)
    t2 = time.perf_counter()
    audio = np.concatenate(pieces) if pieces else np.zeros(0, np.float32)
    seconds = len(audio) / engine.info.sample_rate
    return {
        "audio": Audio(samples=audio, sample_rate=engine.info.sample_rate),
        "enroll_s": round(t1 - t0, 3),
        "first_chunk_s": None if first is None else round(first, 3),
        "synth_s": round(t2 - t1, 3),
        "audio_s": round(seconds, 3),
        "rtf": round((t2 - t1) / seconds, 4) if seconds else None,
        "chunks": len(pieces),
    }


async def evaluate(args: argparse.Namespace) -> dict[str, Any]:
    from voxhub.audio.recognizer import Recognizer

    settings = Settings()
    if args.device:
        settings.neural.neural_device = args.device
    speakers: list[Speaker] = load_manifest(args.speech_dir / "MANIFEST.tsv")
    encoder, recognizer = SpeakerEncoder(threads=4), Recognizer(threads=4)
    audio = {r.file: _audio(args.speech_dir / r.file) for s in speakers for r in s.recordings}
    embeddings = {f: embed_levelled(encoder, a) for f, a in audio.items()}
    base = baselines(speakers, embeddings)
    report: dict[str, Any] = {"text": TEXT, "speech_dir": str(args.speech_dir), "engines": {}}
    for name in args.engine or ENGINES:
        engine = _engine(name, settings)
        t0 = time.perf_counter()
        await engine.load()
        rows: list[dict[str, Any]] = []
        for spk in speakers[: args.speakers]:
            row = await _speak(engine, audio[spk.enrolment.file], seed=len(rows))
            spoken = row.pop("audio")
            sim = cosine(embed_levelled(encoder, spoken), embeddings[spk.held_out.file])
            heard = recognizer.transcribe(spoken.samples, spoken.sample_rate)
            rows.append(
                row
                | {
                    "speaker": spk.id,
                    "similarity": round(sim, 4),
                    "normalised": round(base[spk.id].normalise(sim), 4),
                    "wer": round(word_errors(TEXT, heard).wer, 4),
                }
            )
        report["engines"][name] = {
            "version": engine.info.version,
            "load_s": round(time.perf_counter() - t0, 2),
            "mean_similarity": round(float(np.mean([r["similarity"] for r in rows])), 4),
            "mean_normalised": round(float(np.mean([r["normalised"] for r in rows])), 4),
            "mean_rtf": round(float(np.mean([r["rtf"] or 0.0 for r in rows])), 4),
            "mean_wer": round(float(np.mean([r["wer"] for r in rows])), 4),
            "speakers": rows,
        }
        await engine.aclose()
    return report


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    report = asyncio.run(evaluate(args))
    text = json.dumps(report, indent=2)
    print(text)
    if args.out is not None:
        args.out.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
