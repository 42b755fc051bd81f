"""ElevenLabs' `output_format` strings and model ids, in voxhub's terms."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from voxhub.audio.encode import SAMPLE_RATES
from voxhub.compat.models import engine_named_by
from voxhub.container import Container
from voxhub.core.errors import EngineNotFound, InvalidInput
from voxhub.engines.base import EngineInfo

DEFAULT_FORMAT = "mp3_44100_128"
# codec part of `codec_rate[_bitrate]` -> voxhub's format. ElevenLabs' `pcm` is raw s16le and
# its `ulaw` raw mu-law (Twilio's), as voxhub's `pcm` and `mulaw` are; its `opus` is Ogg Opus.
_CODECS = {"mp3": "mp3", "pcm": "pcm", "ulaw": "mulaw", "opus": "opus", "wav": "wav"}
# libopus encodes only these rates; ElevenLabs offers opus at 48 kHz alone.
_OPUS_RATES = (8000, 16000, 24000, 48000)
# ElevenLabs' own model ids, taken as the default engine so code written for them works as is.
ELEVENLABS_MODEL_IDS = (
    "eleven_multilingual_v2",
    "eleven_v3",
    "eleven_flash_v2_5",
    "eleven_flash_v2",
    "eleven_turbo_v2_5",
    "eleven_turbo_v2",
    "eleven_monolingual_v1",
    "eleven_multilingual_v1",
)


_RATES = "|".join(map(str, SAMPLE_RATES))
# The formats voxhub writes, told to clients (and fuzzers) as the query's pattern and parsed by
# the same expression. mp3 and opus name a bitrate; the uncompressed ones do not, as ElevenLabs
# spells them; libopus encodes only its own rates.
OUTPUT_FORMAT_PATTERN = (
    rf"(?P<codec>mp3)_(?P<rate>{_RATES})_[0-9]{{1,3}}"
    rf"|(?P<raw>pcm|ulaw|wav)_(?P<raw_rate>{_RATES})"
    rf"|(?P<opus>opus)_(?P<o_rate>{'|'.join(map(str, _OPUS_RATES))})_[0-9]{{1,3}}"
)
_PARSED = re.compile(OUTPUT_FORMAT_PATTERN)
# The same, for a JSON schema (which has no named groups).
OUTPUT_FORMAT_SCHEMA = "^(?:" + re.sub(r"\(\?P<\w+>", "(", OUTPUT_FORMAT_PATTERN) + ")$"


@dataclass(frozen=True)
class OutputFormat:
    format: str  # voxhub's
    sample_rate: int


def parse_output_format(value: str | None) -> OutputFormat:
    """`mp3_44100_128` -> mp3 at 44.1 kHz; a format voxhub cannot write is a 422.

    The bitrate part is accepted and not honoured: voxhub's encoder picks its own (128 kb/s
    MP3 above 24 kHz, 64 below; Opus 48 kb/s).
    """
    text = DEFAULT_FORMAT if value is None else value
    found = _PARSED.fullmatch(text)
    if found is None:
        raise InvalidInput(
            f"output_format {text[:40]!r} is not one voxhub writes: use mp3_<rate>_<kbps>, "
            f"pcm_<rate>, ulaw_<rate>, wav_<rate> (a rate of "
            f"{', '.join(map(str, SAMPLE_RATES))}) or opus_<8000|16000|24000|48000>_<kbps>",
            param="output_format",
        )
    codec = found["codec"] or found["raw"] or found["opus"]
    return OutputFormat(_CODECS[codec], int(found["rate"] or found["raw_rate"] or found["o_rate"]))


def engine_for_model(c: Container, model_id: str | None) -> str | None:
    """The engine a `model_id` names: a voxhub engine by name, or an ElevenLabs id taken as the
    default engine; another id is a 404, as the OpenAI face answers an unknown model."""
    return engine_named_by(c.engines, model_id, ELEVENLABS_MODEL_IDS, _unknown_model_id)


def _unknown_model_id(model_id: str, _: list[str]) -> EngineNotFound:
    return EngineNotFound(
        f"model_id {model_id[:64]!r} is unknown: GET /v1/models lists them", param="model_id"
    )


def elevenlabs_models(c: Container) -> list[dict[str, Any]]:
    """GET /v1/models in ElevenLabs' shape: each voxhub engine, then ElevenLabs' ids (spoken by
    the default engine). For the lead's `/v1/models`, which answers this list to `xi-api-key`."""
    default = c.engines.get(None).info
    rows = [_model(e.info, e.info.name) for e in c.engines.all()]
    rows += [
        _model(default, mid, f"{mid} (voxhub: {default.name})") for mid in ELEVENLABS_MODEL_IDS
    ]
    return rows


def _model(info: EngineInfo, model_id: str, name: str | None = None) -> dict[str, Any]:
    languages = [{"language_id": lang, "name": lang} for lang in info.languages]
    return {
        "model_id": model_id,
        "name": name or info.name,
        "description": info.description,
        "can_do_text_to_speech": True,
        "can_do_voice_conversion": False,
        "can_be_finetuned": False,
        "can_use_style": False,
        "can_use_speaker_boost": False,
        "serves_pro_voices": False,
        "requires_alpha_access": False,
        "max_characters_request_free_user": 5000,
        "max_characters_request_subscribed_user": 5000,
        "languages": languages,
    }
