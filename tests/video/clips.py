"""Test media made in code with PyAV: clips whose frames say their own index, images, boxes."""

from __future__ import annotations

import io
import struct
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image


def level(index: int) -> int:
    """The grey level of a clip's frame `index`: far apart, so H.264's rounding cannot blur them."""
    return 20 + (index % 10) * 22


def make_clip(
    path: Path, *, seconds: float, fps: int = 10, size: tuple[int, int] = (320, 180),
    faststart: bool = True,
) -> Path:  # fmt: skip
    """An H.264 MP4 whose frame i is a flat grey of `level(i)`."""
    width, height = size
    options = {"movflags": "+faststart"} if faststart else {}
    with av.open(str(path), "w", format="mp4", options=options) as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.time_base = Fraction(1, fps)
        stream.options = {"preset": "ultrafast", "crf": "18"}
        for i in range(round(seconds * fps)):
            pixels = np.full((height, width, 3), level(i), dtype=np.uint8)
            frame = av.VideoFrame.from_ndarray(pixels, format="rgb24")
            frame.pts = i
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path


def make_audio_only(path: Path, seconds: float = 1.0) -> Path:
    """An MP4 (M4A) with one AAC stream and no picture."""
    rate = 48_000
    with av.open(str(path), "w", format="mp4") as out:
        stream = out.add_stream("aac", rate=rate)
        stream.layout = "mono"
        samples = (0.2 * np.sin(np.arange(int(seconds * rate)) * 0.05)).astype(np.float32)
        frame = av.AudioFrame.from_ndarray(samples[None, :], format="fltp", layout="mono")
        frame.sample_rate, frame.pts, frame.time_base = rate, 0, Fraction(1, rate)
        out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path


def image_bytes(colour: tuple[int, int, int], size: tuple[int, int] = (300, 400)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, "PNG")
    return buf.getvalue()


def top_level_boxes(data: bytes) -> list[str]:
    """The types of an MP4's top-level boxes, in file order (ISO/IEC 14496-12 box headers)."""
    boxes, offset = [], 0
    while offset + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[offset : offset + 8])
        if size == 1:  # a 64-bit size follows the type
            size = struct.unpack(">Q", data[offset + 8 : offset + 16])[0]
        elif size == 0:  # the box runs to the end of the file
            size = len(data) - offset
        boxes.append(kind.decode("latin-1"))
        offset += size
    return boxes


def decoded_frames(path: Path) -> list[np.ndarray]:
    """Every video frame of `path` as RGB arrays."""
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
