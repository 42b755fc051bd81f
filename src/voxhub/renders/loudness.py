"""Loudness as broadcasters measure it: integrated LUFS (ITU-R BS.1770, through pyloudnorm) and
true peak (the peak of the signal oversampled 4x, so peaks between samples count).

A dialogue is normalised twice: each line to a common level before the mix (so one quiet clone
does not vanish between two loud ones), then the final mix to the target from settings.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyloudnorm
from scipy import signal

from voxhub.ambience.dsp import db, limit

# BS.1770 gating needs at least one 400 ms block; shorter audio has no integrated loudness.
MIN_MEASURABLE_S = 0.4
OVERSAMPLE = 4
# Gain is never raised by more than this to reach a target: whisper-quiet audio stays quiet
# rather than having its noise floor pulled up 40 dB.
MAX_GAIN_DB = 30.0
# The limiter works on sample peaks; true peaks overshoot them by a fraction of a dB, so it
# aims a little below the ceiling and the result is measured, not assumed.
TRUE_PEAK_MARGIN_DB = 0.5


@dataclass(frozen=True)
class Loudness:
    integrated_lufs: float | None  # None: too short or silent to measure
    true_peak_dbtp: float


def true_peak_dbtp(x: np.ndarray) -> float:
    if not len(x):
        return -float("inf")
    up = signal.resample_poly(np.asarray(x, np.float64), OVERSAMPLE, 1)
    peak = float(np.max(np.abs(up)))
    return 20 * np.log10(peak) if peak > 0 else -float("inf")


def integrated_lufs(x: np.ndarray, rate: int) -> float | None:
    if len(x) < int(MIN_MEASURABLE_S * rate):
        return None
    value = float(pyloudnorm.Meter(rate).integrated_loudness(np.asarray(x, np.float64)))
    return value if np.isfinite(value) else None


def measure(x: np.ndarray, rate: int) -> Loudness:
    return Loudness(integrated_lufs(x, rate), true_peak_dbtp(x))


def normalise(x: np.ndarray, rate: int, target_lufs: float, ceiling_dbtp: float) -> np.ndarray:
    """`x` brought to `target_lufs` (within what MAX_GAIN_DB allows) with its true peak at or
    under `ceiling_dbtp`.

    Speech peaks sit 15-20 dB over its loudness, so at -16 LUFS the limiter takes off the
    loudest syllables and with them about a decibel of loudness; the gain is applied again
    on what the limiter left, a few times, until the loudness is within a tenth of a LU.
    """
    source = np.asarray(x, np.float32)
    lufs = integrated_lufs(source, rate)
    if lufs is None:
        return _under_ceiling(source, rate, ceiling_dbtp)
    gain_db = min(target_lufs - lufs, MAX_GAIN_DB)
    y = source
    for _ in range(4):
        y = _under_ceiling((source * db(gain_db)).astype(np.float32), rate, ceiling_dbtp)
        reached = integrated_lufs(y, rate)
        short = target_lufs - reached if reached is not None else 0.0
        if abs(short) < 0.1 or gain_db >= MAX_GAIN_DB:
            break
        gain_db = min(gain_db + short, MAX_GAIN_DB)
    return y


def _under_ceiling(x: np.ndarray, rate: int, ceiling_dbtp: float) -> np.ndarray:
    ceiling = ceiling_dbtp - TRUE_PEAK_MARGIN_DB
    for _ in range(3):  # each pass takes off what the true peak still overshoots
        x = limit(x, rate, ceiling)
        over = true_peak_dbtp(x) - ceiling_dbtp
        if over <= 0:
            break
        ceiling -= over + 0.1
    over = true_peak_dbtp(x) - ceiling_dbtp
    if over > 0:  # still over after the passes: a plain gain cut is certain to hold
        x = (x * db(-over - 0.01)).astype(np.float32)
    return x
