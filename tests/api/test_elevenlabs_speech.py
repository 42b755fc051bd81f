"""The ElevenLabs face's text to speech, driven by the official `elevenlabs` SDK, unchanged,
against the app served by uvicorn on loopback."""

from __future__ import annotations

import base64
import io
from collections.abc import AsyncIterator
from typing import Any

import av
import httpx
import pytest
from elevenlabs import AsyncElevenLabs, VoiceSettings
from elevenlabs.core.api_error import ApiError
from elevenlabs.errors import UnprocessableEntityError

from tests.api.conftest import Account, counts, create_voice
from voxhub.container import Container
from voxhub.engines.fake import WORD_SECONDS

TEXT = "Hello there, Dr. Smith. I have 12 apples!"  # 8 words, two sentences


@pytest.fixture
async def xi(
    live_url: str, user_a: Account, container: Container
) -> AsyncIterator[AsyncElevenLabs]:
    container.limiter.per_minute["tts"] = 1000  # these tests speak more than 10 times a minute
    # The SDK's own client, given an httpx client the test closes (its own would be left open).
    async with httpx.AsyncClient(timeout=60) as http:
        yield AsyncElevenLabs(base_url=live_url, api_key=user_a.api_key, httpx_client=http)


@pytest.fixture
async def voice_id(client: httpx.AsyncClient) -> str:
    return str((await create_voice(client))["id"])


async def _audio(chunks: AsyncIterator[bytes]) -> tuple[bytes, int]:
    pieces = [c async for c in chunks]
    return b"".join(pieces), len(pieces)


def _decoded(data: bytes, fmt: str | None = None, **options: str) -> tuple[str, int, float]:
    """(codec, sample rate, seconds) of encoded audio, decoded back with PyAV."""
    with av.open(io.BytesIO(data), format=fmt, options=options) as box:
        stream = box.streams.audio[0]
        samples = sum(f.samples for f in box.decode(stream))
        return stream.codec_context.name, stream.codec_context.sample_rate, samples / stream.rate


# (output_format, codec PyAV reads, rate): ElevenLabs' strings, each decoded back.
FORMATS = [
    ("mp3_44100_128", "mp3", 44100),
    ("mp3_22050_32", "mp3", 22050),
    ("opus_48000_64", "opus", 48000),
    ("wav_16000", "pcm_s16le", 16000),
]


async def test_every_output_format_decodes_at_its_rate(xi: AsyncElevenLabs, voice_id: str) -> None:
    expected = 8 * WORD_SECONDS
    for fmt, codec, rate in FORMATS:
        for call in (xi.text_to_speech.convert, xi.text_to_speech.stream):
            data, _ = await _audio(call(voice_id, text=TEXT, output_format=fmt))
            got = _decoded(data)
            assert got[0].startswith(codec) and got[1] == rate, (fmt, call, got)
            assert got[2] == pytest.approx(expected, abs=0.1), (fmt, call)
    # Raw formats: s16le PCM and 8-bit mu-law, no header.
    pcm, _ = await _audio(xi.text_to_speech.convert(voice_id, text=TEXT, output_format="pcm_16000"))
    assert len(pcm) / 2 / 16000 == pytest.approx(expected, abs=0.02)
    assert _decoded(pcm, "s16le", sample_rate="16000")[2] == pytest.approx(expected, abs=0.02)
    ulaw, _ = await _audio(xi.text_to_speech.stream(voice_id, text=TEXT, output_format="ulaw_8000"))
    codec, rate, seconds = _decoded(ulaw, "mulaw", sample_rate="8000")
    assert (codec, rate) == ("pcm_mulaw", 8000)
    assert seconds == pytest.approx(expected, abs=0.02)


