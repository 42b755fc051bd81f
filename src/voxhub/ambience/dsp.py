"""Vectorised building blocks for synthesised beds: coloured noise, filters, envelopes, events.

Everything takes a `numpy.random.Generator`, so a bed is a pure function of its seed. Nothing
here loops per sample in Python: noise is shaped in the frequency domain, filters run in
scipy's C code, and events are impulse trains convolved with one kernel per kind of event.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import ndimage, signal

Kernel = Callable[[np.random.Generator], np.ndarray]


def nyquist_safe(hz: float, rate: int) -> float:
    """`hz`, kept under 45% of the rate, so a recipe written for 48 kHz still runs at 8 kHz."""
    return min(hz, 0.45 * rate)


def coloured(rng: np.random.Generator, n: int, exponent: float) -> np.ndarray:
    """Noise with power falling as 1/f**exponent (0 white, 1 pink, 2 brown), unit RMS."""
    if n == 0:
        return np.zeros(0, np.float32)
    spectrum = np.fft.rfft(rng.standard_normal(n))
    f = np.arange(len(spectrum), dtype=np.float64)
    f[0] = 1.0  # no DC blow-up; the DC bin is zeroed below anyway
    spectrum *= f ** (-exponent / 2.0)
    spectrum[0] = 0.0
    return unit_rms(np.fft.irfft(spectrum, n))


def unit_rms(x: np.ndarray) -> np.ndarray:
    r = rms(x)
    return (x / r if r > 0 else x).astype(np.float32)


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) if len(x) else 0.0


def db(gain_db: float) -> float:
    return float(10.0 ** (gain_db / 20.0))


def bandpass(x: np.ndarray, lo: float, hi: float, rate: int, order: int = 2) -> np.ndarray:
    hi = nyquist_safe(hi, rate)
    lo = min(lo, hi * 0.8)
    sos = signal.butter(order, [lo, hi], btype="bandpass", fs=rate, output="sos")
    return signal.sosfilt(sos, x).astype(np.float32)


def lowpass(x: np.ndarray, hz: float, rate: int, order: int = 2) -> np.ndarray:
    sos = signal.butter(order, nyquist_safe(hz, rate), btype="lowpass", fs=rate, output="sos")
    return signal.sosfilt(sos, x).astype(np.float32)


def highpass(x: np.ndarray, hz: float, rate: int, order: int = 2) -> np.ndarray:
    sos = signal.butter(order, nyquist_safe(hz, rate), btype="highpass", fs=rate, output="sos")
    return signal.sosfilt(sos, x).astype(np.float32)


def resonator(x: np.ndarray, hz: float, q: float, rate: int) -> np.ndarray:
    """A narrow peak at `hz` (a formant, a whistle): a second-order band-pass of quality `q`."""
    b, a = signal.iirpeak(nyquist_safe(hz, rate), q, fs=rate)
    return signal.lfilter(b, a, x).astype(np.float32)


def drift(rng: np.random.Generator, n: int, rate: int, period_s: float) -> np.ndarray:
    """A slow random curve around 0 (about unit range) that changes over `period_s` seconds.

    Random values at control points, linearly joined and then smoothed over one period, so the
    curve has no corners: gusts, a passing crowd's swell, rain getting heavier and lighter.
    """
    if n == 0:
        return np.zeros(0, np.float32)
    step = max(1, int(period_s * rate))
    points = rng.uniform(-1.0, 1.0, n // step + 3)
    curve = np.interp(np.arange(n), np.arange(len(points)) * step, points)
    return smooth(curve, step)


def smooth(x: np.ndarray, width: int) -> np.ndarray:
    """A moving average over `width` samples (O(n) for any width)."""
    return ndimage.uniform_filter1d(np.asarray(x, np.float32), max(1, width), mode="nearest")


def unit_peak(x: np.ndarray) -> np.ndarray:
    """Scaled so its loudest sample is 1: for sparse events (clicks, birds), whose RMS says
    little about how loud they sound."""
    peak = float(np.abs(x).max()) if len(x) else 0.0
    return (x / peak if peak > 0 else x).astype(np.float32)


def impulses(
    rng: np.random.Generator, n: int, rate: int, per_second: float, spread_db: float = 12.0
) -> np.ndarray:
    """A Poisson train of impulses with random levels over `spread_db`: where events happen."""
    out = np.zeros(n, np.float32)
    count = rng.poisson(per_second * n / rate) if n else 0
    if count:
        where = rng.integers(0, n, count)
        out[where] += 10.0 ** (-rng.uniform(0.0, spread_db, count) / 20.0)
    return out


def scatter(train: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Every impulse of `train` replaced by `kernel` (an FFT convolution: fast for any count)."""
    if not len(train) or not len(kernel):
        return np.zeros(len(train), np.float32)
    return signal.fftconvolve(train, kernel)[: len(train)].astype(np.float32)


