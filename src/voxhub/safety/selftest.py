"""Fail closed: prove at start-up that the watermark is applied and detected, or refuse to run.

`startup_watermarker()` is what the app's start-up (and `voxhub worker`) calls, in a thread:
it loads the process's Watermarker and runs `self_test` on it, and either returns a
Watermarker that works or raises WatermarkUnavailable with the reason. There is no fallback
to unmarked audio.

The test signals are made in code, seeded, so every machine checks the same thing. Perth is
trained on speech and scores some steady synthetic tones high even unmarked (a 1 kHz tone with
4 Hz tremolo: 0.99; a 440 Hz harmonic tone: 0.91) and fails to mark others (a 150 Hz harmonic
tone with no noise: 0.19), so the tone-like signal here is voice-like on purpose: a 200 Hz
harmonic series with vibrato, a syllable-rate envelope and breath noise (unmarked 0.00,
marked 1.00 when measured), beside 1 s of white noise (0.00 / 1.00).
"""

from __future__ import annotations

import threading

import numpy as np

from voxhub.safety.perth_runtime import WatermarkUnavailable
from voxhub.safety.watermark import DETECT_THRESHOLD, Watermarker, shared_watermarker

SELF_TEST_RATE = 24_000  # the embedded engine's rate: the path most audio takes


def probe_signals(rate: int = SELF_TEST_RATE) -> dict[str, np.ndarray]:
    """1 s of white noise and 1.5 s of a voice-like harmonic tone, float32 at `rate`."""
    rng = np.random.default_rng(20_260_515)
    noise = 0.1 * rng.standard_normal(rate)
    t = np.arange(int(1.5 * rate)) / rate
    f0 = 200.0 * (1 + 0.05 * np.sin(2 * np.pi * 5 * t))  # vibrato
    phase = 2 * np.pi * np.cumsum(f0) / rate
    voiced = sum(np.sin(k * phase) / k for k in range(1, 11))
    voiced = voiced / np.max(np.abs(voiced)) * (1 + 0.5 * np.sin(2 * np.pi * 3 * t)) / 1.5
    tone = 0.2 * (voiced + 0.3 * rng.standard_normal(len(t)))
    return {"white noise": noise.astype(np.float32), "voice-like tone": tone.astype(np.float32)}


def self_test(watermarker: Watermarker, rate: int = SELF_TEST_RATE) -> dict[str, float]:
    """Mark each test signal and detect it; unmarked ones must not be detected.

    Returns the scores by name; raises WatermarkUnavailable naming the first check that failed.
    """
    scores: dict[str, float] = {}
    for name, clean in probe_signals(rate).items():
        try:
            marked = watermarker.apply(clean, rate)
            marked_score = watermarker.detect(marked, rate)
            clean_score = watermarker.detect(clean, rate)
        except WatermarkUnavailable:
            raise
        except Exception as exc:
            raise WatermarkUnavailable(f"Watermark self-test crashed on {name}: {exc!r}") from exc
        if marked.shape != clean.shape or not np.isfinite(marked).all():
            raise WatermarkUnavailable(
                f"Watermark self-test: marking {name} returned {marked.shape} samples "
                f"(expected {clean.shape}, all finite)"
            )
        if marked_score < DETECT_THRESHOLD:
            raise WatermarkUnavailable(
                f"Watermark self-test: the mark was not detected in {name} "
                f"(score {marked_score:.3f} < threshold {DETECT_THRESHOLD})"
            )
        if clean_score >= DETECT_THRESHOLD:
            raise WatermarkUnavailable(
                f"Watermark self-test: unmarked {name} was detected as marked "
                f"(score {clean_score:.3f} >= threshold {DETECT_THRESHOLD})"
            )
        scores[f"{name} marked"] = marked_score
        scores[f"{name} unmarked"] = clean_score
    return scores


def startup_watermarker(watermarker: Watermarker | None = None) -> Watermarker:
    """Self-test `watermarker` (default: the process's shared one, loaded on first call) and
    return it; raises WatermarkUnavailable. Blocking: a few seconds the first time.

    The shared instance is tested once per process (every container a process builds uses
    it); any other instance is tested each time it is given.
    """
    global _shared_passed
    if watermarker is not None:
        self_test(watermarker)
        return watermarker
    with _shared_lock:
        shared = shared_watermarker()
        if not _shared_passed:
            self_test(shared)
            _shared_passed = True
        return shared


_shared_passed = False
_shared_lock = threading.Lock()
