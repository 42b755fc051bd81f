"""The edit to the Kokoro graph (a pitch scale), and a profile's adaptation reaching speech."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from voxhub.engines.base import SynthesisParams, VoiceProfile
from voxhub.engines.embedded import EmbeddedEngine
from voxhub.engines.embedded.adapt import bin_frequencies, long_term_spectrum, median_f0
from voxhub.engines.embedded.graph import ensure_patched, patched_path
from voxhub.engines.embedded.model import (
    SAMPLE_RATE,
    model_sha,
    patched_model,
    style_row,
    user_model_dir,
)
from voxhub.engines.embedded.phonemes import phonemize, tokenize
from voxhub.engines.embedded.profile import StyleProfile, encode_profile

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
def test_every_home_shares_one_patched_model_per_user(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "user-cache"))
    shared = user_model_dir()
    assert shared == tmp_path / "user-cache" / "voxhub" / "kokoro" / model_sha()[:16]
    first = patched_model(tmp_path / "home-1" / "cache" / "kokoro")
    assert first.parent == shared and first.name.endswith(".voxhub-2.onnx")
    assert [p.name for p in shared.iterdir()] == [first.name]  # no original, no leftovers
    made = first.stat().st_mtime_ns
    # A second, fresh home finds it: nothing is reassembled, nothing written in that home.
    second_home = tmp_path / "home-2" / "cache" / "kokoro"
    assert patched_model(second_home) == first and first.stat().st_mtime_ns == made
    assert not second_home.exists()


@pytest.mark.slow
def test_without_a_writable_user_cache_the_home_keeps_the_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("")  # a file where the cache folder would go: nothing can be made there
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocked))
    home = tmp_path / "home" / "cache" / "kokoro"
    made = patched_model(home)
    assert made.parent == home and made.exists()
    assert patched_model(home) == made


@pytest.mark.slow
async def test_pitch_scale_moves_the_pitch_and_keeps_the_timing(engine: EmbeddedEngine) -> None:
    tokens, style = _tokens(), _style(engine)
    plain = engine._model.infer(tokens, style)
    higher = engine._model.infer(tokens, style, f0_scale=1.25)
    assert len(higher) == len(plain)
    ratio = median_f0(higher, SAMPLE_RATE) / median_f0(plain, SAMPLE_RATE)
    assert ratio == pytest.approx(1.25, rel=0.06)


@pytest.mark.slow
async def test_synthesis_applies_the_profiles_adaptation(engine: EmbeddedEngine) -> None:
    """A profile's pitch scale and equaliser reach the speech a request gets."""
    pack = next(p for p in engine.packs if p.name == "af_heart")
    freqs = bin_frequencies(SAMPLE_RATE)
    treble = np.where(freqs > 2500, 9.0, 0.0).astype(np.float32)  # +9 dB above 2.5 kHz

    async def speak(f0_scale: float, eq_db: np.ndarray | None) -> np.ndarray:
        profile = StyleProfile(pack.style, ("af_heart",), (1.0,), 0, "test", f0_scale, eq_db)
        voice = VoiceProfile("embedded", engine.info.version, encode_profile(profile))
        chunks = [c async for c in engine.synthesize(TEXT, voice, SynthesisParams())]
        return np.concatenate([c.samples for c in chunks])

    plain = await speak(1.0, None)
    higher, brighter = await speak(1.2, None), await speak(1.0, treble)
    assert median_f0(higher, SAMPLE_RATE) / median_f0(plain, SAMPLE_RATE) == pytest.approx(
        1.2, rel=0.06
    )

    def tilt(audio: np.ndarray) -> float:  # treble over mid, dB
        spectrum = long_term_spectrum(audio, SAMPLE_RATE)
        hi = spectrum[(freqs > 3000) & (freqs < 6000)].mean()
        mid = spectrum[(freqs > 300) & (freqs < 2000)].mean()
        return float(10 * np.log10(hi / mid))

    assert tilt(brighter) - tilt(plain) == pytest.approx(9.0, abs=2.0)
