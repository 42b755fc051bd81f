"""f5_tts on a small model: the package's CFM and DiT and a Vocos, random weights, saved as
files and loaded through the engine's own `_build` (local paths, as a worker without the hub).

The transcriber is voxhub's recogniser, as in production; the reference is a real speaker.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import numpy as np
import pytest

from tests.engines.neural.tiny import f5_files
from voxhub.core.errors import EngineUnavailable, InvalidInput, NotEnoughSpeech
from voxhub.engines.base import AudioChunk, Reference, SynthesisParams, VoiceProfile
from voxhub.engines.neural.common import decode_prompt
from voxhub.engines.neural.f5 import F5Engine
from voxhub.settings import NeuralSettings

# Third-party noise under the suite's warnings-as-errors: pydub looks for ffmpeg (unused: audio
# is handed over as arrays), and the packages' own deprecations.
pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore::FutureWarning"),
    pytest.mark.filterwarnings("ignore::UserWarning"),
    pytest.mark.filterwarnings("ignore:Couldn't find ffmpeg:RuntimeWarning"),
]

THREE = "Hello world. This is the second sentence! Is this the third?"


@pytest.fixture(scope="module")
async def f5(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[F5Engine]:
    files = f5_files(tmp_path_factory.mktemp("f5"))
    engine = F5Engine(neural=NeuralSettings(**files, neural_device="cpu"))  # type: ignore[arg-type]
    await engine.load()
    yield engine
    await engine.aclose()


async def _spoken(
    engine: F5Engine, text: str, voice: VoiceProfile, **kw: object
) -> list[AudioChunk]:
    return [c async for c in engine.synthesize(text, voice, SynthesisParams(seed=3, **kw))]  # type: ignore[arg-type]


async def test_enrols_with_the_heard_transcript(f5: F5Engine, speech_reference: Reference) -> None:
    voice = await f5.enroll(speech_reference)
    prompt = decode_prompt(voice.data, "f5_tts")
    # VCTK p225_003 says "Six spoons of fresh snow peas, five thick slabs of blue cheese...".
    assert "spoons" in prompt.transcript.lower()
    assert prompt.sample_rate == 24_000 and voice.metrics["reference_s"] > 5.0
    assert f5.load_stats["warm_s"] > 0


async def test_a_chunk_per_sentence_and_the_round_trip(
    f5: F5Engine, speech_reference: Reference
) -> None:
    voice = await f5.enroll(speech_reference)
    chunks = await _spoken(f5, THREE, voice)
    assert [c.text for c in chunks] == [
        "Hello world.",
        "This is the second sentence!",
        "Is this the third?",
    ]
    assert all(c.sample_rate == 24_000 and c.samples.dtype == np.float32 for c in chunks)
    # F5 sizes the output from the reference's speaking rate: longer text, longer audio.
    assert len(chunks[1].samples) > len(chunks[0].samples)
    stored = VoiceProfile(voice.engine, voice.engine_version, bytes(voice.data))
    again = await _spoken(f5, THREE, stored)
    for a, b in zip(chunks, again, strict=True):
        assert np.allclose(a.samples, b.samples, atol=1e-5)
    # Speed is F5's: half the speed, about twice the audio for the same sentence.
    slow = await _spoken(f5, "This is the second sentence!", voice, speed=0.5)
    assert len(slow[0].samples) > 1.8 * len(chunks[1].samples)


async def test_bad_input_is_refused(
    f5: F5Engine, speech_reference: Reference, short_reference: Reference
) -> None:
    with pytest.raises(NotEnoughSpeech):
        await f5.enroll(Reference(np.zeros(0, np.float32), 24_000))
    with pytest.raises(NotEnoughSpeech, match="at least 3 s"):
        await f5.enroll(short_reference)
    noise = np.random.default_rng(5).standard_normal(24_000 * 4).astype(np.float32) * 0.01
    with pytest.raises(NotEnoughSpeech, match="no words"):
        await f5.enroll(Reference(noise, 24_000))
    voice = await f5.enroll(speech_reference)
    with pytest.raises(InvalidInput, match="does not speak 'de'"):
        await anext(f5.synthesize("Hallo Welt.", voice, SynthesisParams(language="de")))
    pocket_voice = VoiceProfile("pocket_tts", "x", voice.data.replace(b'"f5_tts"', b'"pocket"'))
    with pytest.raises(InvalidInput, match="made for pocket"):
        await anext(f5.synthesize("Hello.", pocket_voice, SynthesisParams()))


async def test_missing_weights_are_unavailable_at_load(tmp_path) -> None:  # type: ignore[no-untyped-def]
    files = f5_files(tmp_path)
    files["f5_checkpoint"] = str(tmp_path / "absent.safetensors")
    engine = F5Engine(neural=NeuralSettings(**files), transcriber=lambda _x, _r: "words")  # type: ignore[arg-type]
    with pytest.raises(EngineUnavailable, match="no weights at"):
        await engine.load()
