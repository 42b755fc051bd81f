"""Encode float32 mono samples to the output formats we serve, whole or as a stream."""

from __future__ import annotations

import io
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

import av
import numpy as np
import soxr
from av.audio.stream import AudioStream

from voxhub.core.errors import InvalidInput


@dataclass(frozen=True)
class OutputFormat:
    """One output format as the API names and labels it."""

    name: str
    media_type: str
    extension: str
    streamable: bool


FORMATS: dict[str, OutputFormat] = {
    "wav": OutputFormat("wav", "audio/wav", "wav", True),
    "mp3": OutputFormat("mp3", "audio/mpeg", "mp3", True),
    "opus": OutputFormat("opus", "audio/ogg", "opus", True),
    "flac": OutputFormat("flac", "audio/flac", "flac", False),
    "pcm": OutputFormat("pcm", "audio/L16", "pcm", True),
    "mulaw": OutputFormat("mulaw", "audio/basic", "ulaw", True),
    # Raw ADTS frames (what OpenAI's `aac` is): each frame stands alone, so it streams.
    "aac": OutputFormat("aac", "audio/aac", "aac", True),
}

SAMPLE_RATES: tuple[int, ...] = (8000, 16000, 22050, 24000, 44100, 48000)

# libopus only runs at these rates; other requests are served at the next rate up.
OPUS_RATES: tuple[int, ...] = (8000, 12000, 16000, 24000, 48000)
MULAW_DEFAULT_RATE = 8000

# (container, codec) for the formats PyAV muxes.
_CODECS: dict[str, tuple[str, str]] = {
    "mp3": ("mp3", "libmp3lame"),
    "opus": ("ogg", "libopus"),
    "flac": ("flac", "flac"),
    "aac": ("adts", "aac"),
}
# Ogg pages are otherwise held back for up to a second; a stream wants them sooner.
_OGG_PAGE_US = "100000"


def output_rate(fmt: str, sample_rate: int, out_rate: int | None = None) -> int:
    """The rate `encode(samples, sample_rate, fmt, out_rate)` really writes, after validation."""
    if fmt not in FORMATS:
        raise InvalidInput(
            f"Unknown output format {fmt!r}; choose one of {', '.join(FORMATS)}", format=fmt
        )
    if out_rate is None:
        out_rate = MULAW_DEFAULT_RATE if fmt == "mulaw" else sample_rate
    if out_rate not in SAMPLE_RATES:
        raise InvalidInput(
            f"Unsupported sample rate {out_rate}; choose one of "
            f"{', '.join(map(str, SAMPLE_RATES))}",
            sample_rate=out_rate,
        )
    if fmt == "opus":
        return next(r for r in OPUS_RATES if r >= out_rate)
    return out_rate


Tags = Mapping[str, str]


def encode(
    samples: np.ndarray,
    sample_rate: int,
    fmt: str,
    out_rate: int | None = None,
    tags: Tags | None = None,
) -> bytes:
    """Encode a whole clip; opus is written at the nearest libopus rate at or above `out_rate`.

    `tags` go into the container's metadata where the format has any (ID3 for MP3, Vorbis
    comments for Opus and FLAC, a LIST/INFO comment for WAV); raw PCM, mu-law and ADTS have
    nowhere to put them."""
    rate = output_rate(fmt, sample_rate, out_rate)
    x = _prepare(samples)
    if rate != sample_rate:
        x = soxr.resample(x, sample_rate, rate).astype(np.float32)
    if fmt == "wav":
        pcm = _to_s16(x).tobytes()
        # The tags follow the samples, so the header stays the plain 44 bytes that many
        # clients assume (RIFF allows a LIST chunk anywhere after `fmt `).
        info = _wav_info(tags) if tags else b""
        return _wav_header(rate, len(pcm), len(info)) + pcm + info
    if fmt == "pcm":
        return _to_s16(x).tobytes()
    if fmt == "mulaw":
        return _mulaw(_to_s16(x), rate)
    # A seekable buffer lets the muxers finish their headers (LAME gapless info, FLAC STREAMINFO).
    buf = io.BytesIO()
    muxer = _Muxer(fmt, rate, buf, tags)
    muxer.write(x)
    muxer.close()
    return buf.getvalue()


class StreamEncoder:
    """Incremental encoder: `feed` returns the bytes ready so far, `finish` the rest."""

    def __init__(
        self, fmt: str, in_rate: int, out_rate: int | None = None, tags: Tags | None = None
    ) -> None:
        self.rate = output_rate(fmt, in_rate, out_rate)
        self._tags = tags
        self.format = FORMATS[fmt]
        self._fmt = fmt
        self._in_rate = in_rate
        self._resampler = (
            soxr.ResampleStream(in_rate, self.rate, 1, dtype="float32")
            if self.rate != in_rate
            else None
        )
        self._sink = _Sink()
        self._muxer = (
            _Muxer(fmt, self.rate, self._sink, tags) if fmt in ("mp3", "opus", "aac") else None
        )
        self._held: list[np.ndarray] = []
        self._started = False
        self._finished = False

    def feed(self, samples: np.ndarray) -> bytes:
        """Encode another chunk; returns the bytes ready so far (may be b"")."""
        if self._finished:
            raise RuntimeError("StreamEncoder already finished")
        x = _prepare(samples)
        if self._resampler is not None:
            x = self._resampler.resample_chunk(x)
        return self._emit(x)

    def finish(self) -> bytes:
        """Flush the encoder and return the remaining bytes."""
        if self._finished:
            return b""
        tail = b""
        if self._resampler is not None:
            tail = self._emit(self._resampler.resample_chunk(np.zeros(0, np.float32), last=True))
        self._finished = True
        if self._fmt == "flac":
            held = np.concatenate([np.zeros(0, np.float32), *self._held])
            return encode(held, self.rate, "flac", tags=self._tags)
        if self._muxer is not None:
            self._muxer.close()
            return tail + self._sink.take()
        return tail + self._header()

    def _emit(self, x: np.ndarray) -> bytes:
        if self._fmt == "flac":
            # FLAC's header carries the length and checksum, so the file is written at the end.
            self._held.append(x)
            return b""
        if self._muxer is not None:
            self._muxer.write(x)
            return self._sink.take()
        if self._fmt == "mulaw":
            return self._header() + _mulaw(_to_s16(x), self.rate)
        return self._header() + _to_s16(x).tobytes()

    def _header(self) -> bytes:
        if self._started:
            return b""
        self._started = True
        # Length unknown while streaming: maximal sizes, as streaming servers send.
        # A streamed WAV's data runs to the end of the file, so it has no room for tags.
        return _wav_header(self.rate, 0xFFFFFFFF) if self._fmt == "wav" else b""


