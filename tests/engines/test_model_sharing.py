"""The model's one session serves concurrent calls, and each call gives freed memory back."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from voxhub.engines.embedded import EmbeddedEngine
from voxhub.engines.embedded import model as model_module
from voxhub.engines.embedded.heap import release_freed_memory
from voxhub.engines.embedded.model import style_row
from voxhub.engines.embedded.phonemes import phonemize, tokenize

TEXTS = ("The garden was full of bright yellow flowers.", "Please close the door quietly.")


def _call(engine: EmbeddedEngine, text: str) -> np.ndarray:
    tokens = tokenize(phonemize(text, "en-us"))
    pack = next(p for p in engine.packs if p.name == "af_heart")
    return engine._model.infer(tokens, style_row(pack.style, len(tokens)))


@pytest.mark.slow
async def test_concurrent_calls_share_one_session_and_match_calls_made_alone(
    engine: EmbeddedEngine,
) -> None:
    model = engine._model
    assert model.concurrency >= 2
    session = model._session
    alone = [_call(engine, text) for text in TEXTS]
    with ThreadPoolExecutor(len(TEXTS)) as pool:
        together = list(pool.map(lambda text: _call(engine, text), TEXTS))
    # One set of weights: the calls ran on the session that was already open.
    assert model._session is session
    for a, b in zip(alone, together, strict=True):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, atol=1e-5)


def test_freed_memory_is_given_back_where_the_c_library_can() -> None:
    import platform

    # glibc has malloc_trim (CI's Debian does); elsewhere the call says it did nothing.
    assert release_freed_memory() is (platform.libc_ver()[0] == "glibc")


@pytest.mark.slow
async def test_every_call_gives_freed_memory_back(
    engine: EmbeddedEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []

    def counted() -> bool:
        calls.append("trim")
        return True

    monkeypatch.setattr(model_module, "release_freed_memory", counted)
    _call(engine, TEXTS[1])
    assert calls == ["trim"]
