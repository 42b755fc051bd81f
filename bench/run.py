"""`make bench`: medians over several runs against a real `voxhub serve` on loopback.

Prints JSON: registration time of a ~10 s reference, engine real-time factor, time to first audio
byte of a streamed two-sentence request, API overhead as a share of engine time, event-loop lag
(`GET /health` latency while hostile texts are submitted, see `bench/lag.py`), peak server RSS,
scale-out jobs per minute with 1 and 2 workers and the queue's overhead (`bench/jobs.py`), and
the embedded LLM's time to first token and tokens/s (`bench/llm.py`), and a chat with a
character through the API: first reply token and first spoken audio (`bench/chat.py`), the
first audio byte through the OpenAI face's `/v1/audio/speech` and the first audio through
ElevenLabs' text-in WebSocket (`bench/websocket.py`) beside the native stream's, and
the ambience beds' render speed in seconds of bed per CPU second (`bench/ambience.py`), and
video encode frames per second at 720p, plain and over a looped 1080p clip (`bench/video.py`).
Numbers are printed, never asserted: the machine is shared and noisy.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

from bench.ambience import measure_ambience
from bench.chat import measure_chat
from bench.jobs import measure_jobs
from bench.lag import measure_lag
from bench.llm import measure_llm
from bench.renders import measure_renders
from bench.video import measure_video
from bench.watermark import measure_watermark
from bench.websocket import first_audio_s

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("VOXHUB_SHARED_DIR", REPO.parent / "shared")).resolve()
SPEECH = SHARED / "data" / "speech"
REFERENCES = [
    "librispeech_2414-128291-0004.flac",
    "ljspeech_LJ001-0001.wav",
    "librispeech_3080-5032-0002.flac",
]
SENTENCES = [
    "The quick brown fox jumps over the lazy dog near the river bank.",
    "Please call me back when you have a free moment this afternoon.",
    "We measured every step twice before publishing the final numbers.",
    "A gentle breeze carried the scent of rain across the open field.",
    "Our meeting has moved to Thursday at half past ten in the morning.",
]
RUNS = int(os.environ.get("BENCH_RUNS", "5"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def start_server(home: Path, port: int) -> subprocess.Popen[bytes]:
    env = os.environ | {
        "VOXHUB_HOME": str(home),
        "VOXHUB_PORT": str(port),
        "VOXHUB_KOKORO_VOICES_DIR": str(SHARED / "models" / "kokoro" / "voices"),
        "VOXHUB_REFINE_PROFILES": "false",  # measure the request path, not background jobs
        "VOXHUB_LOG_LEVEL": "WARNING",
        "VOXHUB_RATE_LIMITS_ENABLED": "false",  # the benchmark is one busy client
    }
    log = open(home / "server.log", "w")  # noqa: SIM115  (the server writes it until it stops)
    proc = subprocess.Popen(
        [sys.executable, "-m", "voxhub.cli", "serve"], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    deadline = time.time() + 600
    while time.time() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.5)
    proc.kill()
    raise RuntimeError("server did not start")


def median(xs: list[float]) -> float:
    return round(statistics.median(xs), 4)


def fresh_home() -> Path:
    """A new database and blob folder each run; the model caches are kept (first start is slow)."""
    home = REPO / "bench" / "out" / "home"
    for name in ("voxhub.db", "voxhub.db-wal", "voxhub.db-shm", "blobs", "jwt.key"):
        target = home / name
        if target.is_dir():
            shutil.rmtree(target)
        else:
            target.unlink(missing_ok=True)
    home.mkdir(parents=True, exist_ok=True)
    return home


def api_key(log: Path) -> str:
    for line in log.read_text().splitlines():
        if "API key:" in line:
            return line.split()[-1]
    raise RuntimeError("the server printed no API key")


def main() -> None:
    home = fresh_home()
    port = free_port()
    proc = start_server(home, port)
    base = f"http://127.0.0.1:{port}"
    try:
        headers = {"Authorization": f"Bearer {api_key(home / 'server.log')}"}
        results = measure(httpx.Client(base_url=base, timeout=300, headers=headers))
        results["server_peak_rss_mb"] = round(peak_rss_mb(proc.pid), 1)
    finally:
        proc.terminate()
        proc.wait(30)
    # Scale-out: `voxhub serve` and `voxhub worker`s on Redis and PostgreSQL (bench/jobs.py).
    results["jobs"] = measure_jobs()
    # The embedded LLM in this process, after the server stopped (bench/llm.py).
    results["llm"] = asyncio.run(measure_llm())
    # Ambience beds: seconds of bed per CPU second (bench/ambience.py).
    results["ambience"] = measure_ambience()
    # Dialogue video: 720p encode frames per second of wall time (bench/video.py).
    results["video"] = measure_video()
    # The watermark on every output: its share of synthesis time, and what it adds to a
    # stream's first chunk (bench/watermark.py). The server's `ttfb` above includes it.
    results["watermark"] = asyncio.run(measure_watermark())
    results["machine"] = (
        f"{platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}"
    )
    results["runs"] = RUNS
    print(json.dumps(results, indent=2))


def first_byte_s(client: httpx.Client, path: str, body: dict[str, object]) -> float:
    """Seconds to the first audio byte of a streamed request (the rest is read, so the server
    records the whole stream)."""
    t0 = time.perf_counter()
    first: float | None = None
    with client.stream("POST", path, json=body) as s:
        s.raise_for_status()
        for chunk in s.iter_bytes():
            if chunk and first is None:
                first = time.perf_counter() - t0
    assert first is not None, f"{path} sent no audio"
    return first


def measure(client: httpx.Client) -> dict[str, float | str | int]:
    register, voice_ids = [], []
    for i in range(RUNS):
        name = REFERENCES[i % len(REFERENCES)]
        data = (SPEECH / name).read_bytes()
        t0 = time.perf_counter()
        r = client.post(
            "/api/v1/voices",
            files={"file": (name, data)},
            data={"name": f"bench {i}", "consent": "self"},
        )
        register.append(time.perf_counter() - t0)
        r.raise_for_status()
        voice_ids.append(r.json()["id"])
    voice = voice_ids[0]

    key = client.headers["authorization"].removeprefix("Bearer ")
    rtf, overhead, ttfb, openai_ttfb, ws_first = [], [], [], [], []
    for i in range(RUNS):
        text = f"{SENTENCES[i % 5]} {SENTENCES[(i + 1) % 5]} Run {i}."
        t0 = time.perf_counter()
        r = client.post("/api/v1/speech", json={"voice_id": voice, "text": text})
        wall = time.perf_counter() - t0
        r.raise_for_status()
        gen = client.get(f"/api/v1/generations/{r.headers['x-voxhub-generation-id']}").json()
        engine_s = gen["engine_seconds"]
        rtf.append(engine_s / gen["duration_s"])
        overhead.append((wall - engine_s) / engine_s)

        body = {
            "voice_id": voice,
            "text": f"{SENTENCES[(i + 2) % 5]} {SENTENCES[(i + 3) % 5]} Stream {i}.",
            "stream": True,
            "format": "pcm",
        }
        ttfb.append(first_byte_s(client, "/api/v1/speech", body))
        # The same kind of request through the OpenAI face, beside the native one in one run.
        openai_body = {
            "model": "tts-1",
            "voice": voice,
            "input": f"{SENTENCES[(i + 3) % 5]} {SENTENCES[(i + 4) % 5]} Face {i}.",
            "response_format": "pcm",
        }
        openai_ttfb.append(first_byte_s(client, "/v1/audio/speech", openai_body))
        # And through ElevenLabs' text-in WebSocket: two sentences sent at once, flushed.
        spoken = f"{SENTENCES[(i + 4) % 5]} {SENTENCES[i % 5]} Socket {i}."
        ws_first.append(first_audio_s(str(client.base_url), key, voice, spoken))
    chat = measure_chat(client, voice, RUNS)  # the embedded LLM and engine, through the API
    renders = measure_renders(client, voice)  # after the chat: its script needs the LLM loaded
    auth = {"Authorization": client.headers["authorization"]}
    lag = measure_lag(str(client.base_url), auth, voice)  # last: its jobs load the server
    return (
        lag
        | chat
        | {"renders": renders}
        | {
            "register_10s_reference_s_median": median(register),
            "engine_rtf_median": median(rtf),
            "stream_first_byte_s_median": median(ttfb),
            "openai_stream_first_byte_s_median": median(openai_ttfb),
            "websocket_first_audio_s_median": median(ws_first),
            # Above 1: the socket's first audio comes later than the native stream's first byte.
            "websocket_to_native_first_byte_ratio": round(median(ws_first) / median(ttfb), 3),
            "api_overhead_share_median": median(overhead),
            "engine": client.get("/api/v1/engines").json()[0]["name"],
        }
    )


if __name__ == "__main__":
    main()
