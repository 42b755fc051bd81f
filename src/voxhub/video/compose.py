"""Dialogue to MP4: the background, the speaking character and captions, with the audio.

H.264 (libx264, yuv420p, BT.709) and AAC in MP4 through PyAV, the moov atom moved to the front
(`faststart`) so a browser starts playing before the download ends. Frames are composed with
Pillow: the overlay (speaker and caption) is redrawn only when one of them changes, and with no
background clip the whole frame is converted once per change and handed to the encoder again.
"""

from __future__ import annotations

import math
import os
import secrets
from bisect import bisect_right
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import av.container
import numpy as np

from voxhub.video.background import BackgroundClip, generated_background
from voxhub.video.cues import Cue
from voxhub.video.layers import Layout, Patch, caption_layer, flatten, speaker_layer
from voxhub.video.sound import AudioTrack
from voxhub.video.yuv import YuvOverlay, compose_frame

BT709 = 1  # the value of BT.709 in FFmpeg's colour primaries, transfer and matrix enums


class RenderStopped(Exception):
    """`should_stop()` turned true; nothing was written at the output path."""


@dataclass(frozen=True)
class Shot:
    """Who is on screen from `start` to `end` (seconds): their image, or a card with their name.

    Past `end` the shot stays up until the next one starts, so a pause between lines shows the
    last speaker rather than an empty frame.
    """

    start: float
    end: float
    image: bytes | None
    speaker: str


@dataclass(frozen=True)
class VideoSpec:
    """Output format. `video_bitrate` (bits/s), when given, replaces constant quality `crf`."""

    width: int = 1280
    height: int = 720
    fps: int = 30
    crf: int = 23
    video_bitrate: int | None = None
    preset: str = "veryfast"
    audio_bitrate: int = 128_000
    audio_rate: int = 48_000
    audio_channels: int = 1  # 1 keeps the dialogue's measured loudness exact; 2 is dual mono

    def __post_init__(self) -> None:
        # yuv420p stores colour at half resolution, so both sides must be even.
        for side in (self.width, self.height):
            if side % 2 or not 16 <= side <= 4096:
                raise ValueError(f"frame sides must be even and 16..4096, not {side}")
        if not 1 <= self.fps <= 120:
            raise ValueError(f"fps must be 1..120, not {self.fps}")
        if not 0 <= self.crf <= 51:
            raise ValueError(f"crf must be 0..51, not {self.crf}")
        if self.audio_channels not in (1, 2):
            raise ValueError("audio_channels must be 1 or 2")


@dataclass(frozen=True)
class VideoResult:
    duration_s: float
    size_bytes: int
    frames: int
    width: int
    height: int


class _Timeline:
    """Which shot and cue are on screen at a time; a shot stays up through the pause after it."""

    def __init__(self, shots: Sequence[Shot], cues: Sequence[Cue]) -> None:
        self.shots = sorted(shots, key=lambda s: s.start)
        self.cues = sorted(cues, key=lambda c: c.start)
        self._shot_starts = [s.start for s in self.shots]
        self._cue_starts = [c.start for c in self.cues]

    def at(self, t: float) -> tuple[int | None, int | None]:
        shot = bisect_right(self._shot_starts, t) - 1
        cue = bisect_right(self._cue_starts, t) - 1
        on_cue = cue >= 0 and t < self.cues[cue].end
        return (shot if shot >= 0 else None), (cue if on_cue else None)


