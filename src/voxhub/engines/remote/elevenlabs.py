"""ElevenLabs as an engine: instant voice cloning, then text to speech by the voice's id.

Enrolment uploads the reference (multipart `POST /v1/voices/add`) and keeps the `voice_id`
in the profile; speech is `POST /v1/text-to-speech/{voice_id}/stream` asking for
`output_format=pcm_24000`, so nothing needs decoding; deleting the voice deletes it there
(`DELETE /v1/voices/{voice_id}`). Auth is the `xi-api-key` header."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

from voxhub.core.errors import EngineFailure
from voxhub.engines.base import (
    AudioChunk,
    EngineInfo,
    ProfileStatus,
    Reference,
    SynthesisParams,
    VoiceProfile,
)
from voxhub.engines.remote.http import (
    check,
    delete_remote,
    open_client,
    reference_wav,
    spoken_pcm,
    transport_errors,
)
from voxhub.settings import EngineSettings

NAME = "elevenlabs"
RATE = 24_000
# ElevenLabs accepts voice_settings.speed in [0.7, 1.2]; voxhub's wider range is clamped to it.
SPEED_RANGE = (0.7, 1.2)


class ElevenLabsEngine:
    """Voices cloned instantly at ElevenLabs; speech streamed as its PCM arrives."""

    def __init__(self, engine_settings: EngineSettings | None = None, **deps: Any) -> None:
        settings = deps.get("settings")
        s = engine_settings or (settings.engine if settings is not None else EngineSettings())
        self._key = s.elevenlabs_api_key
        self._model = s.elevenlabs_model
        self._client = open_client(
            s.elevenlabs_base_url, self._key, s.elevenlabs_timeout_s, auth="xi-api-key"
        )
        self.info = EngineInfo(
            name=NAME,
            version=f"elevenlabs-1/{self._model}",
            sample_rate=RATE,
            languages=("en", "es", "fr", "de", "it", "pt", "pl", "hi", "ja", "zh", "ko"),
            supports_cloning=True,
            supports_streaming=True,
            max_concurrency=4,
            description="ElevenLabs (remote): instant voice cloning, then speech by voice_id.",
        )

    async def load(self) -> None:
        """Nothing to load: the provider holds the voices."""

    async def enroll(self, reference: Reference) -> VoiceProfile:
        """Clone the reference instantly; the profile is the new voice's id."""
        wav = await asyncio.to_thread(reference_wav, reference)  # minutes of audio, encoded
        files = [("files", ("reference.wav", wav, "audio/wav"))]
        # voxhub has already cleaned the reference, so ElevenLabs need not denoise it again.
        fields = {"name": f"voxhub-{reference.seed:08x}", "remove_background_noise": "false"}
        with transport_errors(NAME):
            response = await self._client.post("/v1/voices/add", data=fields, files=files)
            await check(response, NAME, self._key)
        try:
            voice_id = str(response.json()["voice_id"])
        except (ValueError, KeyError, TypeError) as exc:
            raise EngineFailure("ElevenLabs' answer named no voice id") from exc
        return VoiceProfile(
            engine=NAME,
            engine_version=self.info.version,
            data=json.dumps({"voice_id": voice_id}).encode(),
            status=ProfileStatus.ready,
        )

    async def synthesize(
        self, text: str, voice: VoiceProfile, params: SynthesisParams
    ) -> AsyncIterator[AudioChunk]:
        """One request for the whole text; chunks as the PCM streams in."""
        speed = min(max(params.speed, SPEED_RANGE[0]), SPEED_RANGE[1])
        body = {"text": text, "model_id": self._model, "voice_settings": {"speed": speed}}
        path = f"/v1/text-to-speech/{_voice_id(voice)}/stream"
        query = {"output_format": f"pcm_{RATE}"}
        async for chunk in spoken_pcm(
            self._client, NAME, self._key, path, text, RATE, json=body, params=query
        ):
            yield chunk

    async def forget(self, voice: VoiceProfile) -> None:
        """Delete the cloned voice at ElevenLabs (already gone there: nothing to do)."""
        await delete_remote(self._client, NAME, self._key, f"/v1/voices/{_voice_id(voice)}")

    async def aclose(self) -> None:
        await self._client.aclose()


def _voice_id(voice: VoiceProfile) -> str:
    return str(json.loads(voice.data)["voice_id"])