async def test_speed_model_and_unknown_parameters(xi: AsyncElevenLabs, voice_id: str) -> None:
    pcm, n = await _audio(
        xi.text_to_speech.stream(
            voice_id,
            text=TEXT,
            output_format="pcm_24000",
            model_id="eleven_multilingual_v2",
            voice_settings=VoiceSettings(speed=2.0, stability=0.3, similarity_boost=0.8),
            seed=7,
            previous_text="Before.",
            apply_text_normalization="auto",
            optimize_streaming_latency=2,
        )
    )
    assert len(pcm) / 2 / 24000 == pytest.approx(8 * WORD_SECONDS / 2, abs=0.02)  # speed 2
    assert n >= 2  # one piece per sentence: it streamed
    # A voxhub engine by name; a language the engine does not speak is ignored, as ElevenLabs does.
    fake, _ = await _audio(
        xi.text_to_speech.convert(voice_id, text=TEXT, model_id="fake", language_code="zz")
    )
    assert _decoded(fake)[0].startswith("mp3")  # mp3_44100_128 by default, as ElevenLabs


def _check_alignment(alignment: Any, seconds: float) -> None:
    """The sent text, character by character, in order, each word at its spoken time."""
    chars = alignment.characters
    starts, ends = alignment.character_start_times_seconds, alignment.character_end_times_seconds
    assert "".join(chars) == TEXT
    assert starts == sorted(starts) and ends == sorted(ends)
    assert all(s <= e for s, e in zip(starts, ends, strict=True))
    assert starts[0] == 0.0 and ends[-1] == pytest.approx(seconds, abs=0.05)
    # The fake engine says word k from k * WORD_SECONDS: each word's first letter starts there.
    at = 0
    for k, word in enumerate(TEXT.split()):
        at = TEXT.index(word, at)
        assert starts[at] == pytest.approx(k * WORD_SECONDS, abs=0.002), word
        assert ends[at + len(word) - 1] == pytest.approx((k + 1) * WORD_SECONDS, abs=0.002)
        at += len(word)


async def test_with_timestamps_aligns_the_text_and_caches(
    xi: AsyncElevenLabs, voice_id: str
) -> None:
    raw = xi.text_to_speech.with_raw_response
    first = await raw.convert_with_timestamps(voice_id, text=TEXT, output_format="pcm_24000")
    pcm = base64.b64decode(first.data.audio_base_64)
    seconds = len(pcm) / 2 / 24000
    assert seconds == pytest.approx(8 * WORD_SECONDS, abs=0.02)
    _check_alignment(first.data.alignment, seconds)
    spoken = first.data.normalized_alignment
    assert spoken is not None and "".join(spoken.characters) == TEXT
    assert first.headers["x-voxhub-cache"] == "miss"
    again = await raw.convert_with_timestamps(voice_id, text=TEXT, output_format="pcm_24000")
    assert again.headers["x-voxhub-cache"] == "hit"
    assert again.data == first.data  # the same audio and the same times, from the cache


async def test_stream_with_timestamps(xi: AsyncElevenLabs, voice_id: str) -> None:
    pieces = [
        c
        async for c in xi.text_to_speech.stream_with_timestamps(
            voice_id, text=TEXT, output_format="mp3_44100_128"
        )
    ]
    audio = b"".join(base64.b64decode(c.audio_base_64) for c in pieces)
    codec, rate, seconds = _decoded(audio)
    assert codec.startswith("mp3") and rate == 44100
    assert sum(1 for c in pieces if c.audio_base_64) >= 2  # audio left sentence by sentence
    # Each piece's characters follow the last's: joined, they are the whole text, timed.
    chars, starts, ends = [], [], []
    for c in pieces:
        if c.alignment is not None:
            chars += c.alignment.characters
            starts += c.alignment.character_start_times_seconds
            ends += c.alignment.character_end_times_seconds

    class Joined:
        characters = chars
        character_start_times_seconds = starts
        character_end_times_seconds = ends

    _check_alignment(Joined, 8 * WORD_SECONDS)
    assert seconds == pytest.approx(8 * WORD_SECONDS, abs=0.1)
    first_with_text = next(c for c in pieces if c.alignment is not None)
    assert first_with_text.audio_base_64  # the first sentence's times came with its audio


