"""The spoken-consent thresholds are what the calibration data choose, and the README's error
rates on that data are what the code gets today (recomputed, on real recordings).

The held-out figures (speech-pool) take as long again: `python -m bench.consent_calibration`.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from tests.conftest import REPO, SHARED
from voxhub.audio.recognizer import Recognizer
from voxhub.audio.speaker import SpeakerEncoder
from voxhub.safety import consent_calibration as cal
from voxhub.safety import speaker_calibration as speakers
from voxhub.safety.spoken_consent import SPEAKER_THRESHOLD, WER_THRESHOLD

DATA = SHARED / "data"
pytestmark = pytest.mark.slow


def readme_figures(label: str) -> tuple[float, tuple[int, int], tuple[int, int]]:
    """(threshold, false accepts, false rejects) from the README's Consent line `label`."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    item = re.search(rf"^- {label}:.*?(?=^- |\n\n)", text, re.MULTILINE | re.DOTALL)
    assert item is not None, f"README has no '- {label}:' item"
    found = re.search(
        r"\*\*(\d\.\d+)\*\*.*?false accepts (\d+)/(\d+).*?false rejects (\d+)/(\d+)",
        item[0],
        re.DOTALL,
    )
    assert found is not None, item[0]
    t, fa, fa_of, fr, fr_of = found.groups()
    return float(t), (int(fa), int(fa_of)), (int(fr), int(fr_of))


@pytest.fixture(scope="module")
def recognizer() -> Recognizer:
    r = Recognizer(threads=2)
    r.load()
    return r


def test_speaker_threshold_and_its_rates(speaker_encoder: SpeakerEncoder) -> None:
    pairs = cal.calibration_pairs(speaker_encoder, DATA)
    assert cal.choose_threshold(pairs) == SPEAKER_THRESHOLD
    rates = speakers.rates_at(pairs, SPEAKER_THRESHOLD)
    threshold, accepts, rejects = readme_figures("Speaker, calibration")
    assert threshold == SPEAKER_THRESHOLD
    assert (rates.false_accepts, rates.different_pairs) == accepts
    assert (rates.false_rejects, rates.same_pairs) == rejects


def test_word_threshold_and_its_rates(recognizer: Recognizer) -> None:
    words = cal.word_pairs(recognizer, DATA)
    cheats = cal.phrase_cheats()
    chosen = cal.choose_threshold(cal.with_cheats(words, cheats), accept_at_most=True)
    assert chosen == WER_THRESHOLD
    for label, impostors in (("Words, recordings", words.different), ("Words, cheats", cheats)):
        pairs = speakers.PairScores(words.same, impostors)
        rates = speakers.rates_at(pairs, WER_THRESHOLD, accept_at_most=True)
        threshold, accepts, rejects = readme_figures(label)
        assert threshold == WER_THRESHOLD
        assert (rates.false_accepts, rates.different_pairs) == accepts, label
        assert (rates.false_rejects, rates.same_pairs) == rejects, label


def test_the_rule_picks_the_middle_of_the_widest_errorless_run() -> None:
    similarities = speakers.PairScores(np.array([0.9, 0.8]), np.array([0.4, 0.5]))
    assert cal.choose_threshold(similarities) == 0.65
    word_error_rates = speakers.PairScores(np.array([0.1, 0.2]), np.array([0.5, 0.6]))
    assert cal.choose_threshold(word_error_rates, accept_at_most=True) == 0.34
