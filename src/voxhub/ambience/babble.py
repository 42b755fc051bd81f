"""Crowd babble without recordings: many synthetic talkers, too far away to understand.

Each talker is a glottal pulse train (its own pitch, with intonation drifting over phrases)
shaped into syllables (4-6 per second, a smooth hump each) grouped into talk spurts and
pauses. Every syllable takes a vowel; instead of a time-varying filter per talker, each talker's
syllables are summed into one source per vowel and each vowel's formant filter runs once over
the sum (the vowel changes only between syllables, where the hump is silent, so this is the
same sound). The callers low-pass and reverberate the result: unintelligible on purpose.
"""

from __future__ import annotations

import numpy as np

from voxhub.ambience.dsp import coloured, drift, lowpass, resonator, smooth, unit_rms

# Formants (Hz) of six English vowels, after Peterson & Barney's averages.
VOWELS: tuple[tuple[float, float, float], ...] = (
    (730, 1090, 2440),  # father
    (530, 1840, 2480),  # bed
    (270, 2290, 3010),  # beet
    (570, 840, 2410),  # bought
    (300, 870, 2240),  # boot
    (660, 1720, 2410),  # bat
)
_FORMANT_GAINS = (1.0, 0.5, 0.25)
_FORMANT_Q = (6.0, 9.0, 12.0)


def babble(rng: np.random.Generator, n: int, rate: int, talkers: int) -> np.ndarray:
    """`talkers` overlapping synthetic voices, unit RMS."""
    per_vowel = np.zeros((len(VOWELS), n), np.float32)
    t = np.arange(n) / rate
    for i in range(talkers):
        _add_talker(rng, per_vowel, t, rate, high=i % 2 == 1)
    out = np.zeros(n, np.float32)
    for k, formants in enumerate(VOWELS):
        if not per_vowel[k].any():
            continue
        for hz, gain, q in zip(formants, _FORMANT_GAINS, _FORMANT_Q, strict=True):
            out += gain * resonator(per_vowel[k], hz, q, rate)
    # A little breath noise under the voicing, as real voices have.
    breath = unit_rms(lowpass(coloured(rng, n, 1.0), 3000, rate))
    return unit_rms(unit_rms(out) + 0.08 * breath)


def _add_talker(
    rng: np.random.Generator, per_vowel: np.ndarray, t: np.ndarray, rate: int, high: bool
) -> None:
    n = len(t)
    base = rng.uniform(180, 250) if high else rng.uniform(95, 140)
    f0 = base * (1.0 + 0.12 * drift(rng, n, rate, 0.7))
    phase = np.cumsum(f0 / rate)
    pulses = np.diff(np.floor(phase), prepend=0.0).astype(np.float32)  # 1 where a cycle starts
    # Syllables of 0.12-0.28 s, back to back; the vowel of each is random.
    count = int(t[-1] / 0.12) + 4 if n else 0
    ends = np.cumsum(rng.uniform(0.12, 0.28, count))
    idx = np.minimum(np.searchsorted(ends, t, side="right"), count - 1)
    starts = ends - np.diff(ends, prepend=0.0)
    frac = (t - starts[idx]) / (ends[idx] - starts[idx])
    hump = np.sin(np.pi * np.clip(frac, 0.0, 1.0)) ** 0.7
    vowel = rng.integers(0, len(VOWELS), count)[idx]
    # Talk spurts of 1-4 s between pauses of 0.3-1.5 s, the gate ramped over 50 ms.
    gate = _spurts(rng, t, rate)
    level = 10.0 ** (rng.uniform(-6.0, 0.0) / 20.0)
    voiced = (pulses * hump * gate * level).astype(np.float32)
    for k in range(len(VOWELS)):
        per_vowel[k] += np.where(vowel == k, voiced, 0.0).astype(np.float32)


def _spurts(rng: np.random.Generator, t: np.ndarray, rate: int) -> np.ndarray:
    pairs = int(t[-1] / 1.3) + 2 if len(t) else 0
    lengths = np.empty(2 * pairs)
    lengths[0::2] = rng.uniform(1.0, 4.0, pairs)  # talking
    lengths[1::2] = rng.uniform(0.3, 1.5, pairs)  # pausing
    edges = np.cumsum(lengths) - rng.uniform(0.0, 3.0)  # not everyone starts at once
    talking = (np.searchsorted(edges, t, side="right") % 2 == 0).astype(np.float32)
    return smooth(talking, int(0.05 * rate))
