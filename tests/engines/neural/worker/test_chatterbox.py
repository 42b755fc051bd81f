"""chatterbox on a small model from the package's classes (one-layer T3, narrow S3Gen vocoder
and flow decoder), random weights, behind the engine's real enrolment and speech paths.

`ChatterboxTTS.from_local` builds the released 0.5B sizes whatever the files hold, so the
small model comes in through `runtime_factory`; the loading from a folder is left to
scripts/gpu-neural-eval with the real weights.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest

from tests.engines.neural.tiny import chatterbox_model
from voxhub.core.errors import InvalidInput, NotEnoughSpeech
from voxhub.engines.base import AudioChunk, Reference, SynthesisParams, VoiceProfile
from voxhub.engines.neural.chatterbox import ChatterboxEngine, ChatterboxRuntime
from voxhub.engines.neural.common import decode_prompt
from voxhub.settings import NeuralSettings

pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore::FutureWarning"),
    pytest.mark.filterwarnings("ignore::UserWarning"),
]

THREE = "Hello world. This is the second sentence! Is this the third?"
# Random T3 weights seldom say stop: a small budget keeps each sentence under a second of audio.
SETTINGS = NeuralSettings(neural_device="cpu", chatterbox_tokens_per_char=0.2)


@pytest.fixture(scope="module")
async def chatterbox(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[ChatterboxEngine]:
    folder = tmp_path_factory.mktemp("chatterbox")
    engine = ChatterboxEngine(
        neural=SETTINGS, runtime_factory=lambda: ChatterboxRuntime(chatterbox_model(folder), "cpu")
    )
    await engine.load()
    yield engine
    await engine.aclose()


async def _spoken(engine: ChatterboxEngine, text: str, voice: VoiceProfile) -> list[AudioChunk]:
    return [c async for c in engine.synthesize(text, voice, SynthesisParams(seed=11))]


async def test_profile_holds_the_prompt_features(
    chatterbox: ChatterboxEngine, speech_reference: Reference
) -> None:
    voice = await chatterbox.enroll(speech_reference)
    prompt = decode_prompt(voice.data, "chatterbox")
    assert prompt.model == chatterbox.model_id()
    assert len(prompt.features) > 10_000  # speaker embedding, prompt tokens, S3Gen features
    assert chatterbox.load_stats["warm_s"] > 0


async def test_a_chunk_per_sentence_and_the_round_trip(
    chatterbox: ChatterboxEngine, speech_reference: Reference
) -> None:
    voice = await chatterbox.enroll(speech_reference)
    chunks = await _spoken(chatterbox, THREE, voice)
    assert [c.text for c in chunks] == [
        "Hello world.",
        "This is the second sentence!",
        "Is this the third?",
    ]
    assert all(c.sample_rate == 24_000 and c.samples.dtype == np.float32 for c in chunks)
    # The token budget bounds each sentence: 25 tokens + 0.2 a character, 25 tokens a second.
    for c in chunks:
        assert 0 < c.duration <= (25 + 0.2 * len(c.text) + 1) / 25 + 0.1
    stored = VoiceProfile(voice.engine, voice.engine_version, bytes(voice.data))
    again = await _spoken(chatterbox, THREE, stored)
    for a, b in zip(chunks, again, strict=True):
        assert np.allclose(a.samples, b.samples, atol=1e-4)


async def test_features_of_other_weights_fall_back_to_the_audio(
    chatterbox: ChatterboxEngine, speech_reference: Reference
) -> None:
    voice = await chatterbox.enroll(speech_reference)
    # A profile whose features came from other weights: the engine re-encodes the audio.
    foreign = voice.data.replace(chatterbox.model_id().encode(), b"chatterbox-en-00000000")
    chunks = await _spoken(chatterbox, "Hello world.", VoiceProfile("chatterbox", "old", foreign))
    assert len(chunks) == 1 and chunks[0].duration > 0


async def test_bad_input_is_refused(
    chatterbox: ChatterboxEngine, speech_reference: Reference, short_reference: Reference
) -> None:
    with pytest.raises(NotEnoughSpeech):
        await chatterbox.enroll(Reference(np.zeros(0, np.float32), 24_000))
    with pytest.raises(NotEnoughSpeech, match="at least 3 s"):
        await chatterbox.enroll(short_reference)
    voice = await chatterbox.enroll(speech_reference)
    with pytest.raises(InvalidInput, match="does not speak 'es'"):
        await anext(chatterbox.synthesize("Hola.", voice, SynthesisParams(language="es")))
    with pytest.raises(InvalidInput, match="one speed"):
        await anext(chatterbox.synthesize("Hello.", voice, SynthesisParams(speed=0.8)))


def test_tokenizer_file_is_the_packages_format(tmp_path: Path) -> None:
    from chatterbox.models.tokenizers import EnTokenizer

    from tests.engines.neural.tiny import chatterbox_tokenizer

    tokenizer = EnTokenizer(str(chatterbox_tokenizer(tmp_path / "tokenizer.json")))
    assert tokenizer.decode(tokenizer.encode("hello world")) == "hello world"
