"""Speech API: sync, streaming, async jobs, the cache, and refusals."""

from __future__ import annotations

import asyncio
import io
import time

import av
import httpx
import pytest

from tests.api.conftest import Account, counts, create_voice
from voxhub.container import Container
from voxhub.engines.fake import FakeEngine

TEXT = "Hello there. This is a test of the voice."


def decode_rate_and_seconds(data: bytes) -> tuple[int, float]:
    with av.open(io.BytesIO(data)) as f:
        stream = f.streams.audio[0]
        frames = sum(fr.samples for fr in f.decode(stream))
        return stream.rate, frames / stream.rate


async def test_speech_returns_audio_with_headers_and_is_recorded(
    client, container: Container
) -> None:
    v = await create_voice(client)
    r = await client.post("/api/v1/speech", json={"voice_id": v["id"], "text": TEXT})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "audio/wav"
    assert r.headers["x-voxhub-engine"] == "fake/fake-1"
    assert r.headers["x-voxhub-cache"] == "miss"
    rate, seconds = decode_rate_and_seconds(r.content)
    assert rate == 24000
    assert abs(seconds - float(r.headers["x-voxhub-duration"])) < 0.05
    gen_id = r.headers["x-voxhub-generation-id"]

    listed = (await client.get("/api/v1/generations")).json()
    assert [g["id"] for g in listed["items"]] == [gen_id]
    assert listed["items"][0]["text"] == TEXT
    audio = await client.get(f"/api/v1/generations/{gen_id}/audio")
    assert audio.status_code == 200 and audio.content == r.content
    assert (await client.get(f"/api/v1/generations/{gen_id}")).json()["voice_id"] == v["id"]


async def test_identical_request_is_served_from_the_stored_result(
    client, container: Container, fake_engine: FakeEngine
) -> None:
    v = await create_voice(client)
    body = {"voice_id": v["id"], "text": TEXT, "format": "mp3", "speed": 1.25}
    first = await client.post("/api/v1/speech", json=body)
    calls = fake_engine.calls
    second = await client.post("/api/v1/speech", json=body)
    assert second.headers["x-voxhub-cache"] == "hit"
    assert second.content == first.content
    assert fake_engine.calls == calls
    assert (await counts(container))[0] == 4
    other = await client.post("/api/v1/speech", json=body | {"speed": 1.0})
    assert other.headers["x-voxhub-cache"] == "miss"


@pytest.mark.parametrize(
    ("fmt", "ctype"),
    [("wav", "audio/wav"), ("mp3", "audio/mpeg"), ("opus", "audio/ogg"), ("flac", "audio/flac")],
)
@pytest.mark.parametrize("rate", [8000, 16000, 22050, 44100, 48000])
async def test_formats_and_rates(client, fmt: str, ctype: str, rate: int) -> None:
    v = await create_voice(client)
    r = await client.post(
        "/api/v1/speech",
        json={"voice_id": v["id"], "text": "One two three.", "format": fmt, "sample_rate": rate},
    )
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == ctype
    got_rate, seconds = decode_rate_and_seconds(r.content)
    if fmt != "opus":  # Ogg Opus always decodes at 48 kHz
        assert got_rate == rate
    assert 0.5 < seconds < 1.2


