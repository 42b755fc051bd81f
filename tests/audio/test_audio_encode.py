"""encode() and StreamEncoder: every output format and rate decodes back to the input."""

from __future__ import annotations

import io
import struct

import av
import numpy as np
import pytest

from tests.audio.conftest import RATE, correlation, envelope_similarity
from voxhub.audio.clean import resample
from voxhub.audio.decode import decode, probe
from voxhub.audio.encode import FORMATS, SAMPLE_RATES, StreamEncoder, encode, output_rate
from voxhub.core.errors import InvalidInput

CONTAINERS = ["wav", "mp3", "opus", "flac", "aac"]
# AAC frames are 1024 samples, and its encoder holds one back: a stream's first bytes come once
# two frames are in. ADTS cannot say how many priming samples the encoder put first (one frame)
# nor how much it padded the last, so a decoder returns up to three frames more than was fed.
AAC_FRAME = 1024
LOSSLESS = {"wav", "flac"}


def test_format_table() -> None:
    assert set(FORMATS) == {"wav", "mp3", "opus", "flac", "pcm", "mulaw", "aac"}
    assert FORMATS["wav"].media_type == "audio/wav"
    assert FORMATS["mp3"].media_type == "audio/mpeg"
    assert FORMATS["opus"].media_type == "audio/ogg"
    assert FORMATS["flac"].media_type == "audio/flac" and not FORMATS["flac"].streamable
    assert FORMATS["mulaw"].media_type == "audio/basic"
    assert FORMATS["aac"].media_type == "audio/aac" and FORMATS["aac"].streamable
    assert SAMPLE_RATES == (8000, 16000, 22050, 24000, 44100, 48000)


@pytest.mark.parametrize("rate", SAMPLE_RATES)
@pytest.mark.parametrize("fmt", CONTAINERS)
def test_round_trip(fmt, rate, speech, limits) -> None:
    clip = speech[: 3 * RATE]
    data = encode(clip, RATE, fmt, rate)
    info = probe(data, limits)
    # Opus is written at the next libopus rate up, and FFmpeg always decodes it at 48 kHz.
    assert info.sample_rate == (48_000 if fmt == "opus" else rate)
    audio = decode(data, limits, rate, info)
    extra_s = 3 * AAC_FRAME / rate if fmt == "aac" else 0.01
    assert 0 <= audio.duration - 3.0 <= extra_s
    reference = resample(clip, RATE, rate)
    if fmt in LOSSLESS:
        assert correlation(reference, audio.samples) > 0.999
    else:
        assert envelope_similarity(reference, audio.samples, rate) > 0.97


@pytest.mark.parametrize("rate", SAMPLE_RATES)
def test_pcm_is_raw_s16le(rate, speech) -> None:
    data = encode(speech, RATE, "pcm", rate)
    pcm = np.frombuffer(data, "<i2").astype(np.float32) / 32767
    assert abs(len(pcm) - len(speech) * rate / RATE) <= 1
    assert correlation(resample(speech, RATE, rate), pcm) > 0.9999


@pytest.mark.parametrize("rate", [None, 8000, 16000])
def test_mulaw_is_raw_g711(rate, speech) -> None:
    data = encode(speech, RATE, "mulaw", rate)
    out_rate = rate or 8000
    assert abs(len(data) - len(speech) * out_rate / RATE) <= 1  # one byte per sample
    decoded = _raw_mulaw(data, out_rate)
    assert correlation(resample(speech, RATE, out_rate), decoded) > 0.99


def test_wav_header_is_canonical(speech) -> None:
    data = encode(speech[:RATE], RATE, "wav")
    assert data[:4] == b"RIFF" and data[8:16] == b"WAVEfmt " and data[36:40] == b"data"
    assert struct.unpack_from("<I", data, 40)[0] == len(data) - 44 == 2 * RATE
    assert struct.unpack_from("<I", data, 24)[0] == RATE


