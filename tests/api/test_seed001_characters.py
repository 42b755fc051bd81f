"""Seed 001's character routes with its own field names and shapes, over the same domain."""

from __future__ import annotations

from tests.api import characters_helpers as img
from tests.api.characters_helpers import character_counts
from tests.api.conftest import counts, speech_file
from voxhub.container import Container

# The fields seed 001 documents for a character, in its order.
SEED_FIELDS = [
    "id",
    "displayName",
    "audioFile",
    "config",
    "images",
    "outputPrefix",
    "createdAt",
    "updatedAt",
    "hasAudio",
    "imageCount",
    "createdBy",
    "createdByName",
    "isOwner",
    "starred",
    "isStarred",
]


async def complete(client, name: str = "My New Character", **form: str) -> dict:
    fname, audio = speech_file()
    files = [
        ("audioFile", (fname, audio, "audio/wav")),
        ("imageFiles", ("confident.png", img.png(), "image/png")),
        ("imageFiles", ("serious.jpg", img.jpeg_with_exif(), "image/jpeg")),
    ]
    data = {
        "displayName": name,
        "speed": "1.2",
        "nfeSteps": "28",
        "crossFadeDuration": "0.2",
        "removeSilences": "true",
        **form,
    }
    r = await client.post("/api/characters/complete", data=data, files=files)
    assert r.status_code == 200, r.text
    return r.json()


async def test_complete_creates_voice_and_character_in_the_seed_shape(
    client, client_b, container: Container, user_a
) -> None:
    made = await complete(client, visibility="public")
    assert list(made)[: len(SEED_FIELDS)] == SEED_FIELDS
    cid = made["id"]
    assert made["displayName"] == "My New Character"
    assert made["config"] == {
        "speed": 1.2,
        "nfeSteps": 28,
        "crossFadeDuration": 0.2,
        "removeSilences": True,
    }
    assert made["images"] == {
        "0": f"/api/static/images/{cid}_0.webp",
        "1": f"/api/static/images/{cid}_1.webp",
    }
    assert made["audioFile"] == f"/api/static/audio_files/{cid}.wav" and made["hasAudio"]
    assert made["imageCount"] == 2 and made["outputPrefix"] == "my_new_character"
    assert made["createdBy"] == user_a.id and made["createdByName"] == "ana"
    assert made["isOwner"] is True and made["starred"] == 0 and made["isStarred"] is False
    # The audio made a voxhub voice the primary API shows, linked to the character.
    primary = (await client.get(f"/api/v1/characters/{cid}")).json()
    voice = await client.get(f"/api/v1/voices/{primary['voice_id']}")
    assert voice.status_code == 200 and voice.json()["name"] == "My New Character"

    listed = (await client_b.get("/api/characters")).json()
    assert [c["id"] for c in listed] == [cid]
    assert listed[0]["isOwner"] is False and listed[0]["createdByName"] == "ana"
    assert (await client_b.get("/api/my-characters")).json() == []
    mine = (await client.get("/api/my-characters")).json()
    assert [c["id"] for c in mine] == [cid]

    starred = await client_b.post(f"/api/characters/{cid}/star")
    assert starred.json() == {
        "success": True,
        "message": "Character starred successfully",
        "characterId": cid,
        "starred": 1,
        "isStarred": True,
    }
    again = (await client_b.post(f"/api/characters/{cid}/star")).json()
    assert again["starred"] == 1
    seen = (await client_b.get("/api/characters")).json()[0]
    assert seen["starred"] == 1 and seen["isStarred"] is True
    unstarred = (await client_b.delete(f"/api/characters/{cid}/star")).json()
    assert unstarred["message"] == "Character unstarred successfully"
    assert unstarred["starred"] == 0 and unstarred["isStarred"] is False

    # Static files: image as WebP, audio as WAV with ranges; public ones need no sign-in.
    image = await client_b.get(made["images"]["1"])
    assert image.status_code == 200 and image.headers["content-type"] == "image/webp"
    assert b"SecretCam" not in image.content
    audio = await client_b.get(made["audioFile"])
    assert audio.status_code == 200 and audio.headers["content-type"] == "audio/wav"
    assert audio.content[:4] == b"RIFF" and audio.headers["accept-ranges"] == "bytes"
    part = await client_b.get(made["audioFile"], headers={"Range": "bytes=0-99"})
    assert part.status_code == 206 and part.content == audio.content[:100]
    assert part.headers["content-range"] == f"bytes 0-99/{len(audio.content)}"
    tail = await client_b.get(made["audioFile"], headers={"Range": "bytes=-10"})
    assert tail.status_code == 206 and tail.content == audio.content[-10:]
    beyond = await client_b.get(made["audioFile"], headers={"Range": "bytes=99999999-"})
    assert beyond.status_code == 416


