"""One rule for what a face's model name means (compat/models.py), used by the OpenAI, the
ElevenLabs and the seed 004 faces alike: an enabled engine by its own name first, the face's
own model names as the default engine, anything else refused in the face's words."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace
from typing import Any

import pytest

from voxhub.compat.elevenlabs.formats import engine_for_model as elevenlabs_engine
from voxhub.compat.models import engine_named_by
from voxhub.compat.openai_speech import engine_for as openai_engine
from voxhub.compat.seed004_checks import engine_for as seed004_engine
from voxhub.core.errors import EngineNotFound, InvalidInput
from voxhub.engines.fake import FakeEngine
from voxhub.engines.registry import EngineRegistry


class Chatterbox(FakeEngine):
    """An enabled engine whose name is also seed 004's model name."""

    info = dataclasses.replace(FakeEngine.info, name="chatterbox")


ENGINES = EngineRegistry({"fake": FakeEngine(), "chatterbox": Chatterbox()}, "fake")
FAKE_ONLY: Any = SimpleNamespace(engines=EngineRegistry({"fake": FakeEngine()}, "fake"))
WITH_CHATTERBOX: Any = SimpleNamespace(engines=ENGINES)  # the faces read only `engines`


def refuse(model: str, names: list[str]) -> InvalidInput:
    return InvalidInput(f"{model} is not one of {names}")


def test_the_rule() -> None:
    assert engine_named_by(ENGINES, "fake", ["tts-1"], refuse) == "fake"
    assert engine_named_by(ENGINES, "tts-1", ["tts-1"], refuse) is None
    assert engine_named_by(ENGINES, None, ["tts-1"], refuse) is None
    assert engine_named_by(ENGINES, "chatterbox", ["chatterbox"], refuse) == "chatterbox"
    with pytest.raises(InvalidInput, match=r"tortoise is not one of \['fake', 'chatterbox'\]"):
        engine_named_by(ENGINES, "tortoise", ["tts-1"], refuse)


@pytest.mark.parametrize(
    ("face", "stand_in", "refused"),
    [
        (openai_engine, "tts-1", "engine_not_found"),
        (elevenlabs_engine, "eleven_flash_v2_5", "engine_not_found"),
        (seed004_engine, "chatterbox", "unknown_model_type"),
    ],
)
def test_every_face_follows_it(face: Any, stand_in: str, refused: str) -> None:
    assert face(FAKE_ONLY, "fake") == "fake"
    assert face(FAKE_ONLY, stand_in) is None  # the default engine
    with pytest.raises((EngineNotFound, InvalidInput)) as no:
        face(FAKE_ONLY, "tortoise")
    assert no.value.code == refused
    # An enabled engine is named by its own name first, in every face.
    assert face(WITH_CHATTERBOX, "chatterbox") == "chatterbox"
