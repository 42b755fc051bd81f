"""The inaudible watermark on everything voxhub emits: Resemble's Perth (implicit PerthNet).

`Watermarker.apply` marks float32 mono audio at any rate and returns the same length at the
same rate; `Watermarker.detect` scores audio in [0, 1] and `is_marked` compares the score with
DETECT_THRESHOLD. Both block (tens of milliseconds a second of audio on a CPU core): callers on
the event loop run them in a thread. The network is read-only once loaded and each call keeps
its own tensors, so one instance serves any number of threads at once.

Perth works on 32 kHz audio and only writes below 2 kHz (its `max_wmark_freq`). voxhub
resamples to 32 kHz, lets Perth compute the marked spectrogram, and keeps only the difference
it made (the inverse STFT of marked minus unmarked spectrum), which it resamples back and adds
to the caller's samples. So the caller's audio is otherwise untouched: no band limit at 16 kHz
for 44.1 / 48 kHz output, no resampling ripple, and no STFT round trip outside the mark.

Long audio is processed in blocks of BLOCK_S seconds with MARGIN_S of context on each side
(the encoder sees about 0.3 s around a frame), which bounds memory for hour-long jobs.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import soxr
import torch

from voxhub.safety.perth_runtime import PerthModel, WatermarkUnavailable, load_perth

__all__ = ["DETECT_THRESHOLD", "WatermarkUnavailable", "Watermarker", "shared_watermarker"]

# Chosen from measurements (tests/safety/test_watermark_robustness.py has the table): unmarked
# real speech (all 80 recordings of ../shared/data/speech and speech-pool) scores 0.000-0.218;
# marked speech scores >= 0.81 after MP3 32 kb/s, Opus, 8 kHz mu-law, resampling, gain and a 1 s
# excerpt, and >= 0.53 with white noise at 30 dB SNR; a +1 semitone pitch shift leaves
# 0.000-0.227. 0.4 keeps about 0.18 of margin above every unmarked recording and 0.13 below
# the weakest marked one.
DETECT_THRESHOLD = 0.4

BLOCK_S = 20.0  # apply: seconds per block (bounds memory on long audio)
MARGIN_S = 1.0  # apply: context each side of a block
DETECT_S = 1.0  # detect: seconds per scored window (a 1 s excerpt still detects: measured)
# apply: the residual is gated to where the audio sounds (see `_sounding`): frames of
# GATE_HOP_S whose peak is above -80 dBFS, ramped over GATE_RAMP_S inside them.
GATE_FLOOR = 1e-4
GATE_HOP_S = 0.01
GATE_RAMP_S = 0.005


class Watermarker:
    """Perth's watermark at any sample rate. Build it with `Watermarker.load()` (seconds)."""

    def __init__(self, model: PerthModel, block_s: float = BLOCK_S) -> None:
        self._model = model
        self._ap = model.net.ap
        self.model_rate = model.sample_rate
        # torch.stft's reflect padding needs more than n_fft // 2 samples: pad shorter input.
        self._min_samples = int(model.hp.n_fft)
        self._block = int(block_s * self.model_rate)
        self._margin = int(MARGIN_S * self.model_rate)
        self._window = int(DETECT_S * self.model_rate)

    @property
    def model(self) -> PerthModel:
        """The loaded network (tests and diagnostics read its checkpoint and step)."""
        return self._model

    @classmethod
    def load(cls, weights_dir: Path | None = None) -> Watermarker:
        """Load Perth from its wheel (or `weights_dir`); raises WatermarkUnavailable."""
        return cls(load_perth(weights_dir))

    def apply(self, samples: np.ndarray, rate: int) -> np.ndarray:
        """`samples` with the watermark added: float32, same length, same rate."""
        x = _mono(samples, rate)
        if not len(x):
            return x
        y = self._to_model_rate(x, rate)
        residual = np.zeros_like(y)
        for start, stop in _blocks(len(y), self._block):
            lo, hi = max(0, start - self._margin), min(len(y), stop + self._margin)
            residual[start:stop] = self._residual(y[lo:hi])[start - lo : stop - lo]
        if rate != self.model_rate:
            residual = soxr.resample(residual, self.model_rate, rate, quality="VHQ")
        return (x + _fit(residual, len(x)) * _sounding(x, rate)).astype(np.float32, copy=False)

    def detect(self, samples: np.ndarray, rate: int) -> float:
        """Watermark score in [0, 1]: near 1 marked, near 0 not (silence scores 0).

        Perth's decoder averages over every frame above 5 % of the loudest one, so in a noisy
        copy the pauses (noise, no mark) dilute the score. voxhub scores windows of DETECT_S
        and weights each by its power instead: with white noise at 30 dB SNR the weakest
        recording measured went from 0.395 (whole clip) to 0.528, and unmarked scores did
        not rise (tests/safety/test_watermark_robustness.py).
        """
        x = _mono(samples, rate)
        if not len(x):
            return 0.0
        y = self._to_model_rate(x, rate)
        total = weight = 0.0
        for start, stop in _blocks(len(y), self._window):
            piece = y[start:stop]
            score = self._score(piece)
            # A window with no frame loud enough for Perth's mask has no score (0/0): skip it.
            if math.isfinite(score):
                power = float(np.mean(piece.astype(np.float64) ** 2))
                total += min(1.0, max(0.0, score)) * power
                weight += power
        return total / weight if weight > 0 else 0.0

    def is_marked(self, samples: np.ndarray, rate: int) -> bool:
        return self.detect(samples, rate) >= DETECT_THRESHOLD

    def _to_model_rate(self, x: np.ndarray, rate: int) -> np.ndarray:
        if rate == self.model_rate:
            return x
        return soxr.resample(x, rate, self.model_rate).astype(np.float32, copy=False)

    def _padded(self, y: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.pad(y, (0, max(0, self._min_samples - len(y)))))

    def _residual(self, y: np.ndarray) -> np.ndarray:
        model = self._model
        with torch.inference_mode():
            signal = self._padded(y)
            mag, phase = self._ap.signal_to_magphase(signal)
            marked, _mask = model.net.encoder(mag[None])
            diff = model.magphase_to_cx(model.hp, marked[0], phase) - model.magphase_to_cx(
                model.hp, mag, phase
            )
            residual = self._ap.inv_spectrogram(diff, length=len(signal))
        return residual.numpy()[: len(y)]

    def _score(self, y: np.ndarray) -> float:
        with torch.inference_mode():
            mag, _phase = self._ap.signal_to_magphase(self._padded(y))
            return float(self._model.net.decoder(mag[None])[0])


