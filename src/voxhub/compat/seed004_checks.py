"""Seed 004's `model_type` and `audio_format`: each is honoured or refused, never ignored."""

from __future__ import annotations

from typing import Any

from voxhub.audio.types import ProbeInfo
from voxhub.compat.models import engine_named_by
from voxhub.container import Container
from voxhub.core.errors import Conflict, InvalidInput
from voxhub.engines.registry import available_engines

# The seed's only model. voxhub's default engine stands in for it (unless an engine of that
# name is enabled): seed 004's clients send it on every call, so refusing it would refuse them
# all.
SEED_MODEL = "chatterbox"
# What each `audio_format` a client may declare is, as the decoder names the container (and,
# for Ogg, the codec): the formats voxhub can store and serve back byte for byte.
DECLARED: dict[str, tuple[str, str | None]] = {
    "wav": ("wav", None),
    "mp3": ("mp3", None),
    "flac": ("flac", None),
    "opus": ("ogg", "opus"),
    "ogg": ("ogg", None),
    "aac": ("aac", None),
}
# A stored file's format (voxhub's name, as `FORMATS` knows it) for each container.
STORED = {"wav": "wav", "mp3": "mp3", "flac": "flac", "aac": "aac"}


class UnknownModelType(InvalidInput):
    code = "unknown_model_type"
    title = "Unknown model_type"


class ModelTypeNotEnabled(UnknownModelType):
    """`model_type` names an engine voxhub has, but this server does not run it."""

    code = "model_type_not_enabled"
    title = "model_type names an engine that is not enabled"


class AudioFormatMismatch(InvalidInput):
    code = "audio_format_mismatch"
    title = "The audio is not in the declared audio_format"


class UnsupportedAudioFormat(InvalidInput):
    code = "unsupported_audio_format"
    title = "Unsupported audio_format"


class VoiceExists(Conflict):
    code = "voice_exists"
    title = "A voice with this voice_id exists"


def engine_for(c: Container, model_type: str) -> str | None:
    """The engine `model_type` names: None (the default engine) for the seed's own model.

    Clone and speech both enrol and speak on it, so a voice cloned for a model is that model's
    voice; a name this server cannot run is refused, never quietly replaced by the default."""
    return engine_named_by(c.engines, model_type, (SEED_MODEL,), _refused)


def _refused(model_type: str, names: list[str]) -> UnknownModelType:
    accepted = [SEED_MODEL, *(n for n in names if n != SEED_MODEL)]
    if model_type in available_engines():
        return ModelTypeNotEnabled(
            f"model_type {model_type!r} is an engine this server does not run; enable it "
            f"(VOXHUB_ENGINES) or use one of {', '.join(accepted)}",
            model_type=model_type,
            accepted=accepted,
        )
    return UnknownModelType(
        f"model_type {model_type!r} is not available; use one of {', '.join(accepted)}",
        model_type=model_type,
        accepted=accepted,
    )


def check_audio_format(declared: str | None, info: ProbeInfo) -> None:
    """Refuse a recording whose content is not the `audio_format` it was declared as."""
    if declared is None:
        return
    want = DECLARED.get(declared.lower())
    if want is None:
        raise UnsupportedAudioFormat(
            f"audio_format {declared!r} is not one of {', '.join(DECLARED)}",
            audio_format=declared,
            accepted=list(DECLARED),
        )
    container, codec = want
    if info.container != container or (codec is not None and info.codec != codec):
        raise AudioFormatMismatch(
            f"audio_format is {declared!r} but the audio is {info.container}",
            audio_format=declared,
            detected=info.container,
        )


def stored_format(info: ProbeInfo) -> str:
    """voxhub's name for a file it keeps as sent; refuses what it could not serve back."""
    if info.container == "ogg" and info.codec == "opus":
        return "opus"
    fmt = STORED.get(info.container)
    if fmt is None:
        raise UnsupportedAudioFormat(
            f"{info.container} audio cannot be stored as a generation; send wav, mp3, opus, "
            "flac or aac",
            detected=info.container,
        )
    return fmt


def document_model_types(doc: dict[str, Any], engine_names: list[str]) -> None:
    """In an OpenAPI document, list the `model_type` values this server takes (an enum, so a
    client or a fuzzer sees what `engine_for` accepts): every seed 004 body that has one."""
    accepted = [SEED_MODEL, *(n for n in engine_names if n != SEED_MODEL)]
    for schema in doc.get("components", {}).get("schemas", {}).values():
        prop = schema.get("properties", {}).get("model_type")
        if prop is not None and prop.get("default") == SEED_MODEL:
            prop["enum"] = accepted
