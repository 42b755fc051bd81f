"""pocket_tts on a small model built by the package from a YAML config, random weights, CPU.

What random weights can show: the real load path (config, tokenizer, build, warm-up), shapes,
rates, streaming, repeatability, the profile's round trip through bytes, and the errors.
What they cannot (similarity, intelligibility) is for scripts/gpu-neural-eval on real weights.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest

from tests.engines.neural.tiny import pocket_config
from voxhub.core.errors import EngineUnavailable, InvalidInput, InvalidText, NotEnoughSpeech
from voxhub.engines.base import AudioChunk, Reference, SynthesisParams, VoiceProfile
from voxhub.engines.neural.common import decode_prompt
from voxhub.engines.neural.pocket import PocketEngine
from voxhub.settings import NeuralSettings

THREE = "Hello world. This is the second sentence! Is this the third?"


@pytest.fixture(scope="module")
async def pocket(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[PocketEngine]:
    config = pocket_config(tmp_path_factory.mktemp("pocket"))
    engine = PocketEngine(neural=NeuralSettings(pocket_config=str(config), neural_device="cpu"))
    await engine.load()
    yield engine
    await engine.aclose()


async def _spoken(engine: PocketEngine, text: str, voice: VoiceProfile) -> list[AudioChunk]:
    return [c async for c in engine.synthesize(text, voice, SynthesisParams(seed=7))]


async def test_streams_several_chunks_a_sentence(
    pocket: PocketEngine, speech_reference: Reference
) -> None:
    voice = await pocket.enroll(speech_reference)
    chunks = await _spoken(pocket, THREE, voice)
    assert len(chunks) > 3  # more than one chunk a sentence: streamed as decoded
    assert all(c.sample_rate == 24_000 for c in chunks)
    assert all(c.samples.dtype == np.float32 and c.samples.ndim == 1 for c in chunks)
    assert all(len(c.samples) > 0 and np.abs(c.samples).max() <= 1.0 for c in chunks)
    # Each sentence's words ride on its first chunk, in order.
    said = [c.text for c in chunks if c.text]
    assert said == ["Hello world.", "This is the second sentence!", "Is this the third?"]
    assert pocket.info.sample_rate == 24_000 and pocket.info.languages == ("en",)
    assert pocket.load_stats["warm_s"] > 0


async def test_profile_round_trip_speaks_the_same(
    pocket: PocketEngine, speech_reference: Reference
) -> None:
    voice = await pocket.enroll(speech_reference)
    prompt = decode_prompt(voice.data, "pocket_tts")
    assert prompt.sample_rate == 24_000
    assert abs(len(prompt.samples) / 24_000 - voice.metrics["reference_s"]) < 1e-3
    # From bytes alone (a fresh profile object, as read back from the database): same audio.
    stored = VoiceProfile(voice.engine, voice.engine_version, bytes(voice.data))
    first = np.concatenate([c.samples for c in await _spoken(pocket, THREE, voice)])
    again = np.concatenate([c.samples for c in await _spoken(pocket, THREE, stored)])
    # Equal but for float rounding: Mimi decodes however many frames are queued in one call.
    assert first.shape == again.shape
    assert np.allclose(first, again, atol=1e-4)


async def test_two_voices_differ(pocket: PocketEngine, speech_reference: Reference) -> None:
    quieter = Reference(speech_reference.samples[::-1].copy(), speech_reference.sample_rate)
    a = await pocket.enroll(speech_reference)
    b = await pocket.enroll(quieter)
    assert a.data != b.data
    first = np.concatenate([c.samples for c in await _spoken(pocket, "Hello world.", a)])
    other = np.concatenate([c.samples for c in await _spoken(pocket, "Hello world.", b)])
    assert not np.array_equal(first[: len(other)], other[: len(first)])


async def test_stopping_early_frees_the_model(
    pocket: PocketEngine, speech_reference: Reference
) -> None:
    voice = await pocket.enroll(speech_reference)
    stream = pocket.synthesize(THREE, voice, SynthesisParams())
    await anext(stream)
    await stream.aclose()  # the client went away after one chunk
    assert len(await _spoken(pocket, "Hello world.", voice)) >= 1  # the lock was let go


async def test_bad_input_is_refused(
    pocket: PocketEngine, speech_reference: Reference, short_reference: Reference
) -> None:
    with pytest.raises(NotEnoughSpeech):
        await pocket.enroll(Reference(np.zeros(0, np.float32), 24_000))
    with pytest.raises(NotEnoughSpeech, match="at least 3 s"):
        await pocket.enroll(short_reference)
    with pytest.raises(NotEnoughSpeech, match="silent"):
        await pocket.enroll(Reference(np.zeros(24_000 * 5, np.float32), 24_000))
    voice = await pocket.enroll(speech_reference)
    with pytest.raises(InvalidInput, match="does not speak 'fr'"):
        await anext(pocket.synthesize("Bonjour.", voice, SynthesisParams(language="fr")))
    with pytest.raises(InvalidInput, match="one speed"):
        await anext(pocket.synthesize("Hello.", voice, SynthesisParams(speed=1.5)))
    with pytest.raises(InvalidText):
        await anext(pocket.synthesize(" ... ", voice, SynthesisParams()))
    alien = VoiceProfile("embedded", "x", b"\x00" * 40)
    with pytest.raises(InvalidInput, match="not a pocket_tts profile"):
        await anext(pocket.synthesize("Hello.", alien, SynthesisParams()))


async def test_missing_config_is_unavailable_at_load(tmp_path: Path) -> None:
    engine = PocketEngine(neural=NeuralSettings(pocket_config=str(tmp_path / "none.yaml")))
    with pytest.raises(EngineUnavailable, match="could not load"):
        await engine.load()
    with pytest.raises(EngineUnavailable, match="not loaded"):
        await engine.enroll(Reference(np.ones(24_000 * 4, np.float32) * 0.1, 24_000))
