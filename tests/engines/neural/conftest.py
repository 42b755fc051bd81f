"""Fixtures of the neural engine tests: references from ../shared, decoded as uploads are."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from voxhub.audio.reference import prepare_reference
from voxhub.engines.base import Reference
from voxhub.settings import LimitSettings

SPEAKER_FILE = "vctk_p225_003.wav"  # 6 s, female, transcript "Six spoons of fresh snow peas..."


@pytest.fixture(scope="session")
def speech_reference(shared: Path) -> Reference:
    """A real speaker's recording through voxhub's reference pipeline (24 kHz, levelled)."""
    data = (shared / "data" / "speech" / SPEAKER_FILE).read_bytes()
    audio = prepare_reference(data, LimitSettings(), 24_000).audio
    return Reference(np.asarray(audio.samples, np.float32), audio.sample_rate)


@pytest.fixture(scope="session")
def short_reference() -> Reference:
    """One second: under any neural engine's minimum."""
    rng = np.random.default_rng(3)
    return Reference((0.1 * rng.standard_normal(24_000)).astype(np.float32), 24_000)