class _Sink:
    """A write-only, unseekable file for PyAV, so muxers emit data as they go."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def write(self, data: bytes) -> int:
        self._parts.append(bytes(data))
        return len(data)

    def seekable(self) -> bool:
        return False

    def take(self) -> bytes:
        out, self._parts = b"".join(self._parts), []
        return out


class _Muxer:
    """One PyAV output container with one mono audio stream."""

    def __init__(self, fmt: str, rate: int, file: Any, tags: Tags | None = None) -> None:
        container_fmt, codec = _CODECS[fmt]
        options = {"page_duration": _OGG_PAGE_US} if container_fmt == "ogg" else {}
        self._container = av.open(file, "w", format=container_fmt, container_options=options)
        self._stream = cast(
            AudioStream, self._container.add_stream(codec, rate=rate, layout="mono")
        )
        if tags and container_fmt != "adts":
            # MP3 and FLAC write the container's; Ogg writes each stream's comment header.
            self._container.metadata.update(tags)
            self._stream.metadata.update(tags)
        # Mono speech: 48 kb/s Opus is near transparent; MP3 needs more, and more above 24 kHz.
        if fmt == "opus":
            self._stream.codec_context.bit_rate = 48_000
        elif fmt == "mp3":
            self._stream.codec_context.bit_rate = 64_000 if rate <= 24_000 else 128_000
        elif fmt == "aac":
            self._stream.codec_context.bit_rate = 64_000 if rate <= 24_000 else 96_000
        # Write the header now, so a stream's first read already returns a valid start of file.
        self._container.start_encoding()
        self._s16 = fmt == "flac"
        self._rate = rate
        self._pts = 0

    def write(self, x: np.ndarray) -> None:
        if not len(x):
            return
        if self._s16:
            frame = av.AudioFrame.from_ndarray(
                _to_s16(x).reshape(1, -1), format="s16", layout="mono"
            )
        else:
            frame = av.AudioFrame.from_ndarray(x.reshape(1, -1), format="flt", layout="mono")
        frame.sample_rate = self._rate
        frame.pts = self._pts
        self._pts += len(x)
        for packet in self._stream.encode(frame):
            self._container.mux(packet)

    def close(self) -> None:
        for packet in self._stream.encode(None):
            self._container.mux(packet)
        self._container.close()


def _prepare(samples: np.ndarray) -> np.ndarray:
    x = np.asarray(samples, dtype=np.float32)
    if x.ndim != 1:
        raise InvalidInput("Expected mono samples (a 1-D array)", shape=list(x.shape))
    return np.clip(np.nan_to_num(x), -1.0, 1.0)


def _to_s16(x: np.ndarray) -> np.ndarray:
    return np.round(np.clip(x, -1.0, 1.0) * 32767.0).astype("<i2")


def _mulaw(pcm: np.ndarray, rate: int) -> bytes:
    if not len(pcm):
        return b""
    ctx: Any = av.CodecContext.create("pcm_mulaw", "w")
    ctx.sample_rate = rate
    ctx.layout = "mono"
    ctx.format = "s16"
    frame = av.AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="mono")
    frame.sample_rate = rate
    return b"".join(bytes(p) for p in [*ctx.encode(frame), *ctx.encode(None)])


def _wav_header(rate: int, data_bytes: int, trailing_bytes: int = 0) -> bytes:
    """The 44-byte header; `trailing_bytes` of chunks follow the data (counted by RIFF)."""
    riff = 0xFFFFFFFF if data_bytes == 0xFFFFFFFF else 36 + data_bytes + trailing_bytes
    fmt = struct.pack("<HHIIHH", 1, 1, rate, rate * 2, 2, 16)
    return (
        b"RIFF"
        + struct.pack("<I", riff)
        + b"WAVEfmt "
        + struct.pack("<I", 16)
        + fmt
        + (b"data" + struct.pack("<I", data_bytes))
    )


def _wav_info(tags: Tags) -> bytes:
    """A LIST/INFO chunk: the tags as one comment (ICMT), `key=value` a line, and the
    software (ISFT). RIFF strings are NUL-terminated and chunks padded to even sizes (so it
    starts at an even offset after 16-bit samples too)."""

    def sub(chunk_id: bytes, text: str) -> bytes:
        body = text.encode("utf-8") + b"\0"
        body += b"\0" * (len(body) % 2)
        return chunk_id + struct.pack("<I", len(body)) + body

    comment = "\n".join(f"{k}={v}" for k, v in tags.items())
    body = b"INFO" + sub(b"ISFT", "voxhub") + sub(b"ICMT", comment)
    return b"LIST" + struct.pack("<I", len(body)) + body
