"""Laying lines out (trim, gaps, crossfades, words) and loudness to a target, on plain arrays."""

from __future__ import annotations

import numpy as np
import pyloudnorm

from tests.conftest import SPEECH
from voxhub.audio.decode import decode
from voxhub.renders import loudness
from voxhub.renders.timeline import (
    TRIM_PAD_S,
    Take,
    Word,
    assemble,
    dialogue_words,
    trim_silence,
)
from voxhub.settings import LimitSettings

RATE = 24_000


def tone(seconds: float, amp: float = 0.3, hz: float = 220.0) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return (amp * np.sin(2 * np.pi * hz * t)).astype(np.float32)


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * RATE), np.float32)


def test_trimming_takes_the_silence_off_both_ends_and_moves_the_words() -> None:
    take = Take(
        np.concatenate([silence(0.5), tone(1.0), silence(0.7)]),
        [Word("hello", 0.5, 1.0), Word("there", 1.0, 1.5)],
    )
    trimmed = trim_silence(take, RATE)
    assert abs(len(trimmed.samples) / RATE - (1.0 + 2 * TRIM_PAD_S)) < 0.021
    assert abs(trimmed.words[0].start - TRIM_PAD_S) < 0.021
    assert trimmed.words[1].end - trimmed.words[0].start == 1.0
    assert trim_silence(Take(silence(1.0)), RATE).samples.shape == (RATE,)  # all quiet: kept


def test_lines_are_placed_with_their_gaps_and_overlap_only_to_crossfade() -> None:
    takes = [Take(tone(1.0)), Take(tone(1.0, hz=330)), Take(tone(0.5, hz=440))]
    out, places = assemble(takes, [0.0, 0.3, 0.0], [0.1, 0.15, 0.2], RATE)
    a, b, c = places
    assert (a.start, a.end) == (0.0, 1.0)
    assert abs(b.start - (1.0 - 0.15)) < 1e-6  # no gap: b crossfades in over its 0.15 s
    assert abs(c.start - (b.end + 0.3)) < 1e-6  # a gap longer than c's crossfade: no overlap
    assert abs(len(out) / RATE - c.end) < 1e-6
    # Equal-power crossfade: the overlap is about as loud as the lines around it.
    mid = out[int(0.9 * RATE) : int(0.95 * RATE)]
    assert 0.6 < np.sqrt(np.mean(mid**2)) / np.sqrt(np.mean(tone(1.0) ** 2)) < 1.5


def test_words_land_on_the_dialogues_timeline() -> None:
    takes = [Take(tone(1.0), [Word("a", 0.1, 0.4)]), Take(tone(1.0), [Word("b", 0.2, 0.5)])]
    _, places = assemble(takes, [0.5, 0.0], [0.0, 0.0], RATE)
    assert dialogue_words(takes, places) == [Word("a", 0.1, 0.4), Word("b", 1.7, 2.0)]


def test_loudness_reaches_the_target_under_the_true_peak_ceiling() -> None:
    rng = np.random.default_rng(3)
    x = np.concatenate([tone(2.0, 0.05), (0.9 * rng.standard_normal(RATE)).astype(np.float32)])
    y = loudness.normalise(np.clip(x, -1, 1), RATE, -16.0, -1.0)
    lufs = pyloudnorm.Meter(RATE).integrated_loudness(y.astype(np.float64))
    assert abs(lufs - -16.0) < 1.0
    assert loudness.true_peak_dbtp(y) <= -1.0
    quiet = loudness.normalise(tone(1.0, 1e-6), RATE, -16.0, -1.0)  # no 100 dB boost of hiss
    assert np.max(np.abs(quiet)) < 1e-6 * 10 ** (loudness.MAX_GAIN_DB / 20) * 1.01
    assert loudness.measure(tone(0.2), RATE).integrated_lufs is None  # under one 400 ms block


def test_real_speech_reaches_the_target_although_the_limiter_takes_its_peaks() -> None:
    # Speech peaks sit 15-20 dB over its loudness: at -16 LUFS the limiter must take them off,
    # and the loudness they carried has to be made up (one pass alone landed a LU short).
    data = (SPEECH / "vctk_p225_003.wav").read_bytes()
    speech = decode(data, LimitSettings(), RATE).samples
    quiet = (speech / np.max(np.abs(speech)) * 0.1).astype(np.float32)
    y = loudness.normalise(quiet, RATE, -16.0, -1.0)
    lufs = pyloudnorm.Meter(RATE).integrated_loudness(y.astype(np.float64))
    assert abs(lufs - -16.0) < 0.2, lufs
    assert loudness.true_peak_dbtp(y) <= -1.0