def events(
    rng: np.random.Generator,
    n: int,
    rate: int,
    per_second: float,
    kernel: Kernel,
    variants: int = 4,
    spread_db: float = 12.0,
) -> np.ndarray:
    """Events at random times, each one of `variants` renderings of `kernel`, at random levels.

    A few variants keep repeats from sounding identical, at the cost of one convolution each.
    """
    out = np.zeros(n, np.float32)
    for _ in range(variants):
        train = impulses(rng, n, rate, per_second / variants, spread_db)
        out += scatter(train, kernel(rng))
    return out


def decay(n: int, rate: int, tau_s: float) -> np.ndarray:
    """An exponential decay envelope of `n` samples with time constant `tau_s`."""
    return np.exp(-np.arange(n) / (tau_s * rate)).astype(np.float32)


def tone(freq_hz: np.ndarray | float, n: int, rate: int, phase: float = 0.0) -> np.ndarray:
    """A sine whose frequency may change per sample (its phase is the running sum)."""
    f = np.broadcast_to(np.asarray(freq_hz, dtype=np.float64), (n,))
    return np.sin(phase + 2.0 * np.pi * np.cumsum(f) / rate).astype(np.float32)


def reverb(
    x: np.ndarray, rate: int, seconds: float, rng: np.random.Generator, wet: float
) -> np.ndarray:
    """A small room: `x` plus its convolution with a decaying noise tail (`seconds` to -60 dB)."""
    n = int(seconds * rate)
    if n < 2 or not len(x):
        return x
    tail = rng.standard_normal(n) * decay(n, rate, seconds / 6.9)
    wet_part = signal.fftconvolve(x, unit_rms(tail) / np.sqrt(n))[: len(x)]
    return ((1.0 - wet) * x + wet * unit_rms(wet_part) * rms(x)).astype(np.float32)


def raised_cosine(n: int) -> np.ndarray:
    """0 to 1 over `n` samples, smooth at both ends (fades, crossfades)."""
    if n <= 0:
        return np.zeros(0, np.float32)
    return (0.5 - 0.5 * np.cos(np.pi * (np.arange(n) + 0.5) / n)).astype(np.float32)


def limit(x: np.ndarray, rate: int, ceiling_db: float = -1.0) -> np.ndarray:
    """Peaks brought under `ceiling_db` with a look-ahead gain curve that never overshoots.

    The gain each sample needs is spread to its neighbours by a minimum filter twice as wide
    as the smoothing that follows, so the smoothed gain is never above what any sample needs.
    """
    ceiling = db(ceiling_db)
    peak = np.abs(x)
    if not len(x) or float(peak.max()) <= ceiling:
        return x.astype(np.float32)
    need = np.minimum(1.0, ceiling / np.maximum(peak, 1e-9))
    w = max(1, int(0.005 * rate))  # 5 ms: short enough not to be heard as pumping
    gain = ndimage.minimum_filter1d(need, size=2 * w + 1, mode="nearest")
    gain = ndimage.uniform_filter1d(gain, size=w + 1, mode="nearest")
    return np.clip(x * gain, -ceiling, ceiling).astype(np.float32)
