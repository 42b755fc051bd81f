"""`python -m bench.watermark`: what Perth's watermark costs beside the embedded engine.

Speaks the evaluation's test sentences (and them all as one paragraph) with the embedded
engine as bench/engine.py does, `BENCH_RUNS` times, then times `Watermarker.apply` and
`detect` on the same audio, and prints JSON with medians:

- whole: apply's time as a share of the engine's synthesis time for that audio (issue 15's
  target: <= 10 %), and detect's real-time factor;
- stream: the engine's own chunks marked one by one (the streaming path): time a chunk,
  the first chunk's added latency, and the score of the joined chunks;
- fixed chunk sizes (0.3 to 2 s) of the paragraph marked one by one: cost per chunk, score of
  the joined result, and how far it is from marking the whole (residual-difference ratio, dB);
- scores of the engine's unmarked and marked speech.
Printed, never asserted: the machine is shared and noisy.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import time
from typing import Any

import numpy as np

from bench.engine import HOME, OUT, RUNS, VOICE, VOICES
from voxhub.audio.speaker import SpeakerEncoder
from voxhub.engines.embedded import EmbeddedEngine
from voxhub.evaluation.voice import EN, TEST_SENTENCES
from voxhub.safety import Watermarker, startup_watermarker
from voxhub.settings import EngineSettings, Settings
from voxhub.text.normalize import normalize_text

CHUNK_S = (0.3, 0.5, 1.0, 2.0)


def _median(values: list[float], digits: int = 4) -> float:
    return round(statistics.median(values), digits)


def _timed(fn: Any, *args: Any) -> tuple[Any, float]:
    t0 = time.perf_counter()
    result = fn(*args)
    return result, time.perf_counter() - t0


async def synthesise(engine: EmbeddedEngine, text: str) -> tuple[list[np.ndarray], int, float]:
    """The engine's chunks for `text`, its rate and the wall time it took."""
    profile = engine.stock_profile(VOICE)
    chunks: list[np.ndarray] = []
    rate = engine.info.sample_rate
    t0 = time.perf_counter()
    async for chunk in engine.synthesize(normalize_text(text), profile, EN):
        chunks.append(np.asarray(chunk.samples, dtype=np.float32))
        rate = chunk.sample_rate
    return chunks, rate, time.perf_counter() - t0


def fixed_chunks(wm: Watermarker, audio: np.ndarray, rate: int) -> list[dict[str, Any]]:
    whole = wm.apply(audio, rate)
    mark = float(np.sum((whole - audio).astype(np.float64) ** 2))
    rows = []
    for size in CHUNK_S:
        n = int(size * rate)
        pieces = [audio[i : i + n] for i in range(0, len(audio), n)]
        marked, times = [], []
        for piece in pieces:
            out, seconds = _timed(wm.apply, piece, rate)
            marked.append(out)
            times.append(seconds)
        joined = np.concatenate(marked)
        diff = float(np.sum((joined - whole).astype(np.float64) ** 2))
        rows.append(
            {
                "chunk_s": size,
                "chunks": len(pieces),
                "apply_ms_per_chunk_median": round(1e3 * statistics.median(times), 2),
                "apply_share_of_chunk_audio": _median([t / size for t in times[:-1]] or times),
                "joined_score": round(wm.detect(joined, rate), 3),
                "mark_over_difference_from_whole_db": round(10 * np.log10(mark / diff), 1),
            }
        )
    return rows


async def measure_watermark() -> dict[str, Any]:
    """The report (also part of `make bench`: bench/run.py)."""
    (wm, load_s) = _timed(startup_watermarker)
    settings = Settings(
        home=HOME,
        engine=EngineSettings(kokoro_voices_dir=VOICES, kokoro_download=False, engine_threads=2),
    )
    engine = EmbeddedEngine(settings, SpeakerEncoder(threads=2))
    await engine.load()
    await synthesise(engine, "Warming up the engine.")
    texts = [*TEST_SENTENCES, " ".join(TEST_SENTENCES)]
    shares, detect_rtf, synth_rtf, apply_rtf = [], [], [], []
    chunk_ms, chunk_s, first_ms, stream_scores, clean_scores, marked_scores = [], [], [], [], [], []
    paragraph: np.ndarray | None = None
    rate = 24_000
    for _ in range(RUNS):
        for text in texts:
            chunks, rate, engine_s = await synthesise(engine, text)
            audio = np.concatenate(chunks)
            seconds = len(audio) / rate
            marked, apply_s = _timed(wm.apply, audio, rate)
            score, detect_s = _timed(wm.detect, marked, rate)
            shares.append(apply_s / engine_s)
            synth_rtf.append(engine_s / seconds)
            apply_rtf.append(apply_s / seconds)
            detect_rtf.append(detect_s / seconds)
            marked_scores.append(score)
            clean_scores.append(wm.detect(audio, rate))
            streamed = []
            for i, chunk in enumerate(chunks):
                out, t = _timed(wm.apply, chunk, rate)
                streamed.append(out)
                chunk_ms.append(1e3 * t)
                chunk_s.append(len(chunk) / rate)
                if i == 0:
                    first_ms.append(1e3 * t)
            stream_scores.append(wm.detect(np.concatenate(streamed), rate))
            if text == texts[-1]:
                paragraph = audio
    await engine.aclose()
    assert paragraph is not None
    report = {
        "runs": RUNS,
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg(),
        "load_and_self_test_s": round(load_s, 2),
        "whole": {
            "clips": len(shares),
            "synthesis_rtf_median": _median(synth_rtf),
            "apply_rtf_median": _median(apply_rtf),
            "apply_share_of_synthesis_median": _median(shares),
            "apply_share_of_synthesis_worst": round(max(shares), 4),
            "detect_rtf_median": _median(detect_rtf),
        },
        "stream": {
            "engine_chunks": len(chunk_ms),
            "chunk_s_median": _median(chunk_s, 3),
            "chunk_s_min": round(min(chunk_s), 3),
            "apply_ms_per_chunk_median": _median(chunk_ms, 2),
            "first_chunk_added_latency_ms_median": _median(first_ms, 2),
            "joined_score_min": round(min(stream_scores), 3),
        },
        "fixed_chunks_of_paragraph": fixed_chunks(wm, paragraph, rate),
        "engine_speech_scores": {
            "unmarked_max": round(max(clean_scores), 3),
            "marked_min": round(min(marked_scores), 3),
        },
    }
    return report


async def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    text = json.dumps(await measure_watermark(), indent=2)
    (OUT / "watermark-latest.json").write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    asyncio.run(main())
