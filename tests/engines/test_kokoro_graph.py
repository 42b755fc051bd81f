"""The edit to the Kokoro graph: a pitch scale."""

from __future__ import annotations

import numpy as np
import pytest

from voxhub.engines.embedded import EmbeddedEngine
from voxhub.engines.embedded.adapt import median_f0
from voxhub.engines.embedded.graph import ensure_patched, patched_path
from voxhub.engines.embedded.model import SAMPLE_RATE, style_row
from voxhub.engines.embedded.phonemes import phonemize, tokenize

TEXT = "The garden was full of bright yellow flowers this morning."


def _tokens() -> list[int]:
    return tokenize(phonemize(TEXT, "en-us"))


def _style(engine: EmbeddedEngine) -> np.ndarray:
    pack = next(p for p in engine.packs if p.name == "af_heart")
    return style_row(pack.style, len(_tokens()))


@pytest.mark.slow
async def test_patched_model_is_made_once_beside_the_original(engine: EmbeddedEngine) -> None:
    path = engine._model.path
    assert path is not None and path.name.endswith(".voxhub-2.onnx")
    original = path.with_name(path.name.replace(".voxhub-2", ""))
    assert patched_path(original) == path
    before = path.stat().st_mtime_ns
    assert ensure_patched(original) == path and path.stat().st_mtime_ns == before
    assert not list(path.parent.glob("*.tmp"))


@pytest.mark.slow
async def test_pitch_scale_moves_the_pitch_and_keeps_the_timing(engine: EmbeddedEngine) -> None:
    tokens, style = _tokens(), _style(engine)
    plain = engine._model.infer(tokens, style)
    higher = engine._model.infer(tokens, style, f0_scale=1.25)
    assert len(higher) == len(plain)
    ratio = median_f0(higher, SAMPLE_RATE) / median_f0(plain, SAMPLE_RATE)
    assert ratio == pytest.approx(1.25, rel=0.06)
