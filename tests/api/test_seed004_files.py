"""Seed 004's voice files (save a voice, read its sample), the admins' directory listing and
/health; through the real app on both databases. Speech files: test_seed004_tts_files.py."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import httpx
import numpy as np

from tests.api.conftest import Account, client_for, counts, make_user, speech_file
from voxhub.accounts.models import Role
from voxhub.compat.seed004_debug import under_home
from voxhub.container import Container


async def save_voice(
    client: httpx.AsyncClient, voice_id: str | None = "voice_john", **fields: str
) -> httpx.Response:
    name, audio = speech_file()
    data = {"voice_name": "John", "template_message": "Read this aloud.", **fields}
    if voice_id is not None:
        data["voice_id"] = voice_id
    return await client.post("/api/voices/save", data=data, files={"audio_file": (name, audio)})


def assert_problem(r: httpx.Response, status: int, code: str) -> None:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["code"] == code, r.text


# --- POST /api/voices/save, GET /api/voices/{voice_id}/sample[/base64] ------------------------


async def test_save_voice_then_read_its_sample(
    client: httpx.AsyncClient, container: Container
) -> None:
    r = await save_voice(client)
    assert r.status_code == 201, r.text
    saved = r.json()
    vid = saved["voice_id"]
    assert saved["status"] == "success" and saved["message"] == "Voice saved successfully"
    assert saved["name"] == "John" and saved["model_type"] == "chatterbox"
    assert saved["sample_file"] == f"http://test/api/v1/voices/{vid}/sample"
    assert saved["metadata"]["duration_s"] > 1 and "profile_similarity" not in saved["metadata"]
    voice = (await client.get(f"/api/v1/voices/{vid}")).json()
    assert voice["description"] == "Read this aloud."

    # The seed's name and voxhub's id read the same sample.
    by_name = await client.get("/api/voices/voice_john/sample")
    assert by_name.status_code == 200 and by_name.headers["content-type"] == "audio/wav"
    assert by_name.content.startswith(b"RIFF") and by_name.headers["accept-ranges"] == "bytes"
    assert (await client.get(f"/api/voices/{vid}/sample")).content == by_name.content
    profile = await client.get("/api/voices/voice_john/profile")
    assert profile.status_code == 200 and profile.json()["voice_id"] == vid
    size = len(by_name.content)

    part = await client.get("/api/voices/voice_john/sample", headers={"Range": "bytes=0-99"})
    assert part.status_code == 206 and part.content == by_name.content[:100]
    assert part.headers["content-range"] == f"bytes 0-99/{size}"
    past = await client.get("/api/voices/voice_john/sample", headers={"Range": "bytes=999999999-"})
    assert past.status_code == 416 and past.headers["content-range"] == f"bytes */{size}"

    b64 = (await client.get("/api/voices/voice_john/sample/base64")).json()
    assert b64["voice_id"] == vid and b64["audio_format"] == "wav"
    assert b64["size_bytes"] == size
    assert base64.b64decode(b64["audio_base64"]) == by_name.content

    mp3 = await client.get("/api/voices/voice_john/sample", params={"audio_format": "mp3"})
    assert mp3.status_code == 200 and mp3.headers["content-type"] == "audio/mpeg"
    assert not mp3.content.startswith(b"RIFF")
    assert_problem(
        await client.get("/api/voices/voice_john/sample", params={"audio_format": "xyz"}),
        422,
        "validation_error",
    )

    # The same name again is a conflict, and stores nothing more.
    before = await counts(container)
    assert_problem(await save_voice(client), 409, "voice_exists")
    assert await counts(container) == before
    # Without a voice_id voxhub names it.
    other = await save_voice(client, voice_id=None)
    assert other.status_code == 201 and other.json()["voice_id"] != vid


async def test_a_sent_profile_is_checked_against_the_sample(client: httpx.AsyncClient) -> None:
    first = (await save_voice(client, "voice_a")).json()
    exported = (await client.get(f"/api/voices/{first['voice_id']}/profile")).json()
    npy = base64.b64decode(exported["profile_base64"])
    name, audio = speech_file()
    r = await client.post(
        "/api/voices/save",
        data={"voice_id": "voice_b", "voice_name": "B"},
        files={"audio_file": (name, audio), "profile_file": ("p.npy", npy)},
    )
    assert r.status_code == 201, r.text
    assert r.json()["metadata"]["profile_similarity"] >= 0.999
    # Another speaker's profile is reported as far from this sample.
    r = await client.post(
        "/api/voices/save",
        data={"voice_id": "voice_c", "voice_name": "C"},
        files={
            "audio_file": speech_file("cmuarctic_clb_arctic_a0022.wav"),
            "profile_file": ("p.npy", npy),
        },
    )
    assert r.status_code == 201, r.text
    assert r.json()["metadata"]["profile_similarity"] < 0.9


def _npy(values: np.ndarray) -> bytes:
    out = io.BytesIO()
    np.save(out, values)
    return out.getvalue()


async def test_voice_save_refusals_store_nothing(
    client: httpx.AsyncClient, container: Container
) -> None:
    container.limiter.per_minute["clone"] = 100  # every case below is one clone call
    name, audio = speech_file()
    wav = {"audio_file": (name, audio)}
    cases: list[tuple[dict[str, str], dict[str, tuple[str, bytes]], int, str]] = [
        ({"audio_format": "mp3"}, wav, 422, "audio_format_mismatch"),
        ({"audio_format": "xyz"}, wav, 422, "unsupported_audio_format"),
        ({"model_type": "tortoise"}, wav, 422, "unknown_model_type"),
        ({"voice_id": "../etc"}, wav, 422, "validation_error"),
        # An id is not a name: it would let a client pick voxhub's ids and probe for others'.
        ({"voice_id": "00000000-0000-4000-8000-000000000000"}, wav, 422, "invalid_input"),
        (
            {},
            {"audio_file": ("a.wav", b"just some text, not audio")},
            415,
            "unsupported_media_type",
        ),
        ({}, {}, 422, "validation_error"),
        ({}, {**wav, "profile_file": ("p.npy", b"not a numpy file")}, 422, "invalid_profile"),
        ({}, {**wav, "profile_file": ("p.npy", _npy(np.ones(10)))}, 422, "invalid_profile"),
        ({}, {**wav, "profile_file": ("p.npy", _npy(np.zeros(256)))}, 422, "invalid_profile"),
    ]
    for fields, files, status, code in cases:
        data = {"voice_id": "voice_x", "voice_name": "X", **fields}
        r = await client.post("/api/voices/save", data=data, files=files or None)
        assert_problem(r, status, code)
    assert await counts(container) == (0, 0)


async def test_samples_are_only_for_who_may_use_the_voice(
    client: httpx.AsyncClient, client_b: httpx.AsyncClient, anon: httpx.AsyncClient
) -> None:
    vid = (await save_voice(client)).json()["voice_id"]
    for path in (f"/api/voices/{vid}/sample", f"/api/voices/{vid}/sample/base64"):
        assert_problem(await client_b.get(path), 404, "voice_not_found")
        assert_problem(await anon.get(path), 401, "unauthenticated")
    # A name is looked up among the caller's own voices only.
    assert_problem(await client_b.get("/api/voices/voice_john/sample"), 404, "voice_not_found")


# --- GET /api/debug/directories, GET /health --------------------------------------------------


async def test_debug_directories_is_for_admins_and_shows_no_outside_path(
    container: Container, client: httpx.AsyncClient, anon: httpx.AsyncClient, tmp_path: Path
) -> None:
    assert_problem(await anon.get("/api/debug/directories"), 401, "unauthenticated")
    assert_problem(await client.get("/api/debug/directories"), 403, "forbidden")
    await save_voice(client)
    admin: Account = await make_user(container, "root@example.com", Role.admin)
    async with client_for(container, admin) as root:
        r = await root.get("/api/debug/directories")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "success" and body["firebase_connected"] is False
    dirs = body["directories"]
    assert set(dirs) == {"voice_profiles", "voice_samples", "tts_generated", "temp_voice"}
    assert dirs["voice_samples"]["file_count"] == 1 and dirs["voice_samples"]["exists"] is True
    assert dirs["tts_generated"] == {
        "path": None,
        "location": "outside_home",
        "exists": False,
        "file_count": 0,
    }
    # The tests' blob folder and working directory are outside voxhub's home: neither is named.
    assert body["current_working_directory"] is None
    assert str(tmp_path) not in r.text and "/work" not in r.text
    home = container.settings.home
    assert under_home(home, home / "blobs") == "blobs" and under_home(home, home) == "."
    assert under_home(home, home / ".." / "elsewhere") is None


async def test_health_at_the_root_needs_no_credentials(anon: httpx.AsyncClient) -> None:
    # Seed 002 documents this path's body; seed 004 names the path only (its full health
    # answer is /api/health/health), so both faces share seed 002's.
    r = await anon.get("/health")
    assert r.status_code == 200 and r.json()["status"] == "ok"


async def test_openapi_lists_the_model_types_this_server_takes(anon: httpx.AsyncClient) -> None:
    schemas = (await anon.get("/openapi.json")).json()["components"]["schemas"]
    for name in ("Seed004Clone", "Seed004Generate", "Body_save_voice_api_voices_save_post"):
        assert schemas[name]["properties"]["model_type"]["enum"] == ["chatterbox", "fake"]
