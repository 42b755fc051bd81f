"""Seed 004's speech files: save speech made elsewhere, read a generation back, a story's
audio; through the real app on both databases."""

from __future__ import annotations

import asyncio
import base64

import httpx
import numpy as np

from tests.api.conftest import counts, create_voice
from tests.api.test_seed004_files import assert_problem
from voxhub.audio.encode import encode
from voxhub.container import Container


def tone_wav(seconds: float = 2.0, rate: int = 24000) -> bytes:
    t = np.arange(int(seconds * rate)) / rate
    return encode((0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), rate, "wav", None)


# --- POST /api/tts/save, GET /api/tts/generations/{file_id}/audio -------------------------------


async def tts_save(client: httpx.AsyncClient, voice_id: str, audio: bytes, **fields: str):
    data = {
        "voice_id": voice_id,
        "audio_base64": base64.b64encode(audio).decode(),
        "text_input": "Hello from somewhere else.",
        "generation_time": "1.25",
        "sample_rate": "24000",
        "audio_shape": "[1, 48000]",
        **fields,
    }
    return await client.post("/api/tts/save", data=data)


async def test_saved_speech_is_served_back_as_sent(
    client: httpx.AsyncClient, client_b: httpx.AsyncClient
) -> None:
    voice = await create_voice(client)
    audio = tone_wav()  # 96 kB: its base64 is past the 64 KiB of an ordinary form field
    r = await tts_save(client, voice["id"], audio, audio_format="wav")
    assert r.status_code == 201, r.text
    saved = r.json()
    fid = saved["file_id"]
    assert saved["status"] == "success" and saved["voice_id"] == voice["id"]
    assert saved["audio_url"] == saved["firebase_url"]
    assert saved["audio_url"] == f"http://test/api/tts/generations/{fid}/audio"
    assert saved["file_size_bytes"] == len(audio) and saved["audio_format"] == "wav"
    assert saved["metadata"]["audio_shape"] == [1, 48000]
    assert saved["metadata"]["duration_s"] == 2.0

    got = await client.get(f"/api/tts/generations/{fid}/audio")
    assert got.status_code == 200 and got.content == audio
    assert got.headers["content-type"] == "audio/wav"
    part = await client.get(f"/api/tts/generations/{fid}/audio", headers={"Range": "bytes=-10"})
    assert part.status_code == 206 and part.content == audio[-10:]
    flac = await client.get(f"/api/tts/generations/{fid}/audio", params={"audio_format": "flac"})
    assert flac.headers["content-type"] == "audio/flac" and flac.content.startswith(b"fLaC")
    # The client's own file: not labelled as voxhub's speech, on either face.
    native = await client.get(f"/api/v1/generations/{fid}/audio")
    assert native.status_code == 200 and native.content == audio
    for answer in (got, flac, native):
        assert "x-voxhub-generated" not in answer.headers

    gens = (await client.get("/api/tts/generations")).json()
    assert [(g["id"], g["text"]) for g in gens] == [(fid, "Hello from somewhere else.")]
    assert_problem(
        await client_b.get(f"/api/tts/generations/{fid}/audio"), 404, "generation_not_found"
    )


async def test_speech_save_refusals_store_nothing(
    client: httpx.AsyncClient, client_b: httpx.AsyncClient, container: Container
) -> None:
    voice = await create_voice(client)
    before = await counts(container)
    audio = tone_wav()
    unknown = "00000000-0000-4000-8000-000000000000"
    cases: list[tuple[str, bytes, dict[str, str], int, str]] = [
        (voice["id"], audio, {"sample_rate": "16000"}, 422, "sample_rate_mismatch"),
        (voice["id"], audio, {"audio_format": "mp3"}, 422, "audio_format_mismatch"),
        (voice["id"], audio, {"audio_shape": "nope"}, 422, "invalid_audio_shape"),
        (voice["id"], audio, {"audio_shape": "[1, -3]"}, 422, "invalid_audio_shape"),
        (voice["id"], audio, {"text_input": ""}, 422, "validation_error"),
        (voice["id"], b"plain text, not audio", {}, 415, "unsupported_media_type"),
        (unknown, audio, {}, 404, "voice_not_found"),
    ]
    for vid, data, fields, status, code in cases:
        assert_problem(await tts_save(client, vid, data, **fields), status, code)
    bad = await client.post(
        "/api/tts/save",
        data={"voice_id": voice["id"], "audio_base64": "not base64!", "text_input": "Hi."},
    )
    assert_problem(bad, 422, "validation_error")
    # Another user's private voice is not theirs to file speech under.
    assert_problem(await tts_save(client_b, voice["id"], audio), 404, "voice_not_found")
    assert await counts(container) == before


