"""`python -m bench.engine`: the embedded engine's streaming speed, without the API around it.

Speaks the evaluation's test sentences with a stock voice, `BENCH_RUNS` times each, then all six
as one paragraph, once with one model session and once with two (what `voxhub serve` uses on two
cores), and prints JSON: time to the first chunk (median, worst) and the real-time factor (engine
seconds per audio second, pooled and median) of the sentences, and the paragraph's median RTF,
where pieces compute side by side. Printed, never asserted: the machine is shared and noisy.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
from pathlib import Path
from typing import Any

from voxhub.audio.speaker import SpeakerEncoder
from voxhub.engines.embedded import EmbeddedEngine
from voxhub.evaluation.voice import TEST_SENTENCES, speak
from voxhub.settings import EngineSettings, Settings

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("VOXHUB_SHARED_DIR", REPO.parent / "shared")).resolve()
HOME = REPO / "bench" / "out" / "engine-home"
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
VOICE = "af_heart"


async def measure(sessions: int) -> dict[str, Any]:
    """First-chunk and RTF figures with `sessions` model sessions."""
    settings = Settings(
        home=HOME,
        engine=EngineSettings(
            kokoro_voices_dir=SHARED / "models" / "kokoro" / "voices",
            kokoro_download=False,
            engine_threads=2,
            engine_sessions=sessions,
        ),
    )
    engine = EmbeddedEngine(settings, SpeakerEncoder(threads=2))
    await engine.load()
    voice = engine.stock_profile(VOICE)
    await speak(engine, "Warming up the engine.", voice)
    firsts, rtfs, engine_s, audio_s = [], [], 0.0, 0.0
    for _ in range(RUNS):
        for text in TEST_SENTENCES:
            spoken = await speak(engine, text, voice)
            firsts.append(spoken.first_chunk_s)
            rtfs.append(spoken.engine_s / spoken.audio.duration)
            engine_s += spoken.engine_s
            audio_s += spoken.audio.duration
    paragraph = [await speak(engine, " ".join(TEST_SENTENCES), voice) for _ in range(RUNS)]
    await engine.aclose()
    return {
        "sessions": sessions,
        "first_chunk_s_median": round(statistics.median(firsts), 3),
        "first_chunk_s_worst": round(max(firsts), 3),
        "rtf_pooled": round(engine_s / audio_s, 3),
        "rtf_median": round(statistics.median(rtfs), 3),
        "sentences": len(firsts),
        "paragraph_rtf_median": round(
            statistics.median(p.engine_s / p.audio.duration for p in paragraph), 3
        ),
        "paragraph_audio_s": round(paragraph[0].audio.duration, 2),
    }


async def main() -> None:
    """Measure both ways and print the JSON."""
    results = [await measure(1), await measure(2)]
    report = {"voice": VOICE, "runs": RUNS, "load_average": os.getloadavg(), "results": results}
    text = json.dumps(report, indent=2)
    (REPO / "bench" / "results" / "engine-latest.json").write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    asyncio.run(main())
