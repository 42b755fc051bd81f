"""Video encode speed at 720p: frames per second of wall time for 30 s of dialogue-like shots
and captions, over the generated background and over a 1080p clip that is scaled, cropped and
looped (printed, never asserted: the machine is shared).

    python -m bench.video
"""

from __future__ import annotations

import io
import json
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image

from voxhub.video.compose import Shot, VideoSpec, compose
from voxhub.video.cues import cues_from_words

SECONDS = 30.0
RATE = 24_000
LINE = "Well, I think the rain will stop soon, and then we can walk down to the harbour."


def portrait(hue: float) -> bytes:
    """A 512x640 PNG with a gradient, standing in for a character's picture."""
    y = np.linspace(0, 1, 640)[:, None, None]
    pixels = np.broadcast_to(np.array([hue, 0.5, 1 - hue]) * 255 * (0.4 + 0.6 * y), (640, 512, 3))
    buf = io.BytesIO()
    Image.fromarray(pixels.astype(np.uint8)).save(buf, "PNG")
    return buf.getvalue()


def dialogue() -> tuple[list[Shot], list[tuple[str, float, float]]]:
    """Lines of ~4 s, two speakers taking turns (one without an image), 0.4 s pauses."""
    images = [portrait(0.8), None]
    shots, words, t, turn = [], [], 0.0, 0
    while t < SECONDS:
        start = t
        for word in LINE.split():
            words.append((word, t, t + 0.22))
            t += 0.26
        shots.append(Shot(start, t, images[turn % 2], ["Ana", "Ben"][turn % 2]))
        t += 0.4
        turn += 1
    return shots, words


def make_clip(path: Path, seconds: float = 8.0) -> Path:
    """A 1080p 30 fps clip of slowly moving colour, so every frame differs."""
    with av.open(str(path), "w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = 1920, 1080, "yuv420p"
        stream.time_base = Fraction(1, 30)
        stream.options = {"preset": "ultrafast"}
        x = np.linspace(0, 6.28, 1920)[None, :]
        y = np.linspace(0, 3.14, 1080)[:, None]
        for i in range(round(seconds * 30)):
            phase = i / 30
            grey = 127 + 100 * np.sin(x + phase) * np.cos(y - phase / 2)
            pixels = np.stack([grey, np.flipud(grey), np.full_like(grey, 90)], axis=-1)
            frame = av.VideoFrame.from_ndarray(pixels.astype(np.uint8), format="rgb24")
            frame.pts = i
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path


def measure_video() -> dict[str, float]:
    shots, words = dialogue()
    cues = cues_from_words(words)
    audio = (0.1 * np.sin(np.arange(int(SECONDS * RATE)) * 0.03)).astype(np.float32)
    spec = VideoSpec()
    out: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        clip = make_clip(Path(tmp) / "clip.mp4")
        for name, background in (("plain", None), ("1080p_clip", clip)):
            wall, cpu = time.perf_counter(), time.process_time()
            result = compose(Path(tmp) / f"{name}.mp4", audio, RATE, shots, cues, background, spec)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            out[f"720p_{name}_fps"] = round(result.frames / wall, 1)
            out[f"720p_{name}_cpu_s_per_video_s"] = round(cpu / result.duration_s, 3)
            out[f"720p_{name}_mb_per_min"] = round(result.size_bytes / 1e6 * 60 / SECONDS, 2)
    return out


if __name__ == "__main__":
    print(json.dumps(measure_video(), indent=2))
