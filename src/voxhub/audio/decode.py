"""Probe and decode untrusted uploads with PyAV, refusing bad input as early as we can."""

from __future__ import annotations

import io
import logging
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from fractions import Fraction
from typing import Any

import av
import numpy as np
import soxr

from voxhub.audio.types import Audio, ProbeInfo
from voxhub.core.errors import (
    AudioParametersRejected,
    AudioTooLong,
    AudioUndecodable,
    InvalidInput,
    PayloadTooLarge,
    UnsupportedMediaType,
    VoxhubError,
)
from voxhub.settings import LimitSettings

log = logging.getLogger(__name__)

# FFmpeg probes every demuxer it has, including playlists (hls, concat) that open further URLs or
# files, and image/text demuxers that are no use here; after probing it refuses any format not on
# this list. No nested protocol may be opened either: the upload is the only input.
_OPEN_OPTIONS = {
    "format_whitelist": "wav,w64,flac,mp3,aac,mov,matroska,ogg,aiff,caf,au,avi,asf,amr",
    "protocol_whitelist": "none",
}

# Signatures of containers we accept, used only to tell "damaged audio" from "not audio" when
# FFmpeg cannot open the bytes at all.
_AUDIO_MAGIC = (b"RIFF", b"RF64", b"fLaC", b"OggS", b"ID3", b"FORM", b"\x1a\x45\xdf\xa3", b"caff")

# A damaged frame or two (typical at the cut end of a download) is tolerated; more is corruption.
_MAX_DECODE_ERRORS = 3
_PROBE_PACKETS = 64
_CAP_MARGIN_S = 1.0
# Less than this share of the declared duration means the stream was cut short or is mostly garbage.
_MIN_DECODED_SHARE = 0.5


def probe(data: bytes, limits: LimitSettings) -> ProbeInfo:
    """Read the container header and refuse what we will not decode, before decoding it."""
    if len(data) > limits.max_upload_bytes:
        raise PayloadTooLarge(
            "Upload is too large", size_bytes=len(data), limit_bytes=limits.max_upload_bytes
        )
    if not data or _looks_like_text(data[:512]):
        raise UnsupportedMediaType("Not an audio or video file")
    with _opened(data) as container:
        info = _header_info(container)
        _check_header(info, limits)
        stream = container.streams.audio[0]
        # Header checks passed: prove that at least one packet decodes, without decoding more.
        for _frame in _frames(container, stream, limits, max_packets=_PROBE_PACKETS):
            return info
        raise AudioUndecodable("No audio frame could be decoded", container=info.container)


def decode(
    data: bytes, limits: LimitSettings, target_rate: int, info: ProbeInfo | None = None
) -> Audio:
    """Decode the first audio stream to float32 mono at `target_rate`."""
    if target_rate <= 0:
        raise InvalidInput("target_rate must be positive", target_rate=target_rate)
    info = info or probe(data, limits)
    limit_s = _duration_limit(info, limits)
    with _opened(data) as container:
        stream = container.streams.audio[0]
        declared_s = _seconds(stream.duration, stream.time_base)
        samples, decoded_s = _decode_stream(container, stream, limits, target_rate, limit_s)
    if decoded_s == 0:
        raise AudioUndecodable("No audio could be decoded", container=info.container)
    if declared_s and declared_s >= 1.0 and decoded_s < _MIN_DECODED_SHARE * declared_s:
        raise AudioUndecodable(
            "Audio stream ends early: truncated or corrupt",
            declared_s=round(declared_s, 3),
            decoded_s=round(decoded_s, 3),
        )
    return Audio(samples=samples, sample_rate=target_rate)


def _decode_stream(
    container: Any, stream: Any, limits: LimitSettings, target_rate: int, limit_s: float
) -> tuple[np.ndarray, float]:
    chunks: list[np.ndarray] = []
    resampler: soxr.ResampleStream | None = None
    in_rate = n_in = 0
    for frame in _frames(container, stream, limits):
        if not in_rate:
            in_rate = frame.sample_rate
            if in_rate != target_rate:
                resampler = soxr.ResampleStream(in_rate, target_rate, 1, dtype="float32")
        mono = _to_mono(frame)
        n_in += len(mono)
        # Headers can lie (a WAV may declare 2 s and carry hours), so count what really decodes.
        if n_in > (limit_s + _CAP_MARGIN_S) * in_rate:
            raise AudioTooLong(
                "Audio is longer than allowed", duration_s=round(n_in / in_rate, 1), limit_s=limit_s
            )
        if not np.isfinite(mono).all():
            raise AudioUndecodable("Audio contains NaN or infinite samples")
        chunks.append(resampler.resample_chunk(mono) if resampler else mono)
    if resampler is not None:
        chunks.append(resampler.resample_chunk(np.zeros(0, np.float32), last=True))
    if not chunks:
        return np.zeros(0, np.float32), 0.0
    # Resampling full-scale input can overshoot a little; float sources may exceed 1 outright.
    samples = np.clip(np.concatenate(chunks), -1.0, 1.0).astype(np.float32, copy=False)
    return samples, n_in / in_rate


