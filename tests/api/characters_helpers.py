"""Real images made with Pillow for the character tests, and what a refusal must leave."""

from __future__ import annotations

import io
import struct
import zlib

import httpx
from PIL import Image
from sqlalchemy import func, select

from voxhub.characters.models import Character, CharacterImage, CharacterStar
from voxhub.container import Container

SECRET = b"HIDDEN-PAYLOAD-AFTER-IEND"


def png(width: int = 64, height: int = 48, color: tuple[int, ...] = (200, 30, 30)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buf, "PNG")
    return buf.getvalue()


def jpeg_with_exif() -> bytes:
    """A 400x200 JPEG whose EXIF says "rotate 90°" (orientation 6) and names a camera."""
    buf = io.BytesIO()
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: the pixels lie sideways
    exif[0x010F] = "SecretCam"  # make
    exif[0x8298] = "(c) someone"  # copyright
    Image.new("RGB", (400, 200), (0, 0, 255)).save(buf, "JPEG", exif=exif, quality=90)
    return buf.getvalue()


def animated_gif(frames: int = 12) -> bytes:
    """A GIF whose frames differ: frame 0 is red."""
    colors = [(255, 0, 0), (0, 255, 0), (0, 0, 255)]
    images = [Image.new("RGB", (60, 40), colors[i % 3]) for i in range(frames)]
    buf = io.BytesIO()
    images[0].save(buf, "GIF", save_all=True, append_images=images[1:], duration=50, loop=0)
    return buf.getvalue()


def animated(fmt: str, frames: int = 40) -> bytes:
    """An animated PNG (APNG) or WebP whose first frame is red."""
    colors = [(255, 0, 0), (0, 255, 0), (0, 0, 255)]
    images = [Image.new("RGB", (50, 30), colors[i % 3]) for i in range(frames)]
    buf = io.BytesIO()
    images[0].save(buf, fmt, save_all=True, append_images=images[1:], duration=40, loop=0)
    return buf.getvalue()


def bomb_gif(width: int = 65_535, height: int = 65_535) -> bytes:
    """A real small GIF whose logical screen (what Pillow takes as its size) is made huge."""
    data = bytearray(animated_gif(2))
    data[6:10] = width.to_bytes(2, "little") + height.to_bytes(2, "little")
    return bytes(data)


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def bomb_png(width: int = 100_000, height: int = 100_000) -> bytes:
    """A tiny PNG whose header claims `width` x `height` pixels (10 gigapixels by default)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 4096, 9)
    return (
        b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")
    )


def png_with_appended() -> bytes:
    """A valid PNG with bytes hidden after its IEND chunk."""
    return png(32, 32) + SECRET


def text_as_png() -> bytes:
    return b"this is a plain text file, renamed to look like a picture\n" * 20


def truncated_png() -> bytes:
    data = png(300, 300, (10, 200, 10))
    return data[: len(data) // 2]


def decoded(data: bytes) -> Image.Image:
    im = Image.open(io.BytesIO(data))
    im.load()
    return im


async def character_counts(c: Container) -> tuple[int, int]:
    """(rows across the character tables, blobs stored under characters/)."""
    async with c.sessions() as s:
        rows = 0
        for model in (Character, CharacterImage, CharacterStar):
            rows += await s.scalar(select(func.count()).select_from(model)) or 0
    return rows, len(await c.blobs.list("characters/"))


async def make_character(
    client: httpx.AsyncClient, voice_id: str, name: str = "Modi", **fields: object
) -> dict:
    body = {"display_name": name, "voice_id": voice_id, **fields}
    r = await client.post("/api/v1/characters", json=body)
    assert r.status_code == 201, r.text
    return r.json()


async def add_image(
    client: httpx.AsyncClient, character_id: str, data: bytes, label: str = "", name="a.png"
) -> httpx.Response:
    return await client.post(
        f"/api/v1/characters/{character_id}/images",
        files={"file": (name, data)},
        data={"label": label},
    )
