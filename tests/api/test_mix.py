"""POST /api/v1/mix and GET /api/v1/ambience through the real app (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio

import httpx
import numpy as np
import pytest

from tests.api.conftest import create_voice
from tests.media import tone, wav_bytes
from voxhub.ambience.beds import LIBRARY
from voxhub.audio.decode import decode
from voxhub.container import Container
from voxhub.settings import LimitSettings

SPEECH = wav_bytes(tone(2.0) * 0.5)


def _audio(r: httpx.Response, rate: int = 24_000) -> np.ndarray:
    return decode(r.content, LimitSettings(), rate).samples


async def test_library_lists_every_bed(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/v1/ambience")
    assert r.status_code == 200
    names = [b["name"] for b in r.json()["items"]]
    assert names == list(LIBRARY)
    assert all(b["description"] for b in r.json()["items"])


async def test_mix_with_a_library_bed(client: httpx.AsyncClient) -> None:
    r = await client.post(
        "/api/v1/mix",
        files={"audio": ("speech.wav", SPEECH)},
        data={"bed": "rain", "bed_gain_db": "-12", "format": "flac"},
    )
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "audio/flac"
    mixed = _audio(r)
    dry = decode(SPEECH, LimitSettings(), 24_000).samples
    assert abs(len(mixed) - len(dry)) <= 1
    assert not np.allclose(mixed, dry, atol=1e-3)  # the bed is in it
    assert np.abs(mixed).max() <= 10 ** (-1 / 20) + 1e-3


async def test_mix_with_an_uploaded_bed(client: httpx.AsyncClient) -> None:
    rng = np.random.default_rng(0)
    bed = wav_bytes((0.1 * rng.standard_normal(8_000)).astype(np.float32))  # 0.5 s: looped
    r = await client.post(
        "/api/v1/mix",
        files={"audio": ("speech.wav", SPEECH), "bed_file": ("bed.wav", bed)},
        data={"format": "wav"},
    )
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "audio/wav"
    assert len(_audio(r)) == pytest.approx(2.0 * 24_000, abs=2)


@pytest.mark.parametrize(
    ("files", "data", "status", "code"),
    [
        ({}, {"bed": "jungle"}, 422, "unknown_bed"),
        ({}, {}, 422, "bed_choice"),
        ({"bed_file": ("b.wav", SPEECH)}, {"bed": "rain"}, 422, "bed_choice"),
        ({}, {"bed": "rain", "duck_db": "-5"}, 422, "validation_error"),
        ({}, {"bed": "rain", "bed_gain_db": "12"}, 422, "validation_error"),
        ({}, {"bed": "rain", "attack_ms": "nan"}, 422, "validation_error"),
        ({}, {"bed": "rain", "format": "aiff"}, 422, "validation_error"),
    ],
)
async def test_bad_settings_are_refused(
    client: httpx.AsyncClient,
    files: dict[str, object],
    data: dict[str, str],
    status: int,
    code: str,
) -> None:
    r = await client.post("/api/v1/mix", files={"audio": ("s.wav", SPEECH), **files}, data=data)
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == code


async def test_undecodable_and_too_long_audio_are_refused(
    client: httpx.AsyncClient, container: Container
) -> None:
    r = await client.post(
        "/api/v1/mix", files={"audio": ("s.wav", b"RIFF\x00\x00junk" * 40)}, data={"bed": "rain"}
    )
    assert r.status_code == 422 and r.json()["code"] == "audio_undecodable", r.text
    r = await client.post(
        "/api/v1/mix", files={"audio": ("s.txt", b"hello, not audio")}, data={"bed": "rain"}
    )
    assert r.status_code == 415 and r.json()["code"] == "unsupported_media_type"
    too_long = container.settings.limits.max_reference_seconds + 5
    long_wav = wav_bytes(np.zeros(int(too_long * 8_000), np.float32), rate=8_000)
    r = await client.post("/api/v1/mix", files={"audio": ("s.wav", long_wav)}, data={"bed": "rain"})
    assert r.status_code == 422 and r.json()["code"] == "audio_too_long"
    bad_bed = {"audio": ("s.wav", SPEECH), "bed_file": ("b.bin", b"\x00\x01garbage" * 20)}
    r = await client.post("/api/v1/mix", files=bad_bed)
    assert r.status_code == 415 and r.json()["code"] == "unsupported_media_type", r.text


async def test_mix_needs_credentials(anon: httpx.AsyncClient) -> None:
    assert (await anon.get("/api/v1/ambience")).status_code == 401
    r = await anon.post("/api/v1/mix", files={"audio": ("s.wav", SPEECH)}, data={"bed": "rain"})
    assert r.status_code == 401


async def test_speech_with_ambience_is_mixed_and_cached_apart(client: httpx.AsyncClient) -> None:
    v = await create_voice(client)
    body = {"voice_id": v["id"], "text": "Hello there. This is a test.", "format": "wav"}
    dry = await client.post("/api/v1/speech", json=body)
    wet_body = body | {"ambience": {"bed": "cafe", "bed_gain_db": -18}}
    wet = await client.post("/api/v1/speech", json=wet_body)
    assert dry.status_code == wet.status_code == 200, wet.text
    assert wet.headers["X-Voxhub-Cache"] == "miss"  # not the dry generation's audio
    assert wet.content != dry.content
    assert len(_audio(wet)) == len(_audio(dry))
    again = await client.post("/api/v1/speech", json=wet_body)
    assert again.headers["X-Voxhub-Cache"] == "hit" and again.content == wet.content
    gen = await client.get(f"/api/v1/generations/{wet.headers['X-Voxhub-Generation-Id']}")
    assert gen.json()["params"]["ambience"]["bed"] == "cafe"


async def test_speech_ambience_is_refused_when_bad_or_streamed(client: httpx.AsyncClient) -> None:
    v = await create_voice(client)
    body = {"voice_id": v["id"], "text": "Hello there."}
    for ambience in ({"bed": "jungle"}, {"bed": "rain", "duck_db": 99}, {"gain": 1}):
        r = await client.post("/api/v1/speech", json=body | {"ambience": ambience})
        assert r.status_code == 422 and r.json()["code"] == "validation_error", r.text
    r = await client.post(
        "/api/v1/speech", json=body | {"stream": True, "ambience": {"bed": "rain"}}
    )
    assert r.status_code == 422 and r.json()["code"] == "invalid_input", r.text


async def test_async_speech_keeps_its_ambience(
    client: httpx.AsyncClient, container: Container
) -> None:
    v = await create_voice(client)
    body = {"voice_id": v["id"], "text": "Hello there.", "async": True}
    r = await client.post("/api/v1/speech", json=body | {"ambience": {"bed": "forest"}})
    assert r.status_code == 202, r.text
    await asyncio.wait_for(container.jobs.wait_idle(), 60)
    job = (await client.get(f"/api/v1/jobs/{r.json()['id']}")).json()
    assert job["status"] == "succeeded", job
    gen = await client.get(f"/api/v1/generations/{job['result']['generation_id']}")
    assert gen.json()["params"]["ambience"]["bed"] == "forest"
