"""The more and pool tables end to end on the fake engine: what is enrolled and scored."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.evaluation.test_eval_harness import RefiningFake
from voxhub.audio.recognizer import Recognizer
from voxhub.audio.speaker import SpeakerEncoder
from voxhub.evaluation import TEST_SENTENCES
from voxhub.evaluation.speakers import load_manifest
from voxhub.evaluation.tables import (
    Strangers,
    TableConfig,
    build_cases,
    embed_strangers,
    run_table,
)
from voxhub.evaluation.voice import Meters
from voxhub.settings import LimitSettings


def _unit(*xs: float) -> np.ndarray:
    v = np.array(xs, dtype=np.float32)
    return v / np.linalg.norm(v)


def test_strangers_are_the_same_gender_without_the_speaker() -> None:
    strangers = Strangers(
        {"a": ("F", _unit(1, 0)), "b": ("F", _unit(1, 1)), "c": ("M", _unit(0, 1))}
    )
    assert strangers.mean_cosine(_unit(1, 0), "F", besides="a") == pytest.approx(1 / np.sqrt(2))
    assert strangers.mean_cosine(_unit(1, 0), "M", besides="a") == pytest.approx(0.0)


@pytest.mark.slow
async def test_more_and_pool_rows(speaker_encoder: SpeakerEncoder, shared: Path) -> None:
    data = shared / "data"
    cfg = TableConfig(data, LimitSettings(), 24_000, TEST_SENTENCES[:1], refine=True)
    meters = Meters(speaker_encoder, Recognizer(threads=2))
    pool = load_manifest(data / "speech-pool" / "MANIFEST.tsv", min_recordings=1)
    by_id = {s.id: s for s in pool}
    strangers = embed_strangers(
        [by_id[i] for i in ("LibriSpeech-87", "LibriSpeech-103", "LibriSpeech-60")],
        data / "speech-pool",
        cfg,
        speaker_encoder,
    )
    more = {s.id: s for s in load_manifest(data / "speech-more" / "MANIFEST.tsv")}
    engine = RefiningFake()

    cases = await build_cases("more", [more["LibriSpeech-3080"]], strangers, cfg, speaker_encoder)
    [row] = await run_table(engine, meters, cases, cfg, log=lambda _m: None)
    assert (row["speaker"], row["part"]) == ("LibriSpeech-3080", "holdout")
    assert row["enrolment"] == "librispeech_3080-5032-0009.flac"  # the longest, 22.75 s
    targets = [t["file"] for t in row["targets"]]
    assert len(targets) == 7 and row["enrolment"] not in targets
    for kind in ("instant", "refined"):
        profile = row["profiles"][kind]
        assert [p["file"] for p in profile["per_target"]] == targets
        norms = [p["normalised"] for p in profile["per_target"]]
        assert profile["normalised"] == pytest.approx(np.mean(norms), abs=1e-4)

    cases = await build_cases("pool", [by_id["LibriSpeech-87"]], strangers, cfg, speaker_encoder)
    [row] = await run_table(engine, meters, cases, cfg, log=lambda _m: None)
    assert (row["part"], row["cut"]) == ("tune", "pause")
    assert row["enrolment"].endswith("#1")
    assert [t["file"] for t in row["targets"]] == [row["enrolment"][:-1] + "2"]
    assert -1 <= row["stranger"] < row["same"] <= 1
