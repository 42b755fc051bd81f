"""Laying rendered lines end to end: silence trimmed, pauses kept, crossfades where lines meet.

Pure functions over float32 mono arrays at one sample rate; the render job feeds them.
A line starts `gap` after the previous one ends; when the gap is shorter than the incoming
speaker's crossfade, the two overlap by the difference under an equal-power crossfade, so
lines that abut (a pause of 0) flow into each other instead of clicking.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from voxhub.ambience.dsp import raised_cosine

# A trimmed line keeps this much of its own quiet at each end, so a word's soft onset or
# release (an "h", a trailing "s") is not cut with the silence.
TRIM_PAD_S = 0.04
# Quieter than this below the line's loudest 20 ms is silence.
TRIM_BELOW_PEAK_DB = 40.0
TRIM_FRAME_S = 0.02
# Even lines that do not crossfade get a few milliseconds of fade: a line cut mid-waveform
# (the engine's first sample is rarely zero) clicks.
DECLICK_S = 0.005


@dataclass(frozen=True)
class Word:
    word: str
    start: float
    end: float


@dataclass
class Take:
    """One line's audio and the words in it (seconds from the take's start)."""

    samples: np.ndarray
    words: list[Word] = field(default_factory=list)


@dataclass(frozen=True)
class Placement:
    """Where a line sits in the dialogue, in seconds."""

    start: float
    end: float


def trim_silence(take: Take, rate: int) -> Take:
    """The take without its leading and trailing silence (seed 001's `removeSilences`)."""
    x = take.samples
    frame = max(1, int(TRIM_FRAME_S * rate))
    n_frames = len(x) // frame
    if n_frames == 0:
        return take
    energy = np.sqrt(np.mean(x[: n_frames * frame].reshape(n_frames, frame) ** 2, axis=1))
    peak = float(energy.max())
    if peak <= 0:
        return take
    loud = np.flatnonzero(energy >= peak * 10 ** (-TRIM_BELOW_PEAK_DB / 20))
    pad = int(TRIM_PAD_S * rate)
    first = max(0, int(loud[0]) * frame - pad)
    last = min(len(x), (int(loud[-1]) + 1) * frame + pad)
    offset = first / rate
    words = [
        Word(
            w.word, max(0.0, w.start - offset), max(0.0, min(w.end - offset, (last - first) / rate))
        )
        for w in take.words
    ]
    return Take(x[first:last].copy(), words)


def _edges(x: np.ndarray, fade_in: int, fade_out: int) -> np.ndarray:
    y = x.astype(np.float32, copy=True)
    fade_in, fade_out = min(fade_in, len(y)), min(fade_out, len(y))
    if fade_in:
        y[:fade_in] *= np.sqrt(raised_cosine(fade_in))  # equal power: sqrt of a linear sum
    if fade_out:
        y[len(y) - fade_out :] *= np.sqrt(raised_cosine(fade_out)[::-1])
    return y


def assemble(
    takes: Sequence[Take], gaps_s: Sequence[float], crossfades_s: Sequence[float], rate: int
) -> tuple[np.ndarray, list[Placement]]:
    """The dialogue: take i followed, `gaps_s[i]` later, by take i+1, which crossfades in over
    `crossfades_s[i+1]` where the gap is shorter than that. Returns the samples and each
    take's placement."""
    if not (len(takes) == len(gaps_s) == len(crossfades_s)):
        raise ValueError("one gap and one crossfade per take")
    declick = int(DECLICK_S * rate)
    starts: list[int] = []
    overlaps: list[int] = []
    cursor = 0
    for i, take in enumerate(takes):
        overlap = 0
        if i:
            gap = round(gaps_s[i - 1] * rate)
            wanted = round(crossfades_s[i] * rate) - gap
            # Never overlap more than half of either line: a crossfade, not a talk-over.
            limit = min(len(takes[i - 1].samples), len(take.samples)) // 2
            overlap = max(0, min(wanted, limit))
            cursor += gap - overlap
        starts.append(max(0, cursor))
        overlaps.append(overlap)
        cursor = starts[-1] + len(take.samples)
    out = np.zeros(max(cursor, 0), np.float32)
    placements = []
    for i, take in enumerate(takes):
        fade_in = max(declick, overlaps[i])
        fade_out = max(declick, overlaps[i + 1] if i + 1 < len(takes) else 0)
        start = starts[i]
        out[start : start + len(take.samples)] += _edges(take.samples, fade_in, fade_out)
        placements.append(Placement(start / rate, (start + len(take.samples)) / rate))
    return out, placements


def dialogue_words(takes: Sequence[Take], placements: Sequence[Placement]) -> list[Word]:
    """Every take's words moved onto the dialogue's timeline, in order."""
    return [
        Word(w.word, round(p.start + w.start, 3), round(p.start + w.end, 3))
        for take, p in zip(takes, placements, strict=True)
        for w in take.words
    ]
