"""Post-adaptation: move a blended voice toward its speaker's pitch and long-term spectrum.

A blend of stock packs gets the rough character of a voice but keeps the packs' own
brightness and pitch. Two cheap corrections, fitted once during refinement from the reference
and the voice's own speech, close much of the rest:
- pitch: the ratio of the reference's median F0 to the voice's, applied inside the model
  (`f0_scale`, see `graph.py`), so formants stay put and no vocoder round trip is needed;
- spectrum: a fixed linear-phase equaliser whose gain is a fraction (`STRENGTH`) of the
  difference between the two long-term average spectra, smoothed to third octaves and
  limited to +/- `LIMIT_DB`.

With `make eval` (ten shared speakers, six test sentences, similarity to the speaker's *other*
recording) the instant blend scored 0.25 normalised without an equaliser and 0.40 with one;
refinement with the equaliser and pitch scale reaches 0.49; Whisper's word error stayed at or
under 0.1 % (bench/results/latest.md). The strength of 0.7 is a compromise, not a fit: part of
a spectral match copies the reference's microphone and room rather than the voice, which is
why the strength stays below 1 and the gain is limited.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

N_FFT = 1024  # at 24 kHz: 23 Hz bins, a 43 ms window
_HOP = 256
STRENGTH = 0.7
LIMIT_DB = 12.0
_SPEECH_RANGE_DB = 35.0  # frames this far below the loudest frame count as pauses
_LEVEL_BAND = (150.0, 6000.0)  # where the two spectra are levelled before comparing
_LOW_EDGE = 80.0  # below: leave alone (rumble, hum)
_HIGH_EDGE = (7500.0, 9000.0)  # above: fade the correction out (references are often 16 kHz)
F0_RANGE = (0.75, 1.33)  # the pitch ratio is kept to what the model renders cleanly


def bin_frequencies(rate: int) -> np.ndarray:
    """Centre frequency of each of the N_FFT // 2 + 1 bins."""
    return np.fft.rfftfreq(N_FFT, 1.0 / rate)


def long_term_spectrum(samples: np.ndarray, rate: int) -> np.ndarray:
    """Mean power spectrum of the speech frames (pauses left out): N_FFT // 2 + 1 bins."""
    x = np.asarray(samples, dtype=np.float64)
    if len(x) < N_FFT:
        x = np.pad(x, (0, N_FFT - len(x)))
    frames = np.lib.stride_tricks.sliding_window_view(x, N_FFT)[::_HOP]
    power = np.abs(np.fft.rfft(frames * np.hanning(N_FFT), axis=1)) ** 2
    energy = 10 * np.log10(power.sum(axis=1) + 1e-12)
    speech = energy > energy.max() - _SPEECH_RANGE_DB
    return np.asarray(power[speech].mean(axis=0))


def _third_octaves(freqs: np.ndarray, power: np.ndarray) -> np.ndarray:
    """Power smoothed over a third of an octave around each bin, in dB."""
    cumulative = np.concatenate([[0.0], np.cumsum(power)])
    lo = np.searchsorted(freqs, freqs * 2 ** (-1 / 6), side="left")
    hi = np.searchsorted(freqs, freqs * 2 ** (1 / 6), side="right")
    hi = np.maximum(hi, lo + 1)
    mean = (cumulative[hi] - cumulative[lo]) / (hi - lo)
    return np.asarray(10 * np.log10(mean + 1e-12))


def equaliser_gains(
    reference: np.ndarray, voice: np.ndarray, rate: int, strength: float = STRENGTH
) -> np.ndarray:
    """dB gain per bin that moves `voice`'s long-term spectrum toward `reference`'s.

    Both arguments are long-term spectra from `long_term_spectrum`. The gain keeps the voice's
    overall loudness: only the balance between frequencies changes.
    """
    freqs = bin_frequencies(rate)
    ref_db, voice_db = _third_octaves(freqs, reference), _third_octaves(freqs, voice)
    band = (freqs >= _LEVEL_BAND[0]) & (freqs <= _LEVEL_BAND[1])
    difference = (ref_db - ref_db[band].mean()) - (voice_db - voice_db[band].mean())
    gains = np.clip(strength * difference, -LIMIT_DB, LIMIT_DB)
    fade = np.clip((_HIGH_EDGE[1] - freqs) / (_HIGH_EDGE[1] - _HIGH_EDGE[0]), 0.0, 1.0)
    gains = gains * fade * (freqs >= _LOW_EDGE)
    # Keep the voice's power: subtract the power-weighted mean gain.
    weights = voice / max(float(voice.sum()), 1e-12)
    gains -= 10 * np.log10(float(np.sum(weights * 10 ** (gains / 10))) + 1e-12)
    return gains.astype(np.float32)


@dataclass(frozen=True)
class Equaliser:
    """A linear-phase FIR filter built from per-bin gains in dB."""

    taps: np.ndarray

    @classmethod
    def from_gains(cls, gains_db: np.ndarray) -> Equaliser:
        """The filter whose response follows `gains_db` (N_FFT // 2 + 1 values)."""
        magnitude = 10 ** (np.asarray(gains_db, dtype=np.float64) / 20)
        impulse = np.roll(np.fft.irfft(magnitude, N_FFT), N_FFT // 2) * np.hanning(N_FFT)
        return cls(impulse.astype(np.float32))

    def apply(self, samples: np.ndarray) -> np.ndarray:
        """The filtered signal, aligned with the input (the filter's delay removed)."""
        x = np.asarray(samples, dtype=np.float32)
        if len(x) == 0:
            return x
        n = len(x) + len(self.taps) - 1
        size = 1 << (n - 1).bit_length()
        full = np.fft.irfft(np.fft.rfft(x, size) * np.fft.rfft(self.taps, size), size)
        start = len(self.taps) // 2
        return np.asarray(full[start : start + len(x)], dtype=np.float32)


def median_f0(samples: np.ndarray, rate: int) -> float:
    """Median pitch of the voiced frames in Hz (probabilistic YIN); NaN when none are voiced."""
    import librosa

    y = np.asarray(samples, dtype=np.float32)
    if rate != 16_000:
        y = librosa.resample(y, orig_sr=rate, target_sr=16_000)
    f0, voiced, _ = librosa.pyin(y, fmin=60, fmax=450, sr=16_000, frame_length=1024)
    f0 = f0[voiced & np.isfinite(f0)]
    return float(np.exp(np.median(np.log(f0)))) if f0.size else float("nan")


def pitch_ratio(reference_f0: float, voice_f0: float) -> float:
    """How much to scale the voice's pitch to meet the reference's, within `F0_RANGE`."""
    if not (np.isfinite(reference_f0) and np.isfinite(voice_f0)) or voice_f0 <= 0:
        return 1.0
    return float(np.clip(reference_f0 / voice_f0, *F0_RANGE))
