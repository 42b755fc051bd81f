"""The outputs tests/api/test_watermarked_outputs.py does not reach, spoken by the embedded
Kokoro engine (real speech: the fake engine's tones do not take Perth's mark) and checked by
POST /api/v1/detect: a chat's spoken reply (its streamed clips and its stored audio), seed
001's line files and video, and seed 004's story audio (as stored and converted).

Each file as voxhub sent it whole is found by its hash (`generated_by_this_instance`, naming
what made it, to its owner) and carries the mark; a copy transcoded to MP3 at 32 kb/s is no
longer the same file, and is found by its mark alone (`watermark_found`).

SQLite only: what is measured is the audio, and each output is real synthesis (seconds).
"""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

import httpx
import pytest

from tests.api.conftest import client, create_voice, user_a
from tests.api.embedded_helpers import container
from tests.api.renders_helpers import finished
from tests.api.scripts_helpers import answer, behaviour, cast, server, with_llm
from tests.llm.chat_server import Behaviour
from tests.media import tags_of
from tests.safety.conftest import mp3_32k
from voxhub.audio.decode import decode
from voxhub.audio.encode import encode
from voxhub.container import Container
from voxhub.safety.watermark import DETECT_THRESHOLD
from voxhub.settings import LimitSettings

__all__ = ["behaviour", "client", "container", "server", "user_a", "with_llm"]  # fixtures
pytestmark = [
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
    pytest.mark.timeout(600),  # real synthesis on a shared 2-core machine
]

LIMITS = LimitSettings()
RATE = 24_000  # the embedded engine's rate


async def detect(client: httpx.AsyncClient, data: bytes, name: str) -> dict[str, Any]:
    r = await client.post("/api/v1/detect", files={"file": (name, data)})
    assert r.status_code == 200, r.text
    return r.json()


async def assert_made_here(
    client: httpx.AsyncClient, data: bytes, name: str, kind: str, object_id: str
) -> None:
    """The exact file: this instance's, naming what made it; and the mark is in it."""
    found = await detect(client, data, name)
    assert found["verdict"] == "generated_by_this_instance", (name, found)
    assert (found["kind"], found["generation_id"]) == (kind, object_id), (name, found)
    assert found["watermark"] is True and found["score"] >= DETECT_THRESHOLD, (name, found)


async def assert_mark_found(client: httpx.AsyncClient, data: bytes, name: str) -> None:
    """A file voxhub never sent (here: a copy of its file transcoded elsewhere): the mark
    alone says where it came from, and no object is named."""
    found = await detect(client, data, name)
    assert found["verdict"] == "watermark_found", (name, found)
    assert found["watermark"] is True and found["score"] >= DETECT_THRESHOLD, (name, found)
    assert found["kind"] is None and found["generation_id"] is None, (name, found)


def mp3_32k_copy(data: bytes) -> bytes:
    """The file decoded (its audio track, for an MP4), re-encoded as MP3 at 32 kb/s and
    decoded again, as a WAV: what a user's converter makes of it."""
    samples, rate = mp3_32k(decode(data, LIMITS, RATE).samples, RATE)
    return encode(samples, rate, "wav")


def events_of(body: str) -> list[tuple[str, Any]]:
    out = []
    for block in body.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines())
        out.append((lines["event"], json.loads(lines["data"])))
    return out


async def test_a_chats_spoken_reply_is_marked_in_its_clips_and_its_stored_audio(
    with_llm: Container, client: httpx.AsyncClient, behaviour: Behaviour
) -> None:
    voice = await create_voice(client)
    body = {
        "display_name": "Mara",
        "persona_prompt": "A lighthouse keeper.",
        "voice_id": voice["id"],
    }
    r = await client.post("/api/v1/characters", json=body)
    assert r.status_code == 201, r.text
    r = await client.post("/api/v1/chats", json={"character_id": r.json()["id"]})
    assert r.status_code == 201, r.text
    chat_id = r.json()["id"]
    behaviour.reply = "The lamp is lit tonight. The ships will find the harbour."
    ask = {"content": "Is the lamp lit?", "speak": True}  # the default format: MP3
    async with client.stream("POST", f"/api/v1/chats/{chat_id}/messages", json=ask) as r:
        assert r.status_code == 200
        assert r.headers["x-voxhub-generated"] == "true"
        reply_id = r.headers["x-voxhub-generation-id"]
        events = events_of((await r.aread()).decode())
    kinds = [k for k, _ in events]
    assert kinds[-1] == "done" and "audio_error" not in kinds, events
    audio = [d for k, d in events if k == "audio"]
    assert [a["text"] for a in audio] == [
        "The lamp is lit tonight.",
        "The ships will find the harbour.",
    ]
    done = events[-1][1]
    assert done["id"] == reply_id and done["audio_url"]

    # The stored reply, downloaded: the file noted when it was stored.
    whole = await client.get(done["audio_url"])
    assert whole.status_code == 200 and whole.headers["content-type"] == "audio/mpeg"
    assert whole.headers["x-voxhub-generation-id"] == reply_id
    assert tags_of(whole.content)["voxhub_generation_id"] == reply_id
    await assert_made_here(client, whole.content, "reply.mp3", "chat", reply_id)
    await assert_mark_found(client, mp3_32k_copy(whole.content), "reply-32k.wav")

    # Each clip streamed while the reply was written is marked on its own, and noted with the
    # reply: a listener who saved one traces it to the reply; a converted copy, by its mark.
    for i, a in enumerate(audio):
        clip = base64.b64decode(a["audio_base64"])
        assert clip != whole.content
        await assert_made_here(client, clip, f"clip{i}.mp3", "chat", reply_id)
        await assert_mark_found(client, mp3_32k_copy(clip), f"clip{i}-32k.wav")


