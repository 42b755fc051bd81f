"""Test inputs made in code: hostile files, tones, WAVs with lying headers."""

from __future__ import annotations

import io
import struct
import wave
import zipfile

import numpy as np

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f"
    b"\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7\x35\x81\x84\x00"
    b"\x00\x00\x00IEND\xaeB`\x82"
)
HTML = b"<!doctype html><html><head><title>hi</title></head><body><p>not audio</p></body></html>"


def zip_bytes() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("a.txt", "hello")
    return buf.getvalue()


def wav_bytes(samples: np.ndarray, rate: int = 16_000) -> bytes:
    """16-bit mono WAV."""
    pcm = (np.clip(samples, -1, 1) * 32767).astype("<i2")
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())
    return buf.getvalue()


def tone(seconds: float, rate: int = 16_000, freq: float = 220.0) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def lying_flac(seconds: int = 3600, rate: int = 192_000, channels: int = 8) -> bytes:
    """A FLAC whose STREAMINFO declares `seconds` of audio but holds no frames (a 'bomb' header)."""
    total = seconds * rate
    bits = 24
    info = struct.pack(">HH", 4096, 4096) + b"\x00\x00\x10" + b"\x00\x40\x00"
    packed = (rate << 44) | ((channels - 1) << 41) | ((bits - 1) << 36) | total
    info += packed.to_bytes(8, "big") + b"\x00" * 16
    header = bytes([0x80]) + len(info).to_bytes(3, "big")  # last-metadata-block flag, type 0
    return b"fLaC" + header + info + b"\x00" * (7 * 1024 * 1024)


def tags_of(data: bytes) -> dict[str, str]:
    """A file's container and first audio stream metadata (Ogg keeps its tags on the stream)."""
    import av

    with av.open(io.BytesIO(data)) as c:
        return dict(c.metadata) | dict(c.streams.audio[0].metadata)
