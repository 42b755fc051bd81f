"""Event-loop lag: how long `GET /health` takes while hostile texts are being submitted.

Hostile texts of each class (long runs of each punctuation mark, of digits, of nested quotes
and brackets, of emoji) go in as synchronous requests and as jobs, from several clients at once,
while one client asks for `/health` about every 20 ms. Texts too long once spoken are refused
(413) after the server has planned them; the others are made of marks the engine does not
voice, so what they cost is planning, not synthesis.
"""

# Quotes and dashes that look like ASCII ones are the point of some texts.
# ruff: noqa: RUF001

from __future__ import annotations

import string
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx

SUBMITTERS = 4
PROBE_EVERY_S = 0.02
SYNC_CHARS = 20_000  # past the synchronous limit in any reading: refused after planning
SYNC_SPOKEN = 4_900  # under it, when the marks are silent: planned, split and spoken
JOB_CHARS = 95_000  # just under the job limit
MARKS = string.punctuation + "…—–“”‘’«»¡¿·"
# Marks espeak-ng reads as nothing (checked with phonemes.phonemize): texts of these are spoken
# cheaply, so they can be accepted and go through the whole plan, splitting included.
SILENT = ".!?,;:…—–\"'()[]{}«»“”‘’*/\\^_|-"


def hostile_texts() -> list[tuple[str, str, bool]]:
    """(class, text, async) for each hostile text sent."""
    out: list[tuple[str, str, bool]] = []
    for mark in MARKS:
        out.append(("punctuation", mark * SYNC_CHARS + "X", False))
        if mark in SILENT:
            out.append(("punctuation", "Hi" + mark * SYNC_SPOKEN + " there.", False))
            out.append(("punctuation", "Hi" + mark * JOB_CHARS + " there.", True))
    nest = "\"'([{«“‘"
    close = "’”»}])'\""
    for n, run_async in ((SYNC_SPOKEN // 16, False), (JOB_CHARS // 16, True)):
        out.append(("quotes and brackets", nest * n + "Hi there" + close * n, run_async))
        out.append(("emoji", "Hi " + "\U0001f600" * (n * 16) + " there.", run_async))
        out.append(
            ("emoji", "Hi " + "\U0001f468\u200d\U0001f469\u200d\U0001f467" * n * 3, run_async)
        )
    for size, run_async in ((SYNC_CHARS, False), (JOB_CHARS, True)):
        out.append(("digits", "7" * size, run_async))
        out.append(("digits", "1" + ",000" * (size // 4), run_async))
    return out


def _probe(base: str, stop: threading.Event, waits: list[float]) -> None:
    with httpx.Client(base_url=base, timeout=60) as client:
        while not stop.is_set():
            started = time.perf_counter()
            client.get("/health").raise_for_status()
            waits.append(time.perf_counter() - started)
            time.sleep(PROBE_EVERY_S)


def _percentile(xs: list[float], q: float) -> float:
    ordered = sorted(xs)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _wait_for_jobs(client: httpx.Client, deadline_s: float) -> float:
    """Seconds until no job is queued or running (or the deadline passes)."""
    started = time.perf_counter()
    while time.perf_counter() - started < deadline_s:
        jobs = client.get("/api/v1/jobs", params={"limit": 100}).json()["items"]
        if not any(j["status"] in ("queued", "running") for j in jobs):
            break
        time.sleep(1)
    return time.perf_counter() - started


def measure_lag(base: str, headers: dict[str, str], voice: str) -> dict[str, float | int | str]:
    texts = hostile_texts()
    waits: list[float] = []
    stop = threading.Event()
    prober = threading.Thread(target=_probe, args=(base, stop, waits))
    answers: Counter[str] = Counter()
    counting = threading.Lock()
    with httpx.Client(base_url=base, timeout=600, headers=headers) as client:

        def submit(item: tuple[str, str, bool]) -> None:
            kind, text, run_async = item
            body = {"voice_id": voice, "text": text, "async": run_async, "format": "pcm"}
            r = client.post("/api/v1/speech", json=body)
            with counting:
                answers[f"{kind} {'job' if run_async else 'sync'} {r.status_code}"] += 1

        prober.start()
        started = time.perf_counter()
        with ThreadPoolExecutor(SUBMITTERS) as pool:
            list(pool.map(submit, texts))
        submitting_s = time.perf_counter() - started
        stop.set()
        prober.join()
        jobs_s = _wait_for_jobs(client, 600)
    return {
        "loop_lag_health_p50_ms": round(_percentile(waits, 0.50) * 1000, 1),
        "loop_lag_health_p99_ms": round(_percentile(waits, 0.99) * 1000, 1),
        "loop_lag_health_max_ms": round(max(waits) * 1000, 1),
        "loop_lag_probes": len(waits),
        "loop_lag_hostile_texts": len(texts),
        "loop_lag_answers": ", ".join(f"{k}: {v}" for k, v in sorted(answers.items())),
        "loop_lag_submitting_s": round(submitting_s, 1),
        "loop_lag_jobs_drained_s": round(jobs_s, 1),
    }