# --- GET /api/tts/stories/{language}/{story_type}/{file_id}/audio --------------------------------


async def generate(client: httpx.AsyncClient, voice_id: str, story_id: str) -> str:
    body = {"story_id": story_id, "voice_id": voice_id, "text": "Once upon a time."}
    r = await client.post("/api/tts/generate", json=body)
    assert r.status_code == 202, r.text
    return str(r.json()["metadata"]["job_id"])


async def test_story_audio_gives_the_url_of_its_audio(
    client: httpx.AsyncClient, client_b: httpx.AsyncClient, container: Container
) -> None:
    voice = await create_voice(client)
    await generate(client, voice["id"], "story_1")
    async with asyncio.timeout(60):
        await container.jobs.wait_idle()
    [story] = (await client.get("/api/tts/stories/en")).json()["stories"]
    gen_id = story["audioVersions"][0]["generation_id"]

    r = await client.get("/api/tts/stories/en/user/story_1/audio")
    assert r.status_code == 200, r.text
    assert r.json() == {
        "status": "success",
        "language": "en",
        "story_type": "user",
        "story_id": "story_1",
        "generation_id": gen_id,
        "story_url": f"http://test/api/tts/generations/{gen_id}/audio",
        "shared_access": False,
    }
    by_version = await client.get(f"/api/tts/stories/en/user/{gen_id}/audio")
    assert by_version.json() == r.json()
    audio = await client.get(r.json()["story_url"].removeprefix("http://test"))
    assert audio.status_code == 200 and audio.content.startswith(b"RIFF")

    assert_problem(
        await client.get("/api/tts/stories/en/app/story_1/audio"), 404, "story_not_found"
    )
    assert_problem(
        await client.get("/api/tts/stories/fr/user/story_1/audio"), 404, "story_not_found"
    )
    assert_problem(
        await client_b.get("/api/tts/stories/en/user/story_1/audio"), 404, "story_not_found"
    )
    assert_problem(
        await client.get("/api/tts/stories/EN!/user/story_1/audio"), 422, "validation_error"
    )

    await container.jobs.stop()  # a story whose audio is still queued
    await generate(client, voice["id"], "story_2")
    r = await client.get("/api/tts/stories/en/user/story_2/audio")
    assert_problem(r, 409, "story_audio_not_ready")


async def test_speech_save_takes_a_long_text_and_keeps_other_fields_short(
    client: httpx.AsyncClient, container: Container
) -> None:
    voice = await create_voice(client)
    story = "Once upon a time. " * 5000  # 90,000 characters: past an ordinary 64 KiB field
    r = await tts_save(client, voice["id"], tone_wav(), text_input=story)
    assert r.status_code == 201, r.text
    gens = (await client.get("/api/tts/generations")).json()
    assert gens[0]["text"] == story
    before = await counts(container)
    assert_problem(
        await tts_save(client, voice["id"], tone_wav(), text_input="a" * 200_001),
        422,
        "validation_error",
    )
    assert_problem(
        await tts_save(client, voice["id"], tone_wav(), audio_shape="[" + " " * 70_000 + "]"),
        413,
        "part_too_large",
    )
    assert await counts(container) == before
