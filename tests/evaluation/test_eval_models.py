"""The recogniser and DNSMOS on real recordings: plausible numbers, quickly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from voxhub.audio.decode import decode
from voxhub.audio.recognizer import Recognizer, check_model, model_dir
from voxhub.evaluation.quality import Dnsmos
from voxhub.evaluation.wer import wer
from voxhub.settings import LimitSettings

pytestmark = pytest.mark.slow

LJ_TEXT = (
    "Printing, in the only sense with which we are at present concerned, differs from most if "
    "not from all the arts and crafts represented in the Exhibition"
)


@pytest.fixture(scope="module")
def dnsmos() -> Dnsmos:
    return Dnsmos(threads=2)


def _speech(shared: Path, name: str) -> tuple[np.ndarray, int]:
    audio = decode((shared / "data" / "speech" / name).read_bytes(), LimitSettings(), 22_050)
    return audio.samples, audio.sample_rate


def test_bundled_model_is_whisper_tiny_en() -> None:
    assert check_model(model_dir()) == "tiny.en"


def test_recogniser_transcribes_a_real_recording(shared: Path) -> None:
    samples, rate = _speech(shared, "ljspeech_LJ001-0001.wav")  # resampled inside, 22.05 kHz
    heard = Recognizer(threads=2).transcribe(samples, rate)
    assert wer(LJ_TEXT, heard) < 0.3, heard


def test_recogniser_hears_nothing_in_nothing() -> None:
    assert Recognizer().transcribe(np.zeros(0, np.float32), 16_000) == ""


def test_dnsmos_is_plausible_on_real_speech(shared: Path, dnsmos: Dnsmos) -> None:
    samples, rate = _speech(shared, "vctk_p225_003.wav")
    score = dnsmos.score(samples, rate)
    assert 2.0 <= score.ovrl <= 4.5
    assert 1.0 <= score.sig <= 5.0 and 1.0 <= score.bak <= 5.0


def test_dnsmos_rates_noise_below_speech(shared: Path, dnsmos: Dnsmos) -> None:
    rng = np.random.default_rng(0)
    noise = (0.3 * rng.standard_normal(16_000 * 4)).clip(-1, 1).astype(np.float32)
    speech = dnsmos.score(*_speech(shared, "vctk_p225_003.wav"))
    assert dnsmos.score(noise, 16_000).ovrl < speech.ovrl
    with pytest.raises(ValueError):
        dnsmos.score(np.zeros(0, np.float32), 16_000)
