"""Voices API through the real app, on SQLite and PostgreSQL, with real speech."""

from __future__ import annotations

import base64
import io

import numpy as np

from tests.api.conftest import counts, create_voice, speech_file
from voxhub.container import Container


async def test_register_voice_returns_voice_and_report(client, container: Container) -> None:
    body = await create_voice(client, "Ana")
    assert body["name"] == "Ana"
    assert body["profile_status"] == "ready"  # the fake engine's instant profile is final
    (report,) = body["reports"]
    assert report["filename"] == "vctk_p225_003.wav"
    assert 5.0 < report["duration_s"] < 7.0
    assert 3.0 <= report["speech_s"] <= report["duration_s"]
    assert report["sample_rate_in"] == 16000
    assert report["loudness_lufs"] is not None
    assert 0 <= report["clipping_ratio"] < 0.01
    assert isinstance(report["warnings"], list)
    assert len(body["references"]) == 1
    rows, blobs = await counts(container)
    assert rows == 3 and blobs == 2  # voice + reference + profile; reference audio + profile blob


async def test_get_list_patch_and_filters(client) -> None:
    a = await create_voice(client, "Ana", "vctk_p225_003.wav")
    fname, data = speech_file("librispeech_1688-142285-0000.flac")
    r = await client.post(
        "/api/v1/voices",
        files={"file": (fname, data)},
        data={
            "name": "Bob",
            "consent": "written_permission",
            "description": "Reads poetry",
            "language": "en-gb",
            "is_kids_voice": "true",
            "tags": ["Narrator", "calm"],
        },
    )
    assert r.status_code == 201, r.text
    b = r.json()
    assert b["tags"] == ["narrator", "calm"]
    assert (await client.get(f"/api/v1/voices/{a['id']}")).json()["name"] == "Ana"

    listed = (await client.get("/api/v1/voices")).json()
    assert [v["name"] for v in listed["items"]] == ["Bob", "Ana"]
    assert (await client.get("/api/v1/voices?language=en-gb")).json()["items"][0]["id"] == b["id"]
    assert [
        v["id"] for v in (await client.get("/api/v1/voices?is_kids_voice=false")).json()["items"]
    ] == [a["id"]]
    assert [v["id"] for v in (await client.get("/api/v1/voices?q=POETRY")).json()["items"]] == [
        b["id"]
    ]
    assert [v["id"] for v in (await client.get("/api/v1/voices?tag=calm")).json()["items"]] == [
        b["id"]
    ]

    page1 = (await client.get("/api/v1/voices?limit=1")).json()
    assert len(page1["items"]) == 1 and page1["next_cursor"]
    page2 = (await client.get(f"/api/v1/voices?limit=1&cursor={page1['next_cursor']}")).json()
    assert page2["items"][0]["id"] == a["id"] and page2["next_cursor"] is None
    assert (await client.get("/api/v1/voices?limit=101")).status_code == 422
    bad = await client.get("/api/v1/voices?cursor=garbage")
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_cursor"

    r = await client.patch(f"/api/v1/voices/{a['id']}", json={"name": "Ana B", "tags": ["x"]})
    assert r.status_code == 200 and r.json()["name"] == "Ana B" and r.json()["tags"] == ["x"]
    r = await client.patch(f"/api/v1/voices/{a['id']}", json={"owner_id": "someone"})
    assert r.status_code == 422


async def test_sample_profile_and_added_reference(client, container: Container) -> None:
    import av

    v = await create_voice(client)
    r = await client.get(f"/api/v1/voices/{v['id']}/sample?format=mp3&sample_rate=16000")
    assert r.status_code == 200 and r.headers["content-type"] == "audio/mpeg"
    with av.open(io.BytesIO(r.content)) as f:
        assert f.streams.audio[0].rate == 16000
    r = await client.get(f"/api/v1/voices/{v['id']}/sample")
    assert r.headers["content-type"] == "audio/wav" and r.content[:4] == b"RIFF"
    assert (await client.get(f"/api/v1/voices/{v['id']}/sample?format=xyz")).status_code == 422

    prof = (await client.get(f"/api/v1/voices/{v['id']}/profile")).json()
    emb = np.load(io.BytesIO(base64.b64decode(prof["profile_base64"])))
    assert prof["voice_id"] == v["id"] and emb.shape == (256,)
    assert abs(float(np.linalg.norm(emb)) - 1.0) < 1e-3

    fname, data = speech_file("vctk_p225_008.wav")
    r = await client.post(
        f"/api/v1/voices/{v['id']}/references",
        files={"file": (fname, data)},
        data={"consent": "self"},
    )
    assert r.status_code == 201, r.text
    assert len(r.json()["references"]) == 2
    prof2 = (await client.get(f"/api/v1/voices/{v['id']}/profile")).json()
    emb2 = np.load(io.BytesIO(base64.b64decode(prof2["profile_base64"])))
    assert not np.allclose(emb, emb2)  # recomputed from both references
    assert 0.8 < float(emb @ emb2) < 1.0
    rows, blobs = await counts(container)
    assert rows == 4 and blobs == 3  # old profile blob replaced, not left behind


async def test_delete_removes_rows_and_blobs(client, container: Container) -> None:
    v = await create_voice(client)
    r = await client.post("/api/v1/speech", json={"voice_id": v["id"], "text": "Hello there."})
    assert r.status_code == 200
    # voice, reference, profile, generation; blobs: reference, profile, audio and word times
    assert (await counts(container)) == (4, 4)
    assert (await client.delete(f"/api/v1/voices/{v['id']}")).status_code == 204
    assert (await counts(container)) == (0, 0)
    r = await client.get(f"/api/v1/voices/{v['id']}")
    assert r.status_code == 404 and r.json()["code"] == "voice_not_found"
    assert (await client.delete(f"/api/v1/voices/{v['id']}")).status_code == 404


async def test_unknown_voice_is_404_everywhere(client) -> None:
    missing = "00000000-0000-4000-8000-000000000000"
    for method, path in [
        ("GET", f"/api/v1/voices/{missing}"),
        ("PATCH", f"/api/v1/voices/{missing}"),
        ("DELETE", f"/api/v1/voices/{missing}"),
        ("GET", f"/api/v1/voices/{missing}/sample"),
        ("GET", f"/api/v1/voices/{missing}/profile"),
        ("GET", "/api/v1/voices/not-a-uuid"),
    ]:
        r = await client.request(method, path, json={} if method == "PATCH" else None)
        assert r.status_code == 404, (method, path, r.text)
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["code"] == "voice_not_found"


async def test_hostile_filenames_are_cleaned_metadata(client, container: Container) -> None:
    _, data = speech_file()
    for raw, expected in [
        ("../../../../tmp/pwn.wav", "pwn.wav"),
        ("..\\..\\x.wav", "x.wav"),
        ("a\x01b\x1f.wav", None),  # httpx percent-encodes these on the wire
        (".hidden.wav", "hidden.wav"),
        ("\U0001f600" * 300 + ".wav", None),
    ]:
        r = await client.post(
            "/api/v1/voices", files={"file": (raw, data)}, data={"name": "n", "consent": "self"}
        )
        assert r.status_code == 201, r.text
        got = r.json()["references"][0]["filename"]
        if expected is not None:
            assert got == expected
        assert len(got) <= 120 and "/" not in got and "\\" not in got
        assert got.isprintable() and not got.startswith(".")
    for key in await container.blobs.list(""):
        assert key.startswith("voices/") and ".." not in key
