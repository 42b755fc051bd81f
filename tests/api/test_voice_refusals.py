"""Every bad upload gets problem+json with a stable code, and nothing is stored."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.api.conftest import counts, speech_file
from tests.conftest import ODD, SPEECH
from tests.media import HTML, PNG, lying_flac, tone, wav_bytes, zip_bytes
from voxhub.container import Container


def _mp3_truncated() -> bytes:
    return (ODD / "lowbitrate_vctk_p240_00000.mp3").read_bytes()[:3000]


CASES: list[tuple[str, str, bytes, int, str]] = [
    ("png renamed", "ref.wav", PNG, 415, "unsupported_media_type"),
    ("html page", "page.wav", HTML, 415, "unsupported_media_type"),
    ("zip", "a.wav", b"", 415, "unsupported_media_type"),  # filled below
    ("empty file", "empty.wav", b"", 415, "unsupported_media_type"),  # no container to probe
    ("truncated mp3", "cut.mp3", b"", 422, "audio_undecodable"),  # an mp3 header, cut frames
    ("flac bomb header", "bomb.flac", b"", 422, "audio_too_long"),
    ("pure tone", "tone.wav", wav_bytes(tone(6.0)), 422, "not_enough_speech"),
]


def _case_bytes(name: str, data: bytes) -> bytes:
    return {
        "zip": zip_bytes(),
        "truncated mp3": _mp3_truncated(),
        "flac bomb header": lying_flac(),
    }.get(name, data)


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
async def test_bad_file_refused_and_nothing_stored(client, container: Container, case) -> None:
    name, fname, data, status, code = case
    before = await counts(container)
    r = await client.post(
        "/api/v1/voices",
        files={"file": (fname, _case_bytes(name, data))},
        data={"name": "x", "consent": "self"},
    )
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["code"] == code
    assert await counts(container) == before


@pytest.mark.parametrize(
    "file",
    [
        "silence_digital_silence.wav",
        "silence_almost_silent.wav",
        "noise_speechcommands_white_noise.wav",
        "music_trumpet_sorohanro_solo-trumpet-06.ogg",
        "short_speech_zh_chinese.flac",
        "english_one-two-three.wav",
    ],
)
async def test_no_or_too_little_speech_is_422(client, container: Container, file: str) -> None:
    before = await counts(container)
    r = await client.post(
        "/api/v1/voices",
        files={"file": (file, (ODD / file).read_bytes())},
        data={"name": "x", "consent": "self"},
    )
    assert r.status_code == 422, r.text
    assert r.json()["code"] == "not_enough_speech"
    assert await counts(container) == before


async def test_video_reference_is_accepted(client) -> None:
    path: Path = ODD / "video_auto-editor_example.mp4"
    r = await client.post(
        "/api/v1/voices",
        files={"file": (path.name, path.read_bytes())},
        data={"name": "From video", "consent": "self"},
    )
    assert r.status_code == 201, r.text
    assert r.json()["references"][0]["file_type"] == "video"
    assert r.json()["reports"][0]["has_video"] is True


async def test_oversized_body_is_413_before_reading(client, container: Container) -> None:
    before = await counts(container)
    big = b"\0" * (26 * 1024 * 1024)
    r = await client.post(
        "/api/v1/voices", files={"file": ("big.wav", big)}, data={"name": "x", "consent": "self"}
    )
    assert r.status_code == 413 and r.json()["code"] == "payload_too_large"

    async def chunked_multipart():
        # A well-formed multipart body with no Content-Length whose file part never ends in time.
        yield (
            b'--xyz\r\nContent-Disposition: form-data; name="name"\r\n\r\nx\r\n'
            b'--xyz\r\nContent-Disposition: form-data; name="file"; filename="a.wav"\r\n'
            b"Content-Type: audio/wav\r\n\r\n"
        )
        for _ in range(27):
            yield b"\1" * (1024 * 1024)
        yield b"\r\n--xyz--\r\n"

    r = await client.post(
        "/api/v1/voices",
        content=chunked_multipart(),
        headers={"content-type": "multipart/form-data; boundary=xyz"},
    )
    assert r.status_code == 413
    assert await counts(container) == before


async def test_missing_fields_are_422(client, container: Container) -> None:
    _, data = speech_file()
    r = await client.post("/api/v1/voices", files={"file": ("a.wav", data)})
    assert r.status_code == 422 and r.json()["code"] == "validation_error"
    r = await client.post("/api/v1/voices", data={"name": "x"})
    assert r.status_code == 422 and r.json()["code"] == "invalid_input"
    r = await client.post(
        "/api/v1/voices",
        files={"file": ("a.wav", data)},
        data={"name": "x", "language": "not a language"},
    )
    assert r.status_code == 422 and r.json()["code"] == "validation_error"
    assert await counts(container) == (0, 0)


async def test_every_real_speaker_registers(client) -> None:
    names = sorted(p.name for p in SPEECH.iterdir() if p.suffix in {".wav", ".flac"})[::4]
    for name in names:
        r = await client.post(
            "/api/v1/voices",
            files={"file": (name, (SPEECH / name).read_bytes())},
            data={"name": name, "consent": "self"},
        )
        assert r.status_code == 201, (name, r.text)