_shared: Watermarker | None = None
_shared_lock = threading.Lock()


def shared_watermarker() -> Watermarker:
    """The process's one Watermarker, loaded on first call (blocking)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = Watermarker.load()
        return _shared


def _mono(samples: np.ndarray, rate: int) -> np.ndarray:
    x = np.asarray(samples, dtype=np.float32)
    if x.ndim != 1:
        raise ValueError(f"Expected mono samples (a 1-D array), got shape {x.shape}")
    if rate <= 0:
        raise ValueError(f"Sample rate must be positive, got {rate}")
    # The encoders turn NaN into silence; here one NaN would spread over a whole STFT block.
    return np.nan_to_num(x, nan=0.0, posinf=1.0, neginf=-1.0)


def _sounding(x: np.ndarray, rate: int) -> np.ndarray:
    """1 where `x` sounds, 0 in its digital silence, with GATE_RAMP_S ramps between.

    Perth's residual spills about 0.1 s past the end of a sound (its STFT window and the
    encoder's context), at up to -28 dBFS after a loud tone: into a pause a request asked for
    (`<break>`) or the gap between dialogue lines, which must stay silent. The decoder never
    reads those frames (it scores only frames above 5 % of the loudest), so gating them off
    costs the mark nothing (tests/safety/test_watermark_robustness.py still passes).
    """
    hop = max(1, int(GATE_HOP_S * rate))
    frames = math.ceil(len(x) / hop)
    peaks = np.abs(np.pad(x, (0, frames * hop - len(x)))).reshape(frames, hop).max(axis=1)
    on = peaks > GATE_FLOOR
    if on.all():
        return np.ones(len(x), np.float32)
    gate = np.repeat(on.astype(np.float32), hop)[: len(x)]
    # Ramped inside the sounding frames (no click where the mark starts or stops); outside
    # them the product is exactly zero.
    ramp = max(1, int(GATE_RAMP_S * rate))
    kernel = np.hanning(2 * ramp + 1).astype(np.float32)
    smooth = np.convolve(gate, kernel / kernel.sum(), mode="same").astype(np.float32)
    return smooth * gate


def _blocks(n: int, block: int) -> Iterator[tuple[int, int]]:
    """`n` samples as near-equal blocks of at most `block` (no short tail block)."""
    count = max(1, math.ceil(n / block))
    edges = np.linspace(0, n, count + 1).round().astype(int)
    yield from zip(edges[:-1].tolist(), edges[1:].tolist(), strict=True)


def _fit(x: np.ndarray, n: int) -> np.ndarray:
    return x[:n] if len(x) >= n else np.pad(x, (0, n - len(x)))
