"""The mixer: loop seams, ducking measured, fades, the limiter, determinism."""

from __future__ import annotations

import numpy as np
import pytest

from voxhub.ambience.dsp import rms
from voxhub.ambience.mixer import CEILING_DB, Bed, MixSettings, loop, mix

RATE = 16_000


def _db(x: np.ndarray) -> float:
    return float(20 * np.log10(rms(x)))


def _bursts(on_s: float, off_s: float, count: int, amp: float) -> np.ndarray:
    """Tone bursts standing in for speech: `on_s` of a 220 Hz tone, then `off_s` of silence."""
    t = np.arange(int(on_s * RATE)) / RATE
    burst = (amp * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    gap = np.zeros(int(off_s * RATE), np.float32)
    return np.concatenate([np.concatenate([gap, burst]) for _ in range(count)] + [gap])


def test_loop_seam_of_a_tone_has_no_jump() -> None:
    # 0.73 s of a 440 Hz sine is not a whole number of cycles: tiled as it is, it jumps.
    t = np.arange(int(0.73 * RATE)) / RATE
    bed = np.sin(2 * np.pi * 440 * t).astype(np.float32)
    step = float(np.abs(np.diff(bed)).max())
    naive = np.tile(bed, 4)
    assert np.abs(np.diff(naive)).max() > 3 * step  # the seam the crossfade must remove
    looped = loop(bed, 4 * len(bed), RATE)
    assert np.abs(np.diff(looped)).max() <= 1.5 * step


def test_loop_seam_of_noise_keeps_its_level() -> None:
    rng = np.random.default_rng(0)
    bed = (0.1 * rng.standard_normal(2 * RATE)).astype(np.float32)
    looped = loop(bed, 7 * RATE, RATE)
    body = len(bed) - RATE // 2  # the crossfade is at most a quarter of the bed: 0.5 s
    windows = [looped[i : i + RATE // 20] for i in range(0, len(looped) - RATE // 20, RATE // 20)]
    levels = np.array([_db(w) for w in windows])
    assert levels.max() - levels.min() < 4.0  # 50 ms windows of noise, seams included
    for seam in range(body, len(looped), body):
        jump = abs(float(looped[seam]) - float(looped[seam - 1]))
        assert jump < 6 * 0.1 * np.sqrt(2)  # no bigger than noise steps (6 sigma)


def test_ducking_drops_the_bed_by_duck_db_while_speaking() -> None:
    rng = np.random.default_rng(1)
    speech = _bursts(1.0, 2.0, 3, amp=0.3)
    bed = (0.1 * rng.standard_normal(len(speech))).astype(np.float32)
    settings = MixSettings(duck_db=10.0, fade_in_s=0.0, fade_out_s=0.0)
    under = mix(speech, RATE, bed, settings) - speech  # no limiting at these levels
    during, gaps = [], []
    for k in range(3):
        start = (2.0 + 3.0 * k) * RATE
        during.append(under[int(start + 0.3 * RATE) : int(start + 0.8 * RATE)])
        gaps.append(under[int(start + 2.3 * RATE) : int(start + 2.85 * RATE)])
    drop = _db(np.concatenate(gaps)) - _db(np.concatenate(during))
    assert drop == pytest.approx(10.0, abs=1.0)


def test_bed_level_follows_bed_gain_relative_to_the_speech() -> None:
    rng = np.random.default_rng(2)
    speech = _bursts(1.0, 1.0, 3, amp=0.2)
    bed = (0.5 * rng.standard_normal(len(speech))).astype(np.float32)
    settings = MixSettings(bed_gain_db=-18.0, duck_db=0.0, fade_in_s=0.0, fade_out_s=0.0)
    under = mix(speech, RATE, bed, settings) - speech
    speech_db = _db(speech[np.abs(speech) > 0])  # the tone's RMS where it plays
    assert _db(under) - speech_db == pytest.approx(-18.0, abs=1.0)


def test_fades_start_and_end_the_bed_at_silence() -> None:
    speech = np.zeros(4 * RATE, np.float32)
    out = mix(speech, RATE, Bed("rain"), MixSettings(fade_in_s=1.0, fade_out_s=1.0))
    assert rms(out[:80]) < 0.01 * rms(out[RATE : 3 * RATE])
    assert rms(out[-80:]) < 0.01 * rms(out[RATE : 3 * RATE])
    assert rms(out[RATE : 3 * RATE]) > 0


def test_the_sum_never_clips() -> None:
    speech = _bursts(0.5, 0.5, 4, amp=0.99)
    for bed in (Bed("street"), np.ones(RATE, np.float32)):
        out = mix(speech, RATE, bed, MixSettings(bed_gain_db=0.0, duck_db=0.0))
        assert np.isfinite(out).all()
        assert np.abs(out).max() <= 10 ** (CEILING_DB / 20) + 1e-6


def test_library_bed_loops_past_its_render_length_deterministically() -> None:
    speech = _bursts(1.0, 1.0, 20, amp=0.2)  # 41 s: past the 31 s rendered, so it loops
    a = mix(speech, RATE, Bed("wind", seed=3))
    assert len(a) == len(speech) and a.dtype == np.float32
    assert np.array_equal(a, mix(speech, RATE, Bed("wind", seed=3)))
    assert not np.array_equal(a, mix(speech, RATE, Bed("wind", seed=4)))


def test_empty_speech_mixes_to_empty() -> None:
    assert len(mix(np.zeros(0, np.float32), RATE, Bed("cafe"))) == 0
