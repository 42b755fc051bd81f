"""Speech stays intelligible under every bed: Whisper's word error rate on real speech mixed
at the default settings is within 2 points of the dry speech (issue 11, "Ambience")."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from voxhub.ambience.beds import LIBRARY
from voxhub.ambience.mixer import Bed, mix
from voxhub.audio.decode import decode
from voxhub.audio.recognizer import WHISPER_RATE, Recognizer
from voxhub.evaluation.wer import WordErrors, pooled_wer, word_errors
from voxhub.settings import LimitSettings

pytestmark = pytest.mark.slow

# Three speakers, three corpora, 21 s in all: enough words to see a bed hurt, quick to run.
CLIPS = ("ljspeech_LJ001-0001.wav", "cmuarctic_clb_arctic_a0022.wav", "vctk_p227_005.wav")
MAX_EXTRA_WER = 0.02


@pytest.fixture(scope="module")
def clips(shared: Path) -> list[tuple[np.ndarray, str]]:
    folder = shared / "data" / "speech"
    with (folder / "MANIFEST.tsv").open(newline="") as f:
        texts = {row["file"]: row["transcript"] for row in csv.DictReader(f, delimiter="\t")}
    out = []
    for name in CLIPS:
        audio = decode((folder / name).read_bytes(), LimitSettings(), WHISPER_RATE)
        out.append((audio.samples, texts[name]))
    return out


@pytest.fixture(scope="module")
def recogniser() -> Recognizer:
    return Recognizer(threads=2)


def _errors(rec: Recognizer, clips: list[tuple[np.ndarray, str]], bed: str | None) -> float:
    counts: list[WordErrors] = []
    for samples, text in clips:
        heard = samples if bed is None else mix(samples, WHISPER_RATE, Bed(bed))
        counts.append(word_errors(text, rec.transcribe(heard, WHISPER_RATE)))
    return pooled_wer(counts)


def test_every_bed_keeps_speech_intelligible(
    clips: list[tuple[np.ndarray, str]], recogniser: Recognizer
) -> None:
    dry = _errors(recogniser, clips, None)
    wet = {name: _errors(recogniser, clips, name) for name in LIBRARY}
    print(f"WER dry {dry:.3f}; " + ", ".join(f"{k} {v:.3f}" for k, v in wet.items()))
    worse = {k: v for k, v in wet.items() if v > dry + MAX_EXTRA_WER}
    assert not worse, (dry, wet)