async def test_private_characters_and_their_files_are_the_owners_only(
    client, client_b, anon, container: Container
) -> None:
    made = await complete(client)  # private unless asked
    cid = made["id"]
    assert (await client_b.get("/api/characters")).json() == []
    assert (await anon.get("/api/characters")).json() == []
    assert (await client.get(made["images"]["0"])).status_code == 200
    assert (await client.get(made["audioFile"])).status_code == 200
    for who in (client_b, anon):
        for path in (made["images"]["0"], made["audioFile"]):
            r = await who.get(path)
            assert r.status_code == 404, (path, r.text)
    for method, path in [
        ("POST", f"/api/characters/{cid}/star"),
        ("DELETE", f"/api/characters/{cid}"),
    ]:
        r = await client_b.request(method, path)
        assert r.status_code == 404 and r.json()["code"] == "character_not_found"
    r = await client_b.put(f"/api/characters/{cid}", data={"displayName": "pwned"})
    assert r.status_code == 404
    for path in ("/api/static/images/nope.png", "/api/static/audio_files/../../etc.wav"):
        assert (await client.get(path)).status_code == 404


async def test_put_changes_fields_adds_and_removes_images(client, container: Container) -> None:
    made = await complete(client)
    cid = made["id"]
    files = [("newImageFiles", ("n.gif", img.animated_gif(), "image/gif"))]
    data = {"displayName": "Updated Character Name", "speed": "1.1", "removeImageKeys": "0"}
    r = await client.put(f"/api/characters/{cid}", data=data, files=files)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["displayName"] == "Updated Character Name"
    assert body["config"] == {**made["config"], "speed": 1.1}
    assert sorted(body["images"]) == ["1", "2"] and body["imageCount"] == 2
    assert (await client.get(made["images"]["0"])).status_code == 404
    before = await character_counts(container)
    # A refused image or an unknown key changes nothing, fields included.
    for data, files, status in [
        ({"removeImageKeys": "7", "displayName": "x"}, [], 404),
        ({"removeImageKeys": "a,b"}, [], 422),
        ({"speed": "9"}, [], 422),
        ({"displayName": "y"}, [("newImageFiles", ("b.png", img.bomb_png(), "image/png"))], 422),
        ({}, [("newImageFiles", ("t.png", img.text_as_png(), "image/png"))], 415),
    ]:
        r = await client.put(f"/api/characters/{cid}", data=data, files=files or None)
        assert r.status_code == status, (data, r.text)
    assert await character_counts(container) == before
    now = (await client.get("/api/my-characters")).json()[0]
    assert now["displayName"] == "Updated Character Name" and sorted(now["images"]) == ["1", "2"]


async def test_a_refused_image_leaves_no_voice_and_no_character(
    client, container: Container
) -> None:
    before = (await counts(container), await character_counts(container))
    fname, audio = speech_file()
    for image, status, code in [
        (img.text_as_png(), 415, "unsupported_media_type"),
        (img.bomb_png(), 422, "image_too_many_pixels"),
    ]:
        r = await client.post(
            "/api/characters/complete",
            data={"displayName": "X"},
            files=[("audioFile", (fname, audio)), ("imageFiles[]", ("x.png", image))],
        )
        assert r.status_code == status and r.json()["code"] == code, r.text
    r = await client.post(
        "/api/characters/complete",
        data={"displayName": "X", "nfeSteps": "100"},
        files=[("audioFile", (fname, audio))],
    )
    assert r.status_code == 422
    assert (await counts(container), await character_counts(container)) == before


async def test_delete_answers_deleted_files_and_removes_the_voice_made_for_it(
    client, container: Container
) -> None:
    made = await complete(client)
    cid = made["id"]
    voice_id = (await client.get(f"/api/v1/characters/{cid}")).json()["voice_id"]
    r = await client.delete(f"/api/characters/{cid}")
    assert r.status_code == 200
    assert r.json() == {
        "message": f"Character '{cid}' deleted successfully",
        "deletedFiles": [
            f"/api/static/audio_files/{cid}.wav",
            f"/api/static/images/{cid}_0.webp",
            f"/api/static/images/{cid}_1.webp",
        ],
    }
    assert (await client.get(f"/api/v1/voices/{voice_id}")).status_code == 404
    assert await character_counts(container) == (0, 0)
    assert await counts(container) == (0, 0)
