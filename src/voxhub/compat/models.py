"""Which engine a face's model name means, decided once for every compatibility face.

Each face has model names of its own (OpenAI's `tts-1`, ElevenLabs' `eleven_*` ids, seed 004's
`chatterbox`) that code written for it sends on every call: voxhub's default engine stands in
for them. An enabled engine is also named by its own name, first (so an enabled engine called
`chatterbox` is that engine, not a stand-in). Anything else is refused in the face's words.
"""

from __future__ import annotations

from collections.abc import Callable, Collection

from voxhub.core.errors import VoxhubError
from voxhub.engines.registry import EngineRegistry

# Makes the face's refusal from the name sent and the enabled engines' names.
Refusal = Callable[[str, list[str]], VoxhubError]


def engine_named_by(
    engines: EngineRegistry, model: str | None, stand_ins: Collection[str], refuse: Refusal
) -> str | None:
    """The engine `model` names: an enabled engine by its name; None (the default engine) for
    no name or one of the face's `stand_ins`; else raises `refuse(model, enabled names)`."""
    names = [e.info.name for e in engines.all()]
    if model is not None and model in names:
        return model
    if model is None or model in stand_ins:
        return None
    raise refuse(model, names)
