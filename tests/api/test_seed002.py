"""Seed 002's documented endpoints, shapes and error codes."""

from __future__ import annotations

from tests.api.conftest import counts, speech_file
from tests.media import PNG


async def test_health(client) -> None:
    r = await client.get("/health")
    assert r.json() == {"status": "ok", "service": "voice-clone-api"}


async def test_register_synthesize_and_get(client) -> None:
    fname, data = speech_file("ljspeech_LJ001-0001.wav")
    r = await client.post(
        "/voices",
        files={"file": (fname, data)},
        data={"name": "My Voice", "description": "Sample voice"},
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert set(body) == {"voice_id", "filename", "duration", "sample_rate", "message"}
    assert body["filename"] == fname and body["sample_rate"] == 22050
    assert abs(body["duration"] - 9.655) < 0.1
    assert body["message"] == "Voice registered successfully"

    meta = (await client.get(f"/voices/{body['voice_id']}")).json()
    assert meta["name"] == "My Voice" and meta["description"] == "Sample voice"
    assert set(meta) == {
        "voice_id",
        "filename",
        "created_at",
        "duration",
        "sample_rate",
        "name",
        "description",
    }

    r = await client.post(
        f"/voices/{body['voice_id']}/synthesize",
        json={"text": "Hello, this is a test", "format": "mp3", "sample_rate": 22050},
    )
    assert r.status_code == 200 and r.headers["content-type"] == "audio/mpeg"
    r = await client.post(f"/voices/{body['voice_id']}/synthesize", json={"text": "Hello world"})
    assert r.headers["content-type"] == "audio/wav"


async def test_seed002_error_codes(client, container) -> None:
    missing = "00000000-0000-4000-8000-000000000000"
    r = await client.post("/voices", data={"name": "x"})
    assert r.status_code == 400
    r = await client.post("/voices", files={"file": ("x.wav", PNG)})
    assert r.status_code == 400 and r.json()["code"] == "unsupported_media_type"
    assert (await client.get(f"/voices/{missing}")).status_code == 404
    assert (
        await client.post(f"/voices/{missing}/synthesize", json={"text": "hi"})
    ).status_code == 404
    assert await counts(container) == (0, 0)
    fname, data = speech_file()
    vid = (await client.post("/voices", files={"file": (fname, data)})).json()["voice_id"]
    assert (await client.post(f"/voices/{vid}/synthesize", json={"text": "  "})).status_code == 400
    assert (
        await client.post(f"/voices/{vid}/synthesize", json={"text": "hi", "format": "ogg"})
    ).status_code == 400
