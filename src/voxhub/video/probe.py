"""Checking an uploaded background clip before it is stored: a real, decodable, bounded video.

Cheap checks come first and refuse early: the byte size before anything is opened, the pixel
count and duration from the header before any frame is decoded (a header can claim a 60000x60000
frame). Then one frame is decoded and every packet is read without decoding, which finds a clip
whose data stops short of what its header promised (a cut-off upload).
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from pathlib import Path

import av
import av.container

from voxhub.core.errors import (
    NotAVideo,
    VideoTooLarge,
    VideoTooLong,
    VideoTooManyPixels,
    VideoUndecodable,
)

log = logging.getLogger(__name__)

# Containers a background may come in. Whitelisted because FFmpeg's probe finds some format in
# almost anything: still images (png_pipe, image2), text (tty), raw streams.
CONTAINERS = frozenset({"mov", "mp4", "matroska", "webm", "avi", "mpegts", "mpeg", "flv", "ogg"})


@dataclass(frozen=True)
class BackgroundInfo:
    duration_s: float
    width: int
    height: int
    fps: float
    codec: str


def probe_background(
    data: bytes | Path, *, max_seconds: float, max_bytes: int, max_pixels: int
) -> BackgroundInfo:
    """What the clip is, or the voxhub error that says why it cannot be a background."""
    size = len(data) if isinstance(data, bytes) else data.stat().st_size
    if size == 0:
        raise NotAVideo("The file is empty")
    if size > max_bytes:
        raise VideoTooLarge(f"The video is {size} bytes; the limit is {max_bytes}", limit=max_bytes)
    try:
        container = av.open(io.BytesIO(data) if isinstance(data, bytes) else str(data), "r")
    except (av.FFmpegError, OSError, ValueError, EOFError) as exc:
        raise NotAVideo("The file is not a video") from exc
    with container:
        return _inspect(container, max_seconds=max_seconds, max_pixels=max_pixels)


def _inspect(
    container: av.container.InputContainer, *, max_seconds: float, max_pixels: int
) -> BackgroundInfo:
    if not CONTAINERS.intersection(container.format.name.split(",")):
        raise NotAVideo(f"Not a video container ({container.format.name})")
    pictures = [
        s for s in container.streams.video if not s.disposition & av.stream.Disposition.attached_pic
    ]
    if not pictures:
        raise NotAVideo("The file has no video stream")
    stream = pictures[0]
    if stream.codec_context is None:  # FFmpeg has no decoder for it
        raise NotAVideo("The video's codec is not supported")
    width, height = stream.codec_context.width, stream.codec_context.height
    if width <= 0 or height <= 0:
        raise VideoUndecodable("The video has no frame size")
    if width * height > max_pixels:
        raise VideoTooManyPixels(
            f"Frames are {width}x{height}; the limit is {max_pixels} pixels", limit=max_pixels
        )
    _refuse_long(_header_seconds(container, stream), max_seconds)
    fps = float(stream.average_rate or stream.guessed_rate or 0)
    codec = stream.codec_context.name
    _decode_first_frame(container, stream, max_pixels)
    _refuse_long(_read_all_packets(container, stream), max_seconds)
    duration = _header_seconds(container, stream) or 0.0
    if duration <= 0:
        raise VideoUndecodable("The video has no duration")
    return BackgroundInfo(round(duration, 3), width, height, round(fps, 3), codec)


def _refuse_long(seconds: float | None, max_seconds: float) -> None:
    if seconds is not None and seconds > max_seconds:
        raise VideoTooLong(
            f"The video lasts {seconds:.1f} s; the limit is {max_seconds:g} s", limit=max_seconds
        )


def _header_seconds(container: av.container.InputContainer, stream: av.VideoStream) -> float | None:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / av.time_base
    return None


def _decode_first_frame(
    container: av.container.InputContainer, stream: av.VideoStream, max_pixels: int
) -> None:
    try:
        frame = next(container.decode(stream), None)
        container.seek(0)  # back to the start for the packet count
    except (av.FFmpegError, ValueError, EOFError, MemoryError) as exc:
        raise VideoUndecodable("The video's frames do not decode") from exc
    if frame is None:
        raise VideoUndecodable("The video has no frames")
    if frame.width * frame.height > max_pixels:  # the stream may disagree with its header
        raise VideoTooManyPixels(f"Frames are {frame.width}x{frame.height}", limit=max_pixels)


def _read_all_packets(container: av.container.InputContainer, stream: av.VideoStream) -> float:
    """Read every packet of `stream`; the seconds they cover. Refuses a clip cut short."""
    packets = 0
    short = False  # a packet the file ends inside of: FFmpeg marks it corrupt
    end = 0.0
    try:
        for packet in container.demux(stream):
            if packet.size == 0:  # the empty packet that ends demuxing
                continue
            packets += 1
            short = short or packet.is_corrupt
            if packet.pts is not None and packet.time_base is not None:
                end = max(end, float((packet.pts + (packet.duration or 0)) * packet.time_base))
    except (av.FFmpegError, ValueError, EOFError) as exc:
        raise VideoUndecodable("The video is damaged") from exc
    if packets == 0 or short or (stream.frames and packets < stream.frames):
        log.info("background clip cut short: %d of %d packets", packets, stream.frames)
        raise VideoUndecodable("The video is cut short (an incomplete upload?)")
    return end
