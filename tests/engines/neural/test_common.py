"""What the neural engines share, without their packages: profiles, settings, missing
packages, unreachable weights, entry points and streaming out of a thread."""

from __future__ import annotations

import asyncio
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from voxhub.core.errors import EngineFailure, EngineUnavailable, InvalidInput, InvalidText
from voxhub.engines.base import Reference, SynthesisParams
from voxhub.engines.neural.chatterbox import ChatterboxEngine, weights_folder
from voxhub.engines.neural.common import (
    Prompt,
    as_stored,
    decode_prompt,
    encode_prompt,
    fetch,
    pick_device,
    require,
    sentences,
    stream_thread,
)
from voxhub.engines.neural.f5 import F5Engine
from voxhub.engines.registry import EngineRegistry, available_engines
from voxhub.settings import NeuralSettings, Settings


def _prompt(**kw: object) -> Prompt:
    samples = as_stored(np.sin(np.linspace(0, 200, 24_000)).astype(np.float32) * 0.5)
    fields = {"engine": "f5_tts", "model": "m1", "sample_rate": 24_000, "samples": samples}
    return Prompt(**(fields | kw))  # type: ignore[arg-type]


def test_prompt_round_trips_through_bytes() -> None:
    prompt = _prompt(transcript="Six spoons of fresh snow peas.", features=b"\x01\x02" * 100)
    back = decode_prompt(encode_prompt(prompt), "f5_tts")
    assert back.transcript == prompt.transcript and back.features == prompt.features
    assert back.model == "m1" and back.sample_rate == 24_000
    assert np.array_equal(back.samples, prompt.samples)  # stored samples are 16-bit exact


@pytest.mark.parametrize(
    "data",
    [b"", b"VXNZ", b"VXNZ\xff\xff\xff\xff{}", b"kokoro profile bytes" * 4],
    ids=["empty", "magic-only", "huge-header", "other-engine-format"],
)
def test_damaged_or_foreign_profiles_are_refused(data: bytes) -> None:
    with pytest.raises(InvalidInput, match="not a f5_tts profile"):
        decode_prompt(data, "f5_tts")


def test_a_truncated_profile_is_refused() -> None:
    data = encode_prompt(_prompt())
    with pytest.raises(InvalidInput, match="not a f5_tts profile"):
        decode_prompt(data[:-3], "f5_tts")


def test_another_engines_profile_says_whose_it_is() -> None:
    with pytest.raises(InvalidInput, match="made for f5_tts, not chatterbox"):
        decode_prompt(encode_prompt(_prompt()), "chatterbox")


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VOXHUB_F5_CHECKPOINT", "/models/f5/model.safetensors")
    monkeypatch.setenv("VOXHUB_CHATTERBOX_WEIGHTS", "/models/chatterbox")
    monkeypatch.setenv("VOXHUB_POCKET_CONFIG", "french")
    monkeypatch.setenv("VOXHUB_NEURAL_DEVICE", "cuda:1")
    neural = Settings().neural
    assert neural.f5_checkpoint == "/models/f5/model.safetensors"
    assert neural.chatterbox_weights == "/models/chatterbox"
    assert neural.pocket_config == "french" and neural.neural_device == "cuda:1"


def test_a_missing_package_is_engine_unavailable_naming_the_extra() -> None:
    with pytest.raises(EngineUnavailable, match=r"voxhub\[f5\]"):
        require("voxhub_no_such_package", "f5_tts", "f5")


@pytest.mark.parametrize(
    ("engine_class", "module", "extra"),
    [(F5Engine, "f5_tts", "f5"), (ChatterboxEngine, "chatterbox", "chatterbox")],
)
async def test_engines_without_their_package_fail_at_load_not_import(
    monkeypatch: pytest.MonkeyPatch, engine_class: type, module: str, extra: str
) -> None:
    # As in the default environment: the package cannot be imported (None blocks the import).
    for name in [m for m in sys.modules if m == module or m.startswith(module + ".")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, module, None)
    # (F5's transcriber given, so only the package is missing; the other takes no transcriber.)
    engine = engine_class(neural=NeuralSettings(), transcriber=lambda _x, _r: "words")
    with pytest.raises(EngineUnavailable, match=rf"voxhub\[{extra}\]"):
        await engine.load()
    ref = Reference(np.full(24_000 * 4, 0.1, np.float32), 24_000)
    with pytest.raises(EngineUnavailable, match="not loaded"):
        await engine.enroll(ref)


def test_weights_out_of_reach_are_engine_unavailable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # as on a worker without the hub
    with pytest.raises(EngineUnavailable, match="no weights at"):
        fetch(str(tmp_path / "model.safetensors"), "f5_tts")
    with pytest.raises(EngineUnavailable, match="model hub"):
        fetch("hf://SWivid/F5-TTS/F5TTS_v1_Base/model_1250000.safetensors", "f5_tts")
    with pytest.raises(EngineUnavailable, match="not hf://owner/repo/file"):
        fetch("hf://SWivid", "f5_tts")
    (tmp_path / "ve.safetensors").write_bytes(b"")
    with pytest.raises(EngineUnavailable, match=r"lacks t3_cfg\.safetensors"):
        weights_folder(str(tmp_path))
    with pytest.raises(EngineUnavailable, match="model hub"):
        weights_folder("ResembleAI/chatterbox")


def test_cuda_asked_for_without_cuda_is_unavailable() -> None:
    import torch

    if torch.cuda.is_available():
        assert pick_device("cuda", "x") == "cuda"
        return
    assert pick_device("auto", "x") == "cpu"
    with pytest.raises(EngineUnavailable, match="no CUDA device"):
        pick_device("cuda", "x")


def test_text_without_words_is_invalid() -> None:
    assert sentences("One. Two! ...") == ["One.", "Two!"]
    with pytest.raises(InvalidText):
        sentences("... !!")


def test_the_three_engines_are_entry_points() -> None:
    found = available_engines()
    assert {"f5_tts", "chatterbox", "pocket_tts"} <= set(found)
    registry = EngineRegistry.from_entry_points(
        ["f5_tts", "chatterbox", "pocket_tts"], "pocket_tts", settings=Settings()
    )
    assert [e.info.name for e in registry.all()] == ["pocket_tts", "f5_tts", "chatterbox"]
    assert all(e.info.supports_cloning and e.info.sample_rate == 24_000 for e in registry.all())


async def test_stream_stops_its_thread_when_the_consumer_leaves() -> None:
    produced: list[int] = []
    finished = threading.Event()

    def produce(emit):  # type: ignore[no-untyped-def]
        try:
            for i in range(1000):
                emit(i)
                produced.append(i)
                time.sleep(0.005)  # a model call: the consumer leaves while it runs
        finally:
            finished.set()

    stream = stream_thread("test", produce)
    assert await anext(stream) == 0
    await stream.aclose()
    assert await asyncio.to_thread(finished.wait, 5)
    assert len(produced) < 1000


async def test_model_errors_become_engine_failure() -> None:
    def produce(emit):  # type: ignore[no-untyped-def]
        emit(1)
        raise RuntimeError("CUDA out of memory")

    got = []
    with pytest.raises(EngineFailure, match="test failed: RuntimeError: CUDA out of memory"):
        async for item in stream_thread("test", produce):
            got.append(item)
    assert got == [1]


def test_speed_is_refused_where_it_cannot_be_honoured() -> None:
    from voxhub.engines.neural.common import fixed_speed

    fixed_speed("pocket_tts", SynthesisParams(speed=1.0))
    with pytest.raises(InvalidInput, match="one speed"):
        fixed_speed("pocket_tts", SynthesisParams(speed=1.25))
