"""The manifest and the same/stranger similarity maths, on hand-made vectors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from voxhub.evaluation.speakers import (
    Baseline,
    Recording,
    Speaker,
    baselines,
    gated_mean,
    load_manifest,
)


def _spk(sid: str, gender: str) -> Speaker:
    recs = tuple(Recording(f"{sid}_{i}.wav", sid, gender, "") for i in (1, 2))
    return Speaker(sid, gender, recs)


def _unit(*xs: float) -> np.ndarray:
    v = np.array(xs, dtype=np.float32)
    return v / np.linalg.norm(v)


def test_same_and_stranger_from_hand_made_vectors() -> None:
    a, b, c, m = _spk("a", "F"), _spk("b", "F"), _spk("c", "F"), _spk("m", "M")
    emb = {
        "a_1.wav": _unit(1, 0, 0),
        "a_2.wav": _unit(1, 1, 0),  # cos(a_1, a_2) = 1/sqrt(2)
        "b_1.wav": _unit(0, 1, 0),  # cos(a_2, .) = 1/sqrt(2)
        "b_2.wav": _unit(0, 0, 1),  # 0
        "c_1.wav": _unit(1, 1, 0),  # 1
        "c_2.wav": _unit(-1, -1, 0),  # -1
        "m_1.wav": _unit(1, 1, 0),  # a man: never a stranger to the women
        "m_2.wav": _unit(1, 1, 0),
    }
    base = baselines([a, b, c, m], emb)
    assert base["a"].same == pytest.approx(1 / np.sqrt(2))
    assert base["a"].stranger == pytest.approx((1 / np.sqrt(2) + 0 + 1 - 1) / 4)
    # The only man has no same-gender strangers.
    assert base["m"].same == pytest.approx(1.0)
    assert base["m"].stranger == 0.0


def test_normalise_maps_stranger_to_zero_and_same_to_one() -> None:
    base = Baseline(same=0.9, stranger=0.6)
    assert base.normalise(0.6) == pytest.approx(0.0)
    assert base.normalise(0.9) == pytest.approx(1.0)
    assert base.normalise(0.69) == pytest.approx(0.3)
    assert base.normalise(0.5) < 0
    assert Baseline(same=0.5, stranger=0.5).normalise(0.7) == 0.0  # no span: not separable


def test_gated_mean_counts_unintelligible_speakers_as_zero() -> None:
    assert gated_mean([0.4, 0.2, 0.6], [0.0, 0.31, 0.3]) == pytest.approx((0.4 + 0 + 0.6) / 3)
    assert np.isnan(gated_mean([], []))


def test_manifest_lists_ten_speakers_with_two_recordings(shared: Path) -> None:
    speakers = load_manifest(shared / "data" / "speech" / "MANIFEST.tsv")
    assert len(speakers) == 10
    assert {s.gender for s in speakers} == {"F", "M"}
    lj = next(s for s in speakers if s.id == "LJSpeech-LJ")
    assert lj.enrolment.file == "ljspeech_LJ001-0001.wav"
    assert lj.held_out.file == "ljspeech_LJ001-0005.wav"
    assert lj.enrolment.transcript.startswith("Printing")
    assert all(
        (shared / "data" / "speech" / r.file).is_file() for s in speakers for r in s.recordings
    )
