"""Any OpenAI-compatible speech server as an engine: OpenAI, another voxhub, Kokoro-FastAPI,
a vLLM speech model.

The protocol has no cloning: `POST {base}/audio/speech` speaks in one of the server's own
voices. So enrolment only records the configured remote voice name in the profile, and every
voxhub voice speaks in that voice on this engine (the README says so)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from voxhub.engines.base import (
    AudioChunk,
    EngineInfo,
    ProfileStatus,
    Reference,
    SynthesisParams,
    VoiceProfile,
)
from voxhub.engines.remote.http import open_client, spoken_pcm
from voxhub.settings import EngineSettings

NAME = "openai_speech"
# OpenAI's `pcm` format: 24 kHz, signed 16-bit little-endian, mono (their API reference).
RATE = 24_000


class OpenAISpeechEngine:
    """Speech from an OpenAI-compatible server, streamed as its PCM arrives."""

    def __init__(self, engine_settings: EngineSettings | None = None, **deps: Any) -> None:
        settings = deps.get("settings")
        s = engine_settings or (settings.engine if settings is not None else EngineSettings())
        self._key = s.openai_speech_api_key
        self._model = s.openai_speech_model
        self._voice = s.openai_speech_voice
        self._client = open_client(s.openai_speech_base_url, self._key, s.openai_speech_timeout_s)
        self.info = EngineInfo(
            name=NAME,
            # The remote model is part of the version: a profile made for another is rebuilt.
            version=f"openai-speech-1/{self._model}",
            sample_rate=RATE,
            languages=("en",),
            supports_cloning=False,
            supports_streaming=True,
            max_concurrency=8,
            description=(
                "An OpenAI-compatible speech server (POST /audio/speech). It cannot clone: "
                f"every voice speaks in the configured remote voice ({self._voice})."
            ),
        )

    async def load(self) -> None:
        """Nothing to load: the server holds the model."""

    async def enroll(self, reference: Reference) -> VoiceProfile:
        """No cloning here: the profile names the remote voice this voice will speak in."""
        data = json.dumps({"voice": self._voice}).encode()
        return VoiceProfile(
            engine=NAME, engine_version=self.info.version, data=data, status=ProfileStatus.ready
        )

    async def synthesize(
        self, text: str, voice: VoiceProfile, params: SynthesisParams
    ) -> AsyncIterator[AudioChunk]:
        """One request for the whole text; chunks as the PCM streams in."""
        body = {
            "model": self._model,
            "voice": json.loads(voice.data).get("voice", self._voice),
            "input": text,
            "response_format": "pcm",
            "speed": params.speed,
        }
        async for chunk in spoken_pcm(
            self._client, NAME, self._key, "/audio/speech", text, RATE, json=body
        ):
            yield chunk

    async def aclose(self) -> None:
        await self._client.aclose()
