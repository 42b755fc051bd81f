"""Character images: real decoding, refusals that store nothing, re-encoding, thumbnails, keys."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from tests.api import characters_helpers as img
from tests.api.characters_helpers import add_image, character_counts, make_character
from tests.api.conftest import create_voice
from voxhub.characters import service
from voxhub.characters.images import MAX_IMAGE_BYTES
from voxhub.container import Container
from voxhub.storage.base import BlobStore


@pytest.fixture
async def character(client) -> dict:
    voice = await create_voice(client)
    return await make_character(client, voice["id"])


REFUSALS = [
    ("text renamed .png", img.text_as_png(), 415, "unsupported_media_type"),
    ("empty file", b"", 415, "unsupported_media_type"),
    ("PNG header claiming 10 gigapixels", img.bomb_png(), 422, "image_too_many_pixels"),
    ("PNG header claiming 6000 x 6000", img.bomb_png(6000, 6000), 422, "image_too_many_pixels"),
    ("PNG 20,000 px wide", img.bomb_png(20_000, 10), 422, "image_too_many_pixels"),
    ("GIF screen of 65535 x 65535", img.bomb_gif(), 422, "image_too_many_pixels"),
    ("truncated PNG", img.truncated_png(), 422, "image_undecodable"),
    ("over the byte cap", img.png() + b"\0" * MAX_IMAGE_BYTES, 413, "image_too_large"),
]


async def test_refusals_answer_their_code_and_store_nothing(
    client, container: Container, character: dict
) -> None:
    cid = character["id"]
    before = await character_counts(container)
    for name, data, status, code in REFUSALS:
        r = await add_image(client, cid, data, "x", name="picture.png")
        assert r.status_code == status, (name, r.text)
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["code"] == code, name
        assert await character_counts(container) == before, name
    assert (await client.get(f"/api/v1/characters/{cid}")).json()["images"] == []


async def test_images_are_reencoded_without_metadata_or_hidden_bytes(
    client, container: Container, character: dict
) -> None:
    cid = character["id"]
    uploads = [
        ("confident", img.png(640, 480)),
        ("serious", img.jpeg_with_exif()),
        ("", img.animated_gif()),
        ("hidden", img.png_with_appended()),
        ("apng", img.animated("PNG")),
        ("webp", img.animated("WEBP")),
    ]
    for label, data in uploads:
        r = await add_image(client, cid, data, label)
        assert r.status_code == 201, r.text
    got = (await client.get(f"/api/v1/characters/{cid}")).json()
    images = got["images"]
    assert [(i["key"], i["label"]) for i in images] == [
        ("0", "confident"),
        ("1", "serious"),
        ("2", ""),
        ("3", "hidden"),
        ("4", "apng"),
        ("5", "webp"),
    ]
    assert all(i["media_type"] == "image/webp" for i in images)
    stored = []
    for image in images:
        r = await client.get(image["url"])
        assert r.status_code == 200 and r.headers["content-type"] == "image/webp"
        assert r.headers["cache-control"] == "private, no-cache"
        stored.append(r.content)
        thumb = await client.get(image["thumbnail_url"])
        assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/webp"
        assert max(img.decoded(thumb.content).size) <= 256
        # Revalidation is cheap: the same ETag answers 304 with no body.
        again = await client.get(image["url"], headers={"If-None-Match": r.headers["etag"]})
        assert again.status_code == 304 and again.content == b""

    png, jpeg, gif, hidden, apng, webp = (img.decoded(data) for data in stored)
    assert png.size == (640, 480)
    # The EXIF orientation was applied, then the EXIF (camera, copyright) dropped.
    assert jpeg.size == (200, 400) and (images[1]["width"], images[1]["height"]) == (200, 400)
    assert not jpeg.getexif() and b"SecretCam" not in stored[1] and "exif" not in jpeg.info
    # An animated GIF, APNG or WebP is reduced to its first frame (red).
    for still in (gif, apng, webp):
        assert getattr(still, "n_frames", 1) == 1
        r, g, b = still.convert("RGB").getpixel((20, 15))[:3]
        assert r > 200 and g < 50 and b < 50
    # Bytes appended after the image data are not stored.
    assert img.SECRET not in stored[3] and hidden.size == (32, 32)
    for key in await container.blobs.list(f"characters/{cid}/"):
        assert img.SECRET not in await container.blobs.get(key)


async def test_removing_an_image_removes_its_blobs_and_keys_are_not_reused(
    client, container: Container, character: dict
) -> None:
    cid = character["id"]
    for _ in range(3):
        assert (await add_image(client, cid, img.png())).status_code == 201
    assert len(await container.blobs.list(f"characters/{cid}/")) == 6  # image + thumbnail
    r = await client.delete(f"/api/v1/characters/{cid}/images/1")
    assert r.status_code == 204
    assert len(await container.blobs.list(f"characters/{cid}/")) == 4
    missing = await client.get(f"/api/v1/characters/{cid}/images/1")
    assert missing.status_code == 404 and missing.json()["code"] == "image_not_found"
    again = await client.delete(f"/api/v1/characters/{cid}/images/1")
    assert again.status_code == 404
    added = await add_image(client, cid, img.png(), "new")
    assert added.json()["key"] == "3"
    keys = [i["key"] for i in (await client.get(f"/api/v1/characters/{cid}")).json()["images"]]
    assert keys == ["0", "2", "3"]


async def test_deleting_a_character_removes_its_rows_and_blobs(
    client, client_b, container: Container, character: dict
) -> None:
    cid = character["id"]
    await client.patch(f"/api/v1/characters/{cid}", json={"visibility": "public"})
    for data in (img.png(), img.jpeg_with_exif()):
        assert (await add_image(client, cid, data)).status_code == 201
    assert (await client_b.put(f"/api/v1/characters/{cid}/star")).status_code == 200
    assert (await character_counts(container)) == (1 + 2 + 1, 4)
    assert (await client.delete(f"/api/v1/characters/{cid}")).status_code == 204
    assert await character_counts(container) == (0, 0)
    assert (await client.get(f"/api/v1/characters/{cid}/images/0")).status_code == 404


async def test_concurrent_uploads_get_distinct_keys(
    client, container: Container, character: dict
) -> None:
    cid = character["id"]
    answers = await asyncio.gather(*(add_image(client, cid, img.png(), f"n{i}") for i in range(4)))
    assert all(r.status_code == 201 for r in answers), [r.text for r in answers]
    assert sorted(r.json()["key"] for r in answers) == ["0", "1", "2", "3"]
    assert len(await container.blobs.list(f"characters/{cid}/")) == 8


async def test_images_are_decoded_off_the_event_loop(
    client, character: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    decoded_on: list[int] = []
    real = service.prepare_image

    def recording(data: bytes) -> object:
        decoded_on.append(threading.get_ident())
        return real(data)

    monkeypatch.setattr(service, "prepare_image", recording)
    assert (await add_image(client, character["id"], img.jpeg_with_exif())).status_code == 201
    assert decoded_on and threading.get_ident() not in decoded_on


class FailingThumbnails:
    """The container's store, except that writing a thumbnail fails."""

    def __init__(self, inner: BlobStore) -> None:
        self.inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def put(self, key: str, data: bytes, content_type: str | None = None) -> None:
        if "/thumbs/" in key:
            raise OSError("store unreachable")
        await self.inner.put(key, data, content_type)


async def test_a_failing_store_leaves_no_row_and_no_blob(
    client, container: Container, character: dict
) -> None:
    before = await character_counts(container)
    inner = container.blobs
    container.blobs = FailingThumbnails(inner)  # type: ignore[assignment]
    try:
        # The test transport hands the app's unexpected error on (clients get a 500 problem).
        with pytest.raises(OSError, match="store unreachable"):
            await add_image(client, character["id"], img.png())
    finally:
        container.blobs = inner
    assert await character_counts(container) == before
    # The key was not spent either: the next image is "0".
    assert (await add_image(client, character["id"], img.png())).json()["key"] == "0"