def test_opus_rate_rounds_up() -> None:
    assert [output_rate("opus", RATE, r) for r in SAMPLE_RATES] == [
        8000,
        16000,
        24000,
        24000,
        48000,
        48000,
    ]


def test_encode_refuses_unknown_format_and_rate(speech) -> None:
    with pytest.raises(InvalidInput, match="format"):
        encode(speech, RATE, "aiff")
    with pytest.raises(InvalidInput, match="sample rate"):
        encode(speech, RATE, "wav", 11025)
    with pytest.raises(InvalidInput, match="sample rate"):
        StreamEncoder("mp3", RATE, 96_000)
    with pytest.raises(InvalidInput):
        encode(np.zeros((2, 100), np.float32), RATE, "wav")


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_encode_empty_and_out_of_range_input(fmt) -> None:
    assert isinstance(encode(np.zeros(0, np.float32), RATE, fmt), bytes)
    loud = np.array([2.0, -3.0, np.nan, 0.5] * 1000, np.float32)
    assert isinstance(encode(loud, RATE, fmt), bytes)


@pytest.mark.parametrize("out_rate", [None, 16000, 44100])
@pytest.mark.parametrize("fmt", list(FORMATS))
def test_stream_encoder(fmt, out_rate, speech, limits) -> None:
    encoder = StreamEncoder(fmt, RATE, out_rate)
    chunk = RATE // 10
    parts = [encoder.feed(speech[i : i + chunk]) for i in range(0, len(speech), chunk)]
    parts.append(encoder.finish())
    if FORMATS[fmt].streamable:
        # Input samples that make two frames at the output rate, in whole chunks.
        first = -(-2 * AAC_FRAME * RATE // (encoder.rate * chunk)) if fmt == "aac" else 1
        assert any(parts[:first]), f"the first {first} chunk(s) must already produce bytes"
        assert sum(1 for p in parts[:-1] if p) > len(parts) // 2
    else:
        assert not any(parts[:-1]) and parts[-1]
    data = b"".join(parts)
    rate = encoder.rate
    expected = resample(speech, RATE, rate)
    if fmt == "pcm":
        samples = np.frombuffer(data, "<i2").astype(np.float32) / 32767
    elif fmt == "mulaw":
        samples = _raw_mulaw(data, rate)
    else:
        samples = decode(data, limits, rate).samples
    # Streamed MP3 has no LAME header to trim the encoder's delay, and ADTS (raw AAC) no field
    # for it at all: allow for it.
    tolerance = 0.08 if fmt in ("mp3", "aac") else 0.01
    assert abs(len(samples) - len(expected)) / rate < tolerance
    if fmt in ("wav", "flac", "pcm"):
        assert correlation(expected, samples) > 0.999
    else:
        assert envelope_similarity(expected, samples, rate) > 0.97


def test_streamed_wav_header_has_open_sizes(speech) -> None:
    encoder = StreamEncoder("wav", RATE)
    first = encoder.feed(speech[:100])
    assert first[:4] == b"RIFF" and struct.unpack_from("<I", first, 4)[0] == 0xFFFFFFFF
    assert struct.unpack_from("<I", first, 40)[0] == 0xFFFFFFFF
    assert len(first) == 44 + 200
    assert encoder.finish() == b""


def test_stream_encoder_finish_is_idempotent(speech) -> None:
    encoder = StreamEncoder("opus", RATE)
    encoder.feed(speech[:RATE])
    assert encoder.finish()
    assert encoder.finish() == b""
    with pytest.raises(RuntimeError):
        encoder.feed(speech[:RATE])


def _raw_mulaw(data: bytes, rate: int) -> np.ndarray:
    with av.open(io.BytesIO(data), format="mulaw", options={"sample_rate": str(rate)}) as c:
        frames = [f.to_ndarray().reshape(-1) for f in c.decode(audio=0)]
    return np.concatenate(frames).astype(np.float32) / 32768