def compose(
    out_path: Path,
    audio: np.ndarray,
    sample_rate: int,
    shots: list[Shot],
    cues: list[Cue],
    background: Path | None,
    spec: VideoSpec = VideoSpec(),
    progress: Callable[[float], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    tags: Mapping[str, str] | None = None,
) -> VideoResult:
    """Write the dialogue video to `out_path`; the video lasts as long as `audio`.

    `tags` go into the MP4's metadata (kept under their own names: `use_metadata_tags`).

    Blocking: run it in a worker thread. `progress` hears the fraction done about twice a second
    of video; `should_stop` is asked as often and, once true, the render ends with RenderStopped.
    Written to a temporary file beside `out_path` and renamed at the end, so a failed or stopped
    render leaves nothing at `out_path`.
    """
    samples = np.asarray(audio, dtype=np.float32)
    if samples.ndim != 1 or samples.size == 0:
        raise ValueError("audio must be a non-empty mono array")
    if sample_rate <= 0:
        raise ValueError(f"sample_rate must be positive, not {sample_rate}")
    duration = samples.size / sample_rate
    frames = max(1, math.ceil(duration * spec.fps - 1e-6))
    check_every = max(1, spec.fps // 2)
    temp = out_path.with_name(f".{out_path.name}.{secrets.token_hex(4)}.part")
    clip = BackgroundClip(background, spec.width, spec.height) if background else None
    try:
        flags = "+faststart+use_metadata_tags" if tags else "+faststart"
        with av.open(str(temp), "w", format="mp4", options={"movflags": flags}) as output:
            output.metadata.update(tags or {})
            video = _video_stream(output, spec)
            sound = AudioTrack(output, samples, sample_rate, spec)
            frame_source = _Frames(spec, _Timeline(shots, cues), clip)
            for index in range(frames):
                if index % check_every == 0:
                    if should_stop is not None and should_stop():
                        raise RenderStopped("render stopped")
                    if progress is not None:
                        progress(index / frames)
                frame = frame_source.at(index / spec.fps)
                frame.pts = index
                output.mux(video.encode(frame))
                sound.write_until((index + 1) / spec.fps)
            output.mux(video.encode(None))
            sound.finish()
        os.replace(temp, out_path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    finally:
        if clip is not None:
            clip.close()
    if progress is not None:
        progress(1.0)
    return VideoResult(
        duration_s=round(frames / spec.fps, 3),
        size_bytes=out_path.stat().st_size,
        frames=frames,
        width=spec.width,
        height=spec.height,
    )


def _video_stream(output: av.container.OutputContainer, spec: VideoSpec) -> av.VideoStream:
    stream = output.add_stream("libx264", rate=spec.fps)
    stream.width, stream.height = spec.width, spec.height
    stream.pix_fmt = "yuv420p"
    stream.time_base = Fraction(1, spec.fps)
    context = stream.codec_context
    context.gop_size = spec.fps * 2  # a keyframe every 2 s keeps seeking in a browser quick
    context.color_primaries = context.color_trc = context.colorspace = BT709
    options: dict[str, object] = {"preset": spec.preset}
    if spec.video_bitrate:
        stream.bit_rate = spec.video_bitrate
    else:
        options["crf"] = str(spec.crf)
    stream.options = options
    return stream


class _Frames:
    """Composed video frames by time, redrawing only what changed since the last frame."""

    def __init__(self, spec: VideoSpec, timeline: _Timeline, clip: BackgroundClip | None) -> None:
        self._spec = spec
        self._layout = Layout(spec.width, spec.height)
        self._timeline = timeline
        self._clip = clip
        self._plain = generated_background(spec.width, spec.height) if clip is None else None
        self._key: tuple[int | None, int | None] | None = None
        self._overlay: YuvOverlay | None = None
        self._still: av.VideoFrame | None = None  # the whole frame, while nothing moves
        self._speakers: dict[tuple[bytes | None, str], Patch] = {}

    def at(self, t: float) -> av.VideoFrame:
        key = self._timeline.at(t)
        if key != self._key:
            self._key, self._overlay, self._still = key, self._draw_overlay(*key), None
        if self._plain is not None and self._still is not None:
            return self._still
        if self._clip is not None:
            base = self._clip.planes_at(t)
        else:
            assert self._plain is not None
            base = self._plain
        frame = compose_frame(base, self._overlay)
        if self._plain is not None:
            self._still = frame
        return frame

    def _draw_overlay(self, shot_index: int | None, cue_index: int | None) -> YuvOverlay | None:
        patches = []
        if shot_index is not None:
            shot = self._timeline.shots[shot_index]
            cache_key = (shot.image, shot.speaker)
            if cache_key not in self._speakers:
                self._speakers[cache_key] = speaker_layer(shot.image, shot.speaker, self._layout)
            patches.append(self._speakers[cache_key])
        if cue_index is not None:
            patches.append(caption_layer(self._timeline.cues[cue_index].text, self._layout))
        overlay = flatten(patches, self._spec.width, self._spec.height)
        if overlay is None:
            return None
        return YuvOverlay.from_rgba(overlay.image, *overlay.position)
