"""The OpenAI speech API, driven by the official `openai` package pointed at voxhub, unchanged.

The app is served by uvicorn on loopback (`live_url`), so the SDK talks real chunked HTTP. Every
format is decoded back with PyAV; refusals surface as the SDK's own exception types and store
nothing.
"""

from __future__ import annotations

import base64
import io
import json

import av
import httpx
import numpy as np
import openai
import pytest
from elevenlabs.client import AsyncElevenLabs

from tests.api.conftest import Account, counts, create_voice
from voxhub.container import Container

TEXT = "The quick brown fox jumps over the lazy dog. Then it sleeps in the sun. The end."


@pytest.fixture
async def sdk(live_url: str, user_a: Account) -> openai.AsyncOpenAI:
    async with openai.AsyncOpenAI(
        base_url=f"{live_url}/v1", api_key=user_a.api_key, max_retries=0, timeout=60
    ) as client:
        yield client


async def reference_duration(client: httpx.AsyncClient, voice_id: str, text: str) -> float:
    """How long voxhub's own API says this text lasts in this voice."""
    r = await client.post("/api/v1/speech", json={"voice_id": voice_id, "text": text})
    assert r.status_code == 200, r.text
    return float(r.headers["X-Voxhub-Duration"])


def decoded(data: bytes) -> tuple[str, int, float]:
    """(codec, sample rate, seconds) of an encoded file, read back by FFmpeg through PyAV."""
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.audio[0]
        samples = sum(frame.samples for frame in container.decode(stream))
        return stream.codec_context.name, stream.codec_context.sample_rate, samples / stream.rate


# (response_format, codec FFmpeg reports, the rate it decodes at, seconds the codec may add)
CONTAINERS = [
    ("mp3", "mp3float", 24_000, 0.1),
    ("opus", "opus", 48_000, 0.05),  # FFmpeg decodes Opus at 48 kHz, whatever was encoded
    ("aac", "aac", 24_000, 3 * 1024 / 24_000),
    ("flac", "flac", 24_000, 0.0),
    ("wav", "pcm_s16le", 24_000, 0.0),
]


@pytest.mark.parametrize(("fmt", "codec", "rate", "slack"), CONTAINERS)
async def test_every_container_format_decodes(
    sdk: openai.AsyncOpenAI,
    client: httpx.AsyncClient,
    fmt: str,
    codec: str,
    rate: int,
    slack: float,
) -> None:
    voice = await create_voice(client)
    expected = await reference_duration(client, voice["id"], TEXT)
    audio = await sdk.audio.speech.create(
        model="tts-1", voice=voice["id"], input=TEXT, response_format=fmt
    )
    got_codec, got_rate, seconds = decoded(audio.content)
    assert (got_codec, got_rate) == (codec, rate)
    assert expected - 0.03 <= seconds <= expected + slack + 0.03
    assert audio.response.headers["x-voxhub-generated"] == "true"


async def test_pcm_is_raw_24khz_s16le(sdk: openai.AsyncOpenAI, client: httpx.AsyncClient) -> None:
    voice = await create_voice(client)
    expected = await reference_duration(client, voice["id"], TEXT)
    audio = await sdk.audio.speech.create(
        model="tts-1", voice=voice["id"], input=TEXT, response_format="pcm"
    )
    assert audio.response.headers["content-type"] == "audio/pcm"
    pcm = np.frombuffer(audio.content, "<i2")
    assert abs(len(pcm) / 24_000 - expected) < 0.01
    assert np.abs(pcm).max() > 1000  # speech, not silence


async def test_voice_by_name_is_the_same_voice(
    sdk: openai.AsyncOpenAI, client: httpx.AsyncClient
) -> None:
    voice = await create_voice(client, name="Narrator")
    by_id = await sdk.audio.speech.create(model="tts-1", voice=voice["id"], input=TEXT)
    by_name = await sdk.audio.speech.create(model="tts-1", voice="narrator", input=TEXT)
    # The same voice, text and settings: the second is the first one's stored audio.
    assert by_name.response.headers["x-voxhub-cache"] == "hit"
    assert (
        by_name.response.headers["x-voxhub-generation-id"]
        == by_id.response.headers["x-voxhub-generation-id"]
    )
    assert by_name.content == by_id.content


async def test_an_engine_name_is_a_model(
    sdk: openai.AsyncOpenAI, client: httpx.AsyncClient
) -> None:
    voice = await create_voice(client)
    audio = await sdk.audio.speech.create(model="fake", voice=voice["id"], input="Hello there.")
    assert audio.response.headers["x-voxhub-engine"].startswith("fake/")
    models = await sdk.models.list()
    assert [m.id for m in models.data] == ["tts-1", "tts-1-hd", "gpt-4o-mini-tts", "fake"]
    assert (await sdk.models.retrieve("fake")).owned_by == "voxhub"
    with pytest.raises(openai.NotFoundError):
        await sdk.models.retrieve("whisper-1")


async def test_models_answer_elevenlabs_sdk_in_its_shape(live_url: str, user_a: Account) -> None:
    # Both APIs have GET /v1/models; ElevenLabs' SDK authenticates with xi-api-key.
    async with httpx.AsyncClient(timeout=60) as http:
        xi = AsyncElevenLabs(base_url=live_url, api_key=user_a.api_key, httpx_client=http)
        models = await xi.models.list()
    ids = [m.model_id for m in models]
    assert ids[0] == "fake" and "eleven_multilingual_v2" in ids
    assert all(m.can_do_text_to_speech for m in models)