def _frames(
    container: Any, stream: Any, limits: LimitSettings, max_packets: int | None = None
) -> Iterator[Any]:
    """Decoded frames of `stream`, refusing corruption and parameter changes mid-stream."""
    errors = packets = 0
    first: tuple[int, int] | None = None
    converter = av.AudioResampler(format="flt")
    for packet in container.demux(stream):
        packets += 1
        if max_packets is not None and packets > max_packets:
            return
        try:
            decoded = packet.decode()
        except av.FFmpegError:
            errors += 1
            if errors > _MAX_DECODE_ERRORS:
                raise AudioUndecodable("Audio stream is corrupt", bad_packets=errors) from None
            continue
        for frame in decoded:
            # Checked before touching the samples: a corrupt AAC frame can claim dozens of
            # channels, and PyAV walks a planar frame's plane pointers past their end.
            params = (frame.sample_rate, frame.layout.nb_channels)
            if first is None:
                _check_rate_channels(params[0], params[1], limits)
                first = params
            elif params != first:
                raise AudioUndecodable(
                    "Audio parameters change mid-stream: corrupt data",
                    sample_rate=params[0],
                    channels=params[1],
                )
            # Converted to packed float by FFmpeg, which reads planes safely for any layout.
            yield from converter.resample(frame)


def _to_mono(frame: Any) -> np.ndarray:
    channels = frame.layout.nb_channels
    arr = frame.to_ndarray().reshape(-1, channels)
    return (arr[:, 0] if channels == 1 else arr.mean(axis=1)).astype(np.float32)


@contextmanager
def _opened(data: bytes) -> Iterator[Any]:
    """`av.open` on the bytes in memory; any PyAV failure comes out as one of our errors."""
    try:
        container = av.open(io.BytesIO(data), "r", options=_OPEN_OPTIONS)
    except Exception as exc:
        if _wav_sample_rate(data) == 0:
            raise AudioParametersRejected("Sample rate is 0", sample_rate=0) from exc
        if _looks_like_audio(data):
            # FFmpeg's own words stay in the log: they name internals (demuxers, offsets, paths).
            log.info("upload could not be opened: %s", exc)
            raise AudioUndecodable("Audio could not be opened") from exc
        raise UnsupportedMediaType("Not an audio or video file") from exc
    try:
        yield container
    except VoxhubError:
        raise
    except Exception as exc:  # PyAV raises many types on hostile input; none may escape
        log.info("upload could not be decoded: %s", exc)
        raise AudioUndecodable("Audio could not be decoded") from exc
    finally:
        container.close()


def _header_info(container: Any) -> ProbeInfo:
    if not container.streams.audio:
        raise UnsupportedMediaType("The file has no audio stream", container=container.format.name)
    stream = container.streams.audio[0]
    ctx = stream.codec_context
    has_video = any(
        not (s.disposition & av.stream.Disposition.attached_pic) for s in container.streams.video
    )
    durations = [
        d
        for d in (
            _seconds(container.duration, Fraction(1, av.time_base)),
            _seconds(stream.duration, stream.time_base),
        )
        if d is not None
    ]
    return ProbeInfo(
        container=container.format.name,
        codec=ctx.name,
        duration_s=max(durations) if durations else None,
        sample_rate=int(ctx.sample_rate or 0),
        channels=int(ctx.channels or 0),
        has_video=has_video,
    )


def _check_header(info: ProbeInfo, limits: LimitSettings) -> None:
    limit_s = _duration_limit(info, limits)
    if info.duration_s is not None and info.duration_s > limit_s:
        raise AudioTooLong(
            "Audio is longer than allowed",
            duration_s=round(info.duration_s, 1),
            limit_s=limit_s,
            has_video=info.has_video,
        )
    _check_rate_channels(info.sample_rate, info.channels, limits)


def _check_rate_channels(sample_rate: int, channels: int, limits: LimitSettings) -> None:
    if not 0 < sample_rate <= limits.max_input_sample_rate:
        raise AudioParametersRejected(
            "Sample rate out of range",
            sample_rate=sample_rate,
            limit_hz=limits.max_input_sample_rate,
        )
    if not 0 < channels <= limits.max_input_channels:
        raise AudioParametersRejected(
            "Channel count out of range", channels=channels, limit=limits.max_input_channels
        )


def _duration_limit(info: ProbeInfo, limits: LimitSettings) -> float:
    return limits.max_video_seconds if info.has_video else limits.max_reference_seconds


def _seconds(value: int | None, time_base: Any) -> float | None:
    if value is None or time_base is None or value <= 0:
        return None
    return float(value * time_base)


def _looks_like_text(head: bytes) -> bool:
    # Media headers always hold control bytes (sizes, zero padding); HTML, JSON and CSV do not.
    return all(b >= 0x20 or b in b"\t\r\n" for b in head)


def _looks_like_audio(data: bytes) -> bool:
    head = data[:12]
    if head.startswith(_AUDIO_MAGIC) or head[4:8] == b"ftyp":
        return True
    # A bare MPEG audio / ADTS frame starts with an 11-bit sync word.
    return len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0


def _wav_sample_rate(data: bytes) -> int | None:
    """The sample rate from a RIFF/WAVE `fmt ` chunk, read only when FFmpeg refused the file."""
    if data[:4] not in (b"RIFF", b"RF64") or data[8:12] != b"WAVE":
        return None
    pos = 12
    while pos + 8 <= min(len(data), 1 << 16):
        tag, size = data[pos : pos + 4], struct.unpack_from("<I", data, pos + 4)[0]
        if tag == b"fmt " and pos + 16 <= len(data):
            return int(struct.unpack_from("<I", data, pos + 12)[0])
        pos += 8 + size + (size & 1)
    return None