async def test_refusals_in_the_sdks_types(
    xi: AsyncElevenLabs, voice_id: str, container: Container, live_url: str
) -> None:
    before = await counts(container)
    tts = xi.text_to_speech
    with pytest.raises(ApiError) as missing:
        await tts.convert_with_timestamps("0" * 26, text=TEXT)
    assert missing.value.status_code == 404
    assert missing.value.body["detail"]["status"] == "voice_not_found"
    with pytest.raises(ApiError) as missing:
        await _audio(tts.stream("no-such-voice", text=TEXT))
    assert missing.value.status_code == 404
    with pytest.raises(UnprocessableEntityError) as bad:
        await _audio(tts.convert(voice_id, text=TEXT, output_format="mp3_12345_64"))
    assert bad.value.body["detail"]["status"] == "invalid_input"
    assert "output_format" in bad.value.body["detail"]["message"]
    for fmt in ("alaw_8000", "pcm_16000_64", "opus_44100_64", "mp3", ""):
        with pytest.raises(UnprocessableEntityError):
            await _audio(tts.stream(voice_id, text=TEXT, output_format=fmt))
    with pytest.raises(ApiError) as long:
        await tts.convert_with_timestamps(voice_id, text="word " * 1200)
    assert long.value.status_code == 413
    assert long.value.body["detail"]["status"] == "text_too_long"
    with pytest.raises(ApiError) as model:
        await _audio(tts.convert(voice_id, text=TEXT, model_id="eleven_nonexistent"))
    assert model.value.status_code == 404
    assert model.value.body["detail"]["status"] == "engine_not_found"
    with pytest.raises(UnprocessableEntityError):
        await _audio(tts.convert(voice_id, text=TEXT, voice_settings=VoiceSettings(speed=9.0)))
    async with httpx.AsyncClient(timeout=30) as http:
        stranger = AsyncElevenLabs(base_url=live_url, api_key="vxh_not_a_key", httpx_client=http)
        with pytest.raises(ApiError) as denied:
            await _audio(stranger.text_to_speech.convert(voice_id, text=TEXT))
    assert denied.value.status_code == 401
    assert denied.value.body["detail"]["status"] == "invalid_token"
    assert await counts(container) == before  # nothing stored, nothing half-made


async def test_pronunciation_dictionary_locators_are_honoured(
    xi: AsyncElevenLabs, voice_id: str, client: httpx.AsyncClient
) -> None:
    from elevenlabs import PronunciationDictionaryVersionLocator

    rule = {"type": "alias", "string_to_replace": "apples", "alias": "big red pears"}
    made = await client.post(
        "/api/v1/pronunciation-dictionaries", json={"name": "Fruit", "rules": [rule]}
    )
    assert made.status_code == 201, made.text
    locator = PronunciationDictionaryVersionLocator(
        pronunciation_dictionary_id=made.json()["id"], version_id="1"
    )
    timed = await xi.text_to_speech.convert_with_timestamps(
        voice_id, text=TEXT, pronunciation_dictionary_locators=[locator]
    )
    # The spoken words carry the alias (two more words than the text, at the fake engine's
    # fixed time a word); the alignment still spells the text as sent.
    said = "".join(timed.normalized_alignment.characters)
    assert said.endswith("I have 12 big red pears!")
    assert "".join(timed.alignment.characters) == TEXT
    plain = await xi.text_to_speech.convert_with_timestamps(voice_id, text=TEXT)
    assert "".join(plain.normalized_alignment.characters).endswith("I have 12 apples!")
    assert timed.normalized_alignment.character_end_times_seconds[-1] == pytest.approx(
        plain.normalized_alignment.character_end_times_seconds[-1] + 2 * WORD_SECONDS, abs=0.01
    )
    longer = _decoded(base64.b64decode(timed.audio_base_64))[2]
    assert longer == pytest.approx(
        _decoded(base64.b64decode(plain.audio_base_64))[2] + 0.5, abs=0.05
    )
    with pytest.raises(ApiError) as missing:
        await xi.text_to_speech.convert(
            voice_id,
            text=TEXT,
            pronunciation_dictionary_locators=[
                PronunciationDictionaryVersionLocator(pronunciation_dictionary_id="nope")
            ],
        ).__anext__()
    assert missing.value.status_code == 404
    assert missing.value.body["detail"]["status"] == "pronunciation_dictionary_not_found"