async def test_seed_001s_line_files_and_video_are_marked(
    with_llm: Container, client: httpx.AsyncClient, behaviour: Behaviour
) -> None:
    mara, jon = await cast(client)
    behaviour.reply = answer(
        ("Mara", "The lamp is lit tonight."), ("Jon", "Then the ships are safe.")
    )
    body = {"selectedCharacters": [mara["id"], jon["id"]], "prompt": "Night at the lighthouse."}
    r = await client.post("/api/scripts/generate", json=body)
    assert r.status_code == 200, r.text
    sid = r.json()["id"]
    r = await client.post(f"/api/scripts/{sid}/generate-video", json={})
    assert r.status_code == 200, r.text
    job_id = r.json()["job"]["jobId"]
    async with asyncio.timeout(300):
        while (job := (await client.get(f"/api/video-jobs/{job_id}")).json())["status"] in (
            "queued",
            "in_progress",
        ):
            await asyncio.sleep(0.2)
    assert job["status"] == "completed", job

    [script] = (await client.get("/api/my-scripts")).json()["scripts"]
    files = [line["audioFile"] for line in script["dialogue"]]
    assert len(files) == 2 and all(files), script["dialogue"]
    takes = []
    for i, url in enumerate(files):
        line = await client.get(url)
        assert line.status_code == 200 and line.headers["x-voxhub-generated"] == "true"
        take_id = line.headers["x-voxhub-generation-id"]
        takes.append(take_id)
        await assert_made_here(client, line.content, f"line{i}.wav", "take", take_id)
        await assert_mark_found(client, mp3_32k_copy(line.content), f"line{i}-32k.wav")
    assert len(set(takes)) == 2

    mp4 = await client.get(script["finalVideoPath"])
    assert mp4.status_code == 200 and mp4.headers["content-type"] == "video/mp4"
    render_id = mp4.headers["x-voxhub-generation-id"]
    assert script["finalVideoPath"] == f"/api/videos/{render_id}.mp4"
    await assert_made_here(client, mp4.content, "video.mp4", "render", render_id)
    await assert_mark_found(client, mp3_32k_copy(mp4.content), "video-32k.wav")


async def test_seed_004s_story_audio_is_marked_as_stored_and_converted(
    client: httpx.AsyncClient,
) -> None:
    voice = await create_voice(client)
    body = {"story_id": "story_1", "voice_id": voice["id"], "text": "Once upon a time."}
    r = await client.post("/api/tts/generate", json=body)
    assert r.status_code == 202, r.text
    job = await finished(client, r.json()["metadata"]["job_id"], timeout=120)
    assert job["status"] == "succeeded", job

    r = await client.get("/api/tts/stories/en/user/story_1/audio")
    assert r.status_code == 200, r.text
    gen_id = r.json()["generation_id"]
    url = r.json()["story_url"].removeprefix("http://test")
    assert url == f"/api/tts/generations/{gen_id}/audio"
    stored = await client.get(url)
    assert stored.status_code == 200 and stored.headers["content-type"] == "audio/wav"
    assert stored.headers["x-voxhub-generation-id"] == gen_id
    await assert_made_here(client, stored.content, "story.wav", "speech", gen_id)
    await assert_mark_found(client, mp3_32k_copy(stored.content), "story-32k.wav")

    # Converted by voxhub on the way out: a file it sent whole, so noted as well.
    for fmt in ("mp3", "opus"):
        converted = await client.get(url, params={"audio_format": fmt})
        assert converted.status_code == 200, (fmt, converted.text)
        assert converted.headers["x-voxhub-generation-id"] == gen_id
        assert converted.content != stored.content
        await assert_made_here(client, converted.content, f"story.{fmt}", "speech", gen_id)
        await assert_mark_found(client, mp3_32k_copy(converted.content), f"story-{fmt}-32k.wav")
