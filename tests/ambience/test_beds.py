"""The bed library: deterministic, the right length and rate, sane levels, no NaN."""

from __future__ import annotations

import numpy as np
import pytest

from voxhub.ambience.beds import BED_RMS_DB, LIBRARY, render_bed
from voxhub.ambience.dsp import rms
from voxhub.core.errors import InvalidInput, UnknownBed

NAMES = list(LIBRARY)


def test_library_has_the_places_the_issue_asks_for() -> None:
    assert {"rain", "office", "cafe", "street", "forest", "wind"} <= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_bed_is_deterministic_for_a_seed(name: str) -> None:
    a = render_bed(name, 3.0, 16_000, seed=7)
    assert np.array_equal(a, render_bed(name, 3.0, 16_000, seed=7))
    assert not np.array_equal(a, render_bed(name, 3.0, 16_000, seed=8))


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize(("seconds", "rate"), [(2.5, 8_000), (1.234, 24_000), (2.0, 48_000)])
def test_bed_has_the_length_rate_and_level_asked(name: str, seconds: float, rate: int) -> None:
    x = render_bed(name, seconds, rate, seed=1)
    assert x.dtype == np.float32 and x.ndim == 1
    assert len(x) == round(seconds * rate)
    assert np.isfinite(x).all()
    level = 20 * np.log10(rms(x))
    assert BED_RMS_DB - 3 < level < BED_RMS_DB + 1, level
    assert np.abs(x).max() < 0.8  # headroom left for the speech
    assert abs(float(x.mean())) < 0.01  # no DC to thump at a fade


@pytest.mark.parametrize("name", NAMES)
def test_bed_is_not_silent_anywhere(name: str) -> None:
    # A bed that drops out for a second sounds broken; 0.5 s windows all carry sound.
    x = render_bed(name, 6.0, 16_000, seed=3)
    windows = x[: 12 * 8000].reshape(12, 8000)
    levels = 20 * np.log10(np.sqrt(np.mean(windows**2, axis=1)))
    assert levels.min() > BED_RMS_DB - 15, levels


def test_unknown_bed_and_bad_arguments_are_refused() -> None:
    with pytest.raises(UnknownBed):
        render_bed("jungle", 1.0, 16_000)
    with pytest.raises(InvalidInput):
        render_bed("rain", 1.0, 4_000)
    with pytest.raises(InvalidInput):
        render_bed("rain", 0.0, 16_000)
