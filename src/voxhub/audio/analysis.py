"""Measurements of a reference: clipping, signal-to-noise ratio, amount of speech."""

from __future__ import annotations

import numpy as np

CLIP_LEVEL = 0.999
FRAME_S = 0.02
# Less non-speech than this is too little to measure a noise floor from.
MIN_NOISE_S = 0.25
# With no usable pause, the quietest frames stand in for the noise floor.
NOISE_PERCENTILE = 10.0
# Digital silence in the pauses would make the ratio infinite; cap the floor at -100 dBFS.
MIN_NOISE_POWER = 1e-10


def clipping_ratio(samples: np.ndarray) -> float:
    """Share of samples at full scale (|x| >= 0.999)."""
    x = np.asarray(samples)
    if not len(x):
        return 0.0
    return float(np.count_nonzero(np.abs(x) >= CLIP_LEVEL) / len(x))


def speech_seconds(regions: list[tuple[int, int]], sample_rate: int) -> float:
    """Total length of the speech regions in seconds."""
    return sum(end - start for start, end in regions) / sample_rate


def snr_estimate_db(
    samples: np.ndarray, sample_rate: int, regions: list[tuple[int, int]]
) -> float | None:
    """Speech power over noise power in dB; None without speech."""
    x = np.asarray(samples, dtype=np.float64)
    frame = max(1, round(FRAME_S * sample_rate))
    n = len(x) // frame
    if not regions or n == 0:
        return None
    power = np.mean(x[: n * frame].reshape(n, frame) ** 2, axis=1)
    mask = np.zeros(len(x), dtype=bool)
    for start, end in regions:
        mask[start:end] = True
    # A frame counts as speech if most of it lies in a speech region.
    is_speech = mask[: n * frame].reshape(n, frame).mean(axis=1) > 0.5
    if not is_speech.any():
        return None
    speech_power = float(np.mean(power[is_speech]))
    pauses = power[~is_speech]
    if len(pauses) * FRAME_S >= MIN_NOISE_S:
        # Median rather than mean: breaths and clicks in the pauses are not the noise floor.
        noise_power = float(np.median(pauses))
    else:
        noise_power = float(np.percentile(power, NOISE_PERCENTILE))
    noise_power = max(noise_power, MIN_NOISE_POWER)
    if speech_power <= noise_power:
        return 0.0
    # Speech frames carry the noise too; subtract it to get the speech's own power.
    return float(10.0 * np.log10((speech_power - noise_power) / noise_power))
