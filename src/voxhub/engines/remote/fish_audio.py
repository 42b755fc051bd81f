"""Fish Audio as an engine, as seed 000 used it: a model per voice, speech by `reference_id`.

Enrolment uploads the reference (multipart `POST /model`, private, fast training, so the model
is usable at once) and keeps the model's `_id` in the profile; speech is `POST /v1/tts` asking
for raw PCM, so nothing needs decoding; deleting the voice deletes the model (`forget`)."""

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

NAME = "fish_audio"
RATE = 24_000  # asked for in every request; Fish Audio resamples to it


class FishAudioEngine:
    """Voices cloned into Fish Audio models; speech streamed as its PCM arrives."""

    def __init__(self, engine_settings: EngineSettings | None = None, **deps: Any) -> None:
        settings = deps.get("settings")
        s = engine_settings or (settings.engine if settings is not None else EngineSettings())
        self._key = s.fish_audio_api_key
        self._backend = s.fish_audio_backend
        self._client = open_client(s.fish_audio_base_url, self._key, s.fish_audio_timeout_s)
        self.info = EngineInfo(
            name=NAME,
            version="fish-audio-1",
            sample_rate=RATE,
            languages=("en", "zh", "ja", "de", "fr", "es", "ko", "ar"),
            supports_cloning=True,
            supports_streaming=True,
            max_concurrency=8,
            description=(
                "Fish Audio (remote): each voice becomes a private Fish Audio model, "
                "speech by its reference_id."
            ),
        )

    async def load(self) -> None:
        """Nothing to load: the provider holds the models."""

    async def enroll(self, reference: Reference) -> VoiceProfile:
        """Create a private model from the reference; the profile is its id."""
        wav = await asyncio.to_thread(reference_wav, reference)  # minutes of audio, encoded
        files = [("voices", ("reference.wav", wav, "audio/wav"))]
        fields = {
            "title": f"voxhub-{reference.seed:08x}",
            "visibility": "private",
            "type": "tts",
            "train_mode": "fast",
        }
        with transport_errors(NAME):
            response = await self._client.post("/model", data=fields, files=files)
            await check(response, NAME, self._key)
        try:
            model_id = str(response.json()["_id"])
        except (ValueError, KeyError, TypeError) as exc:
            raise EngineFailure("Fish Audio's answer named no model id") from exc
        data = json.dumps({"model_id": model_id}).encode()
        return VoiceProfile(
            engine=NAME, engine_version=self.info.version, data=data, status=ProfileStatus.ready
        )

    async def synthesize(
        self, text: str, voice: VoiceProfile, params: SynthesisParams
    ) -> AsyncIterator[AudioChunk]:
        """One request for the whole text; chunks as the PCM streams in."""
        body = {
            "text": text,
            "reference_id": _model_id(voice),
            "format": "pcm",
            "sample_rate": RATE,
            "prosody": {"speed": params.speed, "volume": 0},
        }
        headers = {"model": self._backend}  # Fish Audio picks its TTS backend by this header
        async for chunk in spoken_pcm(
            self._client, NAME, self._key, "/v1/tts", text, RATE, json=body, headers=headers
        ):
            yield chunk

    async def forget(self, voice: VoiceProfile) -> None:
        """Delete the voice's model at Fish Audio (already gone there: nothing to do)."""
        await delete_remote(self._client, NAME, self._key, f"/model/{_model_id(voice)}")

    async def aclose(self) -> None:
        await self._client.aclose()


def _model_id(voice: VoiceProfile) -> str:
    return str(json.loads(voice.data)["model_id"])