async def test_streaming_response_arrives_in_chunks(
    sdk: openai.AsyncOpenAI, client: httpx.AsyncClient
) -> None:
    voice = await create_voice(client)
    expected = await reference_duration(client, voice["id"], TEXT)
    async with sdk.audio.speech.with_streaming_response.create(
        model="tts-1", voice=voice["id"], input=TEXT, response_format="mp3"
    ) as response:
        assert response.headers["content-type"] == "audio/mpeg"
        assert "content-length" not in response.headers  # chunked: sent as it is made
        parts = [part async for part in response.iter_bytes()]
    assert len(parts) > 1
    _, rate, seconds = decoded(b"".join(parts))
    assert rate == 24_000 and expected - 0.03 <= seconds <= expected + 0.13


async def test_sse_events_carry_the_audio_and_usage(
    sdk: openai.AsyncOpenAI, client: httpx.AsyncClient
) -> None:
    voice = await create_voice(client)
    expected = await reference_duration(client, voice["id"], TEXT)
    async with sdk.audio.speech.with_streaming_response.create(
        model="tts-1", voice=voice["id"], input=TEXT, response_format="pcm", stream_format="sse"
    ) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        body = b"".join([part async for part in response.iter_bytes()]).decode()
    events = [json.loads(block[len("data: ") :]) for block in body.strip().split("\n\n")]
    assert [e["type"] for e in events[:-1]] == ["speech.audio.delta"] * (len(events) - 1)
    assert len(events) > 2
    pcm = np.frombuffer(b"".join(base64.b64decode(e["audio"]) for e in events[:-1]), "<i2")
    assert abs(len(pcm) / 24_000 - expected) < 0.01
    spoken = len(TEXT)
    assert events[-1] == {
        "type": "speech.audio.done",
        "usage": {"input_tokens": spoken, "output_tokens": 0, "total_tokens": spoken},
    }


async def test_other_users_voices_are_used_by_id_when_public_never_by_name(
    sdk: openai.AsyncOpenAI, client: httpx.AsyncClient, client_b: httpx.AsyncClient
) -> None:
    theirs = await create_voice(client_b, name="alloy")
    with pytest.raises(openai.NotFoundError) as missing:
        await sdk.audio.speech.create(model="tts-1", voice="alloy", input="Hi.")
    assert missing.value.code == "voice_not_found"
    with pytest.raises(openai.NotFoundError):  # private: as if it did not exist
        await sdk.audio.speech.create(model="tts-1", voice=theirs["id"], input="Hi.")
    r = await client_b.patch(f"/api/v1/voices/{theirs['id']}", json={"visibility": "public"})
    assert r.status_code == 200, r.text
    public = await sdk.audio.speech.create(model="tts-1", voice=theirs["id"], input="Hi.")
    assert public.content
    # A public voice named like OpenAI's stock one does not take over code that names it.
    with pytest.raises(openai.NotFoundError):
        await sdk.audio.speech.create(model="tts-1", voice="alloy", input="Hi.")
    mine = await create_voice(client, name="Alloy")
    by_name = await sdk.audio.speech.create(model="tts-1", voice="alloy", input="Hi.")
    by_id = await sdk.audio.speech.create(model="tts-1", voice=mine["id"], input="Hi.")
    assert (
        by_name.response.headers["x-voxhub-generation-id"]
        == (by_id.response.headers["x-voxhub-generation-id"])
    )
    page = (await sdk.get("/audio/voices", cast_to=httpx.Response)).json()
    assert [(v["id"], v["owned"]) for v in page["data"]] == [
        (mine["id"], True),
        (theirs["id"], False),
    ]


async def test_refusals_are_the_sdks_exceptions_and_store_nothing(
    sdk: openai.AsyncOpenAI, client: httpx.AsyncClient, container: Container, live_url: str
) -> None:
    voice = await create_voice(client)
    before = await counts(container)
    speak = sdk.audio.speech.create

    with pytest.raises(openai.NotFoundError) as exc:
        await speak(model="tts-1", voice="nobody", input="Hi.")
    assert exc.value.code == "voice_not_found" and exc.value.param == "voice"
    with pytest.raises(openai.NotFoundError) as exc:
        await speak(model="tts-9", voice=voice["id"], input="Hi.")
    assert exc.value.code == "engine_not_found" and exc.value.param == "model"
    with pytest.raises(openai.BadRequestError) as bad:
        await speak(model="tts-1", voice=voice["id"], input="Hi.", response_format="ogg")  # type: ignore[arg-type]
    assert bad.value.param == "response_format" and bad.value.type == "invalid_request_error"
    with pytest.raises(openai.BadRequestError) as bad:
        await speak(model="tts-1", voice=voice["id"], input="Hi.", speed=3.0)
    assert bad.value.param == "speed"
    with pytest.raises(openai.BadRequestError) as bad:
        await speak(model="tts-1", voice=voice["id"], input="   ")
    assert bad.value.param == "input"
    with pytest.raises(openai.APIStatusError) as long:
        await speak(model="tts-1", voice=voice["id"], input="a" * 5_001)
    assert long.value.status_code == 413 and long.value.code == "text_too_long"

    async with openai.AsyncOpenAI(
        base_url=f"{live_url}/v1", api_key="vxh_not-a-key", max_retries=0
    ) as stranger:
        with pytest.raises(openai.AuthenticationError) as auth:
            await stranger.audio.speech.create(model="tts-1", voice=voice["id"], input="Hi.")
    assert auth.value.type == "authentication_error"
    assert auth.value.response.headers["www-authenticate"].startswith("Bearer")
    assert await counts(container) == before