async def test_raw_pcm_and_mulaw(client) -> None:
    v = await create_voice(client)
    pcm = await client.post(
        "/api/v1/speech",
        json={"voice_id": v["id"], "text": "One two three.", "format": "pcm", "sample_rate": 16000},
    )
    mulaw = await client.post(
        "/api/v1/speech",
        json={
            "voice_id": v["id"],
            "text": "One two three.",
            "format": "mulaw",
            "sample_rate": 8000,
        },
    )
    seconds = float(pcm.headers["x-voxhub-duration"])
    assert abs(len(pcm.content) / 2 / 16000 - seconds) < 0.02
    assert abs(len(mulaw.content) / 8000 - seconds) < 0.02


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"text": ""}, 422, "validation_error"),
        ({"text": "   \n\t "}, 422, "validation_error"),
        ({"text": "\U0001f600\U0001f389"}, 422, "invalid_text"),
        ({"format": "ogg"}, 422, "validation_error"),
        ({"sample_rate": 12345}, 422, "validation_error"),
        ({"speed": 0.4}, 422, "validation_error"),
        ({"speed": 2.1}, 422, "validation_error"),
        ({"text": "a" * 5001}, 413, "text_too_long"),
        ({"language": "xx"}, 422, "invalid_input"),
        ({"voice_id": "00000000-0000-4000-8000-000000000000"}, 404, "voice_not_found"),
        ({"engine": "nope"}, 404, "engine_not_found"),
        ({"owner_id": "x"}, 422, "validation_error"),
    ],
)
async def test_bad_speech_requests(
    client, container: Container, body: dict, status: int, code: str
) -> None:
    v = await create_voice(client)
    before = await counts(container)
    r = await client.post("/api/v1/speech", json={"voice_id": v["id"], "text": TEXT} | body)
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["code"] == code
    if code == "text_too_long":
        assert "5000" in r.json()["detail"] and "async" in r.json()["detail"]
    assert await counts(container) == before


async def test_async_speech_runs_as_a_job(client, container: Container) -> None:
    v = await create_voice(client)
    long_text = " ".join(["This sentence is part of a long text."] * 160)  # > 5,000 characters
    r = await client.post(
        "/api/v1/speech",
        json={"voice_id": v["id"], "text": long_text, "async": True, "format": "mp3"},
    )
    assert r.status_code == 202, r.text
    job = r.json()
    assert job["status"] == "queued"  # the answer describes the job as it was committed
    assert r.headers["location"] == f"/api/v1/jobs/{job['id']}"
    async with asyncio.timeout(60):
        await container.jobs.wait_idle()
    done = (await client.get(f"/api/v1/jobs/{job['id']}")).json()
    assert done["status"] == "succeeded", done
    assert done["progress"] == 100
    assert all(s["status"] == "completed" for s in done["steps"])
    audio = await client.get(done["result"]["audio_url"])
    assert audio.status_code == 200 and audio.headers["content-type"] == "audio/mpeg"
    assert (
        await client.get("/api/v1/jobs/00000000-0000-4000-8000-000000000000")
    ).status_code == 404


async def test_streaming_sends_bytes_before_synthesis_ends(
    live_url: str, container: Container, fake_engine: FakeEngine, user_a: Account
) -> None:
    fake_engine.chunk_delay = 0.4
    async with httpx.AsyncClient(base_url=live_url, timeout=30, headers=user_a.headers) as client:
        v = await create_voice(client)
        body = {
            "voice_id": v["id"],
            "text": "First sentence here. Second one follows. Third ends it.",
            "stream": True,
            "format": "pcm",
        }
        started = time.perf_counter()
        arrivals: list[float] = []
        data = b""
        async with client.stream("POST", "/api/v1/speech", json=body) as r:
            assert r.status_code == 200
            assert r.headers.get("transfer-encoding") == "chunked"
            async for chunk in r.aiter_bytes():
                arrivals.append(time.perf_counter() - started)
                data += chunk
        total = time.perf_counter() - started
        assert arrivals[0] < total - 0.6  # first audio left well before the last sentence was made
        assert len(data) > 0 and len(data) % 2 == 0
        # The completed stream was recorded, and a repeat is served from it.
        gens = (await client.get("/api/v1/generations")).json()["items"]
        assert len(gens) == 1 and gens[0]["source"] == "stream"
        r = await client.post("/api/v1/speech", json=body)
        assert r.headers["x-voxhub-cache"] == "hit" and r.content == data


@pytest.mark.parametrize("fmt", ["wav", "mp3", "opus"])
async def test_streaming_formats_decode(live_url: str, fmt: str, user_a: Account) -> None:
    async with httpx.AsyncClient(base_url=live_url, timeout=30, headers=user_a.headers) as client:
        v = await create_voice(client)
        r = await client.post(
            "/api/v1/speech",
            json={"voice_id": v["id"], "text": TEXT, "stream": True, "format": fmt},
        )
        assert r.status_code == 200
        _, seconds = decode_rate_and_seconds(r.content)
        assert seconds > 1.0
