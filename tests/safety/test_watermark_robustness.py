"""Detection after what users do to audio, on real speech, and false positives on real speech.

Measured here (Perth 1.0.1, marked at 24 kHz, voxhub's power-weighted 1 s windows; the 8 first
recordings of ../shared/data/speech): plain 0.966-1.000; MP3 32 kb/s 0.925-1.000; Opus
(voxhub's 48 kb/s) 0.831-0.999; 8 kHz mu-law 0.811-1.000; resampled to 16 kHz 0.967-1.000 and
8 kHz 0.961-1.000; gain x0.5 0.966-1.000; white noise at 30 dB SNR 0.589-0.999 (0.528 with this
test's noise seed; 20 dB: 0.367-0.946, not claimed); the middle 1 s 0.988-1.000; +1 semitone
pitch shift (librosa, duration kept) 0.000-0.227, so the mark is gone. Unmarked: all 80 whole
recordings of speech and speech-pool score 0.000-0.218. DETECT_THRESHOLD (0.4) sits between.

The test marks four of those recordings (chosen to include the weakest after noise, mu-law and
Opus) and checks each transcode; the false-positive check runs on the first 4 s of all 80
recordings, to keep the test near 15 s on two cores.
"""

from __future__ import annotations

import librosa
import numpy as np
import pytest

from tests.conftest import SPEECH
from tests.safety.conftest import RATE, TRANSCODES, load_speech, speech_files
from voxhub.safety import DETECT_THRESHOLD, Watermarker

UTTERANCES = (
    "cmuarctic_clb_arctic_a0022.wav",  # US female
    "librispeech_1688-142285-0001.flac",  # male, weakest after Opus and mu-law
    "librispeech_2033-164914-0000.flac",  # male, weakest after noise
    "vctk_p225_003.wav",  # UK female
)


@pytest.fixture(scope="module")
def marked(watermarker: Watermarker) -> dict[str, np.ndarray]:
    return {name: watermarker.apply(load_speech(SPEECH / name), RATE) for name in UTTERANCES}


@pytest.mark.parametrize("transcode", list(TRANSCODES))
def test_mark_survives(watermarker: Watermarker, marked: dict[str, np.ndarray], transcode: str):
    scores = {}
    for name, samples in marked.items():
        out, rate = TRANSCODES[transcode](samples, RATE)
        scores[name] = round(watermarker.detect(out, rate), 3)
    assert min(scores.values()) >= DETECT_THRESHOLD, scores


def test_semitone_pitch_shift_removes_mark(watermarker: Watermarker, marked: dict[str, np.ndarray]):
    """The documented limitation: a +1 semitone shift (duration kept) leaves no detectable mark."""
    scores = {
        name: round(watermarker.detect(librosa.effects.pitch_shift(x, sr=RATE, n_steps=1), RATE), 3)
        for name, x in marked.items()
    }
    assert max(scores.values()) < DETECT_THRESHOLD, scores


def test_no_false_positives_on_real_speech(watermarker: Watermarker):
    files = speech_files()
    assert len(files) == 80
    scores = {f.name: round(watermarker.detect(load_speech(f, 4.0), RATE), 3) for f in files}
    detected = {name: s for name, s in scores.items() if s >= DETECT_THRESHOLD}
    assert detected == {}
