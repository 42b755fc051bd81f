"""The picture behind everything: a clip looped or trimmed to the dialogue, or a generated one."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import av
import av.container
import numpy as np
from PIL import Image

from voxhub.video.yuv import Planes, planes_from_rgb, planes_of


def cover_crop(frame: av.VideoFrame, width: int, height: int) -> Planes:
    """Scale to cover `width`x`height` (no bars), then cut the overflow equally from both sides.

    Scaled straight into yuv420p, the encoder's format; sizes and offsets are even so the
    half-size chroma planes are cut at the same place as the luma.
    """
    scale = max(width / frame.width, height / frame.height)
    scaled_w = max(width, _even_up(frame.width * scale))
    scaled_h = max(height, _even_up(frame.height * scale))
    scaled = frame.reformat(
        width=scaled_w, height=scaled_h, format="yuv420p", interpolation="BILINEAR"
    )
    luma, u, v = planes_of(scaled)
    left = (scaled_w - width) // 4 * 2
    top = (scaled_h - height) // 4 * 2
    return (
        luma[top : top + height, left : left + width],
        u[top // 2 : (top + height) // 2, left // 2 : (left + width) // 2],
        v[top // 2 : (top + height) // 2, left // 2 : (left + width) // 2],
    )


def _even_up(value: float) -> int:
    return math.ceil(value / 2 - 1e-9) * 2


class BackgroundClip:
    """Frames of a clip by output time, looping back to the start when the clip runs out.

    Reads forward only: each call asks for a time no earlier than the last, so a frame is decoded
    once and scaled only when it is the one on screen. Looping re-opens the file, which every
    container supports (seeking to 0 is not exact in all of them).
    """

    def __init__(self, path: Path, width: int, height: int) -> None:
        self._path = path
        self._width = width
        self._height = height
        self._pass_start = 0.0  # output time at which the current pass through the clip began
        self._container: av.container.InputContainer | None = None
        self._frames: Iterator[av.VideoFrame] = iter(())
        self._shown: av.VideoFrame | None = None
        self._planes: Planes | None = None
        self._planes_of: av.VideoFrame | None = None  # the frame `_planes` was made from
        self._next: tuple[float, av.VideoFrame] | None = None
        self._open()
        if self._next is None:
            self.close()
            raise ValueError(f"{path.name} has no video frames")

    def _open(self) -> None:
        if self._container is not None:
            self._container.close()
        self._container = av.open(str(self._path))
        stream = self._container.streams.video[0]
        stream.thread_type = "AUTO"
        self._frames = iter(self._container.decode(stream))
        self._first_time: float | None = None
        self._frame_step = 1 / float(stream.average_rate or 25)
        self._last_time = 0.0
        self._next = self._read()

    def _read(self) -> tuple[float, av.VideoFrame] | None:
        """The next frame and its time from the start of this pass, or None at the clip's end."""
        frame = next(self._frames, None)
        if frame is None:
            return None
        time = frame.time if frame.time is not None else self._last_time + self._frame_step
        if self._first_time is None:
            self._first_time = time
        self._last_time = time
        return time - self._first_time, frame

    def planes_at(self, t: float) -> Planes:
        """The clip's picture at output time `t` (seconds), scaled and cropped to the frame."""
        while True:
            if self._next is None:
                # The clip ended: the next pass starts one frame after its last frame.
                self._pass_start += self._last_time - (self._first_time or 0.0) + self._frame_step
                self._open()
                if self._next is None:
                    break
            offset, frame = self._next
            if self._pass_start + offset > t and self._shown is not None:
                break
            self._shown = frame
            self._next = self._read()
        assert self._shown is not None
        if self._planes is None or self._planes_of is not self._shown:
            self._planes = cover_crop(self._shown, self._width, self._height)
            self._planes_of = self._shown
        return self._planes

    def close(self) -> None:
        if self._container is not None:
            self._container.close()
            self._container = None


def generated_background(width: int, height: int) -> Planes:
    """A calm dark gradient with a soft glow behind the speaker: plain, but not a flat fill."""
    y = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None]
    x = np.linspace(-1.0, 1.0, width, dtype=np.float32)[None, :]
    top = np.array([28, 36, 58], dtype=np.float32)
    bottom = np.array([10, 12, 20], dtype=np.float32)
    base = top + (bottom - top) * y[..., None]
    glow = np.exp(-((x * 1.2) ** 2 + ((y - 0.45) * 2.2) ** 2))[..., None]
    pixels = base + glow * np.array([34, 40, 60], dtype=np.float32)
    return planes_from_rgb(Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGB"))
