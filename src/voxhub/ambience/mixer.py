"""Mix an ambience bed under speech: level, loop, fades, ducking, and a limiter on the sum.

    mix(speech, rate, Bed("rain"), MixSettings(bed_gain_db=-18)) -> float32 samples

The bed's level is set relative to the speech (its RMS while someone speaks), so the same
settings sound the same for a whisper and for a shout. While anyone speaks the bed ducks by
`duck_db`: a side-chain on the speech envelope, in 10 ms frames, held 200 ms past the end of
each stretch of speech (short gaps between words do not pump) and started `attack_ms` before
it (a look-ahead: the whole speech is known, so the bed is already down at the first word).
Beds shorter than the speech loop with an equal-power crossfade at the loop point, so the seam
is neither a click nor a dip. A peak limiter keeps the sum under -1 dBFS.

CPU-bound: call `mix` from a thread in async code.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from voxhub.ambience.beds import MAX_RENDER_S, render_bed
from voxhub.ambience.dsp import db, limit, raised_cosine, rms
from voxhub.core.errors import InvalidInput

# Library beds are rendered up to this long and looped beyond: bounded memory and time for a
# long dialogue, and a 30 s loop of noise and random events is not heard as a repeat.
LOOP_S = 30.0
CROSSFADE_S = 1.0
CEILING_DB = -1.0
_FRAME_S = 0.01
_HOLD_S = 0.2
# Frames within this of the loudest frame (and above the floor) count as speech.
_GATE_BELOW_PEAK_DB = 35.0
_GATE_FLOOR_DBFS = -55.0
# Speech level assumed when there is none to measure (silence): a typical voice's RMS.
_QUIET_SPEECH_DBFS = -20.0


@dataclass(frozen=True)
class Bed:
    """A bed from the library, by name; its seed picks one of its endless variations."""

    name: str
    seed: int = 0


@dataclass(frozen=True)
class MixSettings:
    bed_gain_db: float = -20.0  # bed RMS relative to the speech's RMS while speaking
    duck_db: float = 10.0  # how far the bed drops while anyone speaks
    attack_ms: float = 50.0  # time constant of the drop
    release_ms: float = 400.0  # time constant of the return
    fade_in_s: float = 1.0  # of the bed, from the start
    fade_out_s: float = 1.5  # of the bed, to the end


def mix(
    speech: np.ndarray, rate: int, bed: Bed | np.ndarray, settings: MixSettings | None = None
) -> np.ndarray:
    """`speech` with the bed under it: float32 mono at `rate`, as long as the speech.

    `bed` is a library bed or samples at `rate` (an upload), looped or cut to fit.
    """
    s = settings or MixSettings()
    x = np.asarray(speech, np.float32)
    if x.ndim != 1:
        raise InvalidInput("speech must be mono (a 1-D array)", shape=list(x.shape))
    n = len(x)
    if n == 0:
        return x.copy()
    bed_x = loop(_bed_samples(bed, n, rate), n, rate)
    active = speaking_frames(x, rate)
    level = _speech_level(x, rate, active)
    bed_level = rms(bed_x)
    if bed_level == 0:
        return limit(x, rate, CEILING_DB)
    gain = db(s.bed_gain_db) * level / bed_level
    under = bed_x * (gain * duck_gain(active, rate, n, s) * fades(n, rate, s))
    return limit(x + under.astype(np.float32), rate, CEILING_DB)


def _bed_samples(bed: Bed | np.ndarray, n: int, rate: int) -> np.ndarray:
    if isinstance(bed, Bed):
        seconds = min(n / rate, LOOP_S + CROSSFADE_S, MAX_RENDER_S)
        return render_bed(bed.name, seconds, rate, bed.seed)
    samples = np.asarray(bed, np.float32)
    if samples.ndim != 1 or not len(samples) or not np.isfinite(samples).all():
        raise InvalidInput("the bed must be finite mono samples", shape=list(samples.shape))
    return samples - samples.mean()


def loop(bed: np.ndarray, n: int, rate: int) -> np.ndarray:
    """`bed` cut or looped to `n` samples; each loop point crossfades the bed's end into its
    start (equal power: uncorrelated noise keeps its level through the fade)."""
    length = len(bed)
    if length >= n:
        return bed[:n]
    xfade = min(int(CROSSFADE_S * rate), length // 4)
    if xfade < 1:
        return np.tile(bed, math.ceil(n / length))[:n]
    ramp = raised_cosine(xfade)
    body = bed[: length - xfade].copy()
    # The body's start is the bed's tail fading into its head; its end runs on, sample by
    # sample, into that tail: every repeat joins where the original was continuous.
    body[:xfade] = bed[:xfade] * np.sqrt(ramp) + bed[length - xfade :] * np.sqrt(1.0 - ramp)
    return np.tile(body, math.ceil(n / len(body)))[:n]


def frame_len(rate: int) -> int:
    return max(1, int(_FRAME_S * rate))


def speaking_frames(speech: np.ndarray, rate: int) -> np.ndarray:
    """One bool per 10 ms frame: is someone speaking there."""
    f = frame_len(rate)
    frames = math.ceil(len(speech) / f)
    padded = np.zeros(frames * f, np.float32)
    padded[: len(speech)] = speech
    power = np.mean(np.square(padded.reshape(frames, f), dtype=np.float64), axis=1)
    level = 10.0 * np.log10(power + 1e-12)
    threshold = max(float(level.max()) - _GATE_BELOW_PEAK_DB, _GATE_FLOOR_DBFS)
    return np.asarray(level > threshold)


def _speech_level(speech: np.ndarray, rate: int, active: np.ndarray) -> float:
    f = frame_len(rate)
    mask = np.repeat(active, f)[: len(speech)]
    return rms(speech[mask]) if mask.any() else db(_QUIET_SPEECH_DBFS)


def duck_gain(active: np.ndarray, rate: int, n: int, s: MixSettings) -> np.ndarray:
    """The bed's gain per sample: 1 in the gaps, `duck_db` down while anyone speaks."""
    if s.duck_db <= 0 or not active.any():
        return np.ones(n, np.float32)
    f = frame_len(rate)
    frame_s = f / rate
    ahead = max(0, round(s.attack_ms / 1000 / frame_s))
    hold = round(_HOLD_S / frame_s)
    # Ducked where speech is within `ahead` frames ahead or `hold` frames behind.
    counts = np.concatenate([[0], np.cumsum(active)])
    idx = np.arange(len(active))
    lo = np.clip(idx - hold, 0, len(active))
    hi = np.clip(idx + ahead + 1, 0, len(active))
    target = np.where(counts[hi] - counts[lo] > 0, -s.duck_db, 0.0)
    down = math.exp(-frame_s / max(s.attack_ms / 1000, 1e-6))
    up = math.exp(-frame_s / max(s.release_ms / 1000, 1e-6))
    smooth = np.empty(len(target))
    g = 0.0
    for i, t in enumerate(target):  # one step per 10 ms frame: cheap even for an hour
        a = down if t < g else up
        g = a * g + (1.0 - a) * t
        smooth[i] = g
    centres = (idx + 0.5) * f
    return (10.0 ** (np.interp(np.arange(n), centres, smooth) / 20.0)).astype(np.float32)


def fades(n: int, rate: int, s: MixSettings) -> np.ndarray:
    """The bed's fade in from the start and out to the end (raised cosine), each at most half."""
    env = np.ones(n, np.float32)
    fin = min(int(s.fade_in_s * rate), n // 2)
    fout = min(int(s.fade_out_s * rate), n // 2)
    if fin:
        env[:fin] = raised_cosine(fin)
    if fout:
        env[n - fout :] *= raised_cosine(fout)[::-1]
    return env
