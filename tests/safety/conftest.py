"""Watermark test helpers: one loaded Watermarker, real speech, and the transcodes users apply."""

from __future__ import annotations

import io
from pathlib import Path

import av
import numpy as np
import pytest
import soxr

from tests.conftest import SHARED
from voxhub.audio.decode import decode
from voxhub.audio.encode import encode
from voxhub.safety import Watermarker, startup_watermarker
from voxhub.settings import LimitSettings

RATE = 24_000  # the embedded engine's output rate
SPEECH_DIRS = (SHARED / "data" / "speech", SHARED / "data" / "speech-pool")
LIMITS = LimitSettings()


@pytest.fixture(scope="session")
def watermarker() -> Watermarker:
    """The process's own instance, as every container uses (loaded and self-tested once)."""
    return startup_watermarker()


def speech_files() -> list[Path]:
    """Every recording in ../shared/data/speech and speech-pool (80 clips), sorted."""
    files = sorted(
        f for d in SPEECH_DIRS if d.is_dir() for f in d.iterdir() if f.suffix in (".wav", ".flac")
    )
    if not files:
        pytest.fail(f"no recordings under {SPEECH_DIRS[0]}")
    return files


def load_speech(path: Path, seconds: float | None = None) -> np.ndarray:
    samples = decode(path.read_bytes(), LIMITS, RATE).samples
    return samples if seconds is None else samples[: int(seconds * RATE)]


def mp3_32k(x: np.ndarray, rate: int) -> tuple[np.ndarray, int]:
    """MP3 at 32 kb/s (voxhub itself writes 64 kb/s, so this one is muxed here with PyAV)."""
    buf = io.BytesIO()
    with av.open(buf, "w", format="mp3") as container:
        stream = container.add_stream("libmp3lame", rate=rate, layout="mono")
        stream.codec_context.bit_rate = 32_000  # type: ignore[union-attr]
        frame = av.AudioFrame.from_ndarray(x.reshape(1, -1), format="flt", layout="mono")
        frame.sample_rate = rate
        frame.pts = 0
        for packet in [*stream.encode(frame), *stream.encode(None)]:  # type: ignore[union-attr]
            container.mux(packet)
    return decode(buf.getvalue(), LIMITS, rate).samples, rate


def opus(x: np.ndarray, rate: int) -> tuple[np.ndarray, int]:
    return decode(encode(x, rate, "opus"), LIMITS, rate).samples, rate


def mulaw_8k(x: np.ndarray, rate: int) -> tuple[np.ndarray, int]:
    """voxhub's raw G.711 mu-law at 8 kHz, decoded back with FFmpeg's pcm_mulaw."""
    ctx = av.CodecContext.create("pcm_mulaw", "r")
    ctx.sample_rate = 8_000  # type: ignore[attr-defined]
    ctx.layout = "mono"  # type: ignore[attr-defined]
    frames = ctx.decode(av.Packet(encode(x, rate, "mulaw")))  # type: ignore[attr-defined]
    pcm = np.concatenate([f.to_ndarray().reshape(-1) for f in frames])
    return (pcm / 32768.0).astype(np.float32), 8_000


def resampled(to: int):
    def transcode(x: np.ndarray, rate: int) -> tuple[np.ndarray, int]:
        return soxr.resample(x, rate, to), to

    return transcode


def gain_half(x: np.ndarray, rate: int) -> tuple[np.ndarray, int]:
    return x * np.float32(0.5), rate


def noise_30db(x: np.ndarray, rate: int) -> tuple[np.ndarray, int]:
    """White noise 30 dB below the clip's mean power, seeded."""
    power = float(np.mean(x.astype(np.float64) ** 2))
    noise = np.random.default_rng(30).standard_normal(len(x)) * np.sqrt(power / 1e3)
    return (x + noise).astype(np.float32), rate


def excerpt_1s(x: np.ndarray, rate: int) -> tuple[np.ndarray, int]:
    """The middle second."""
    mid = len(x) // 2
    return x[mid - rate // 2 : mid + rate // 2], rate


TRANSCODES = {
    "mp3_32kbps": mp3_32k,
    "opus": opus,
    "mulaw_8khz": mulaw_8k,
    "resample_16khz": resampled(16_000),
    "resample_8khz": resampled(8_000),
    "gain_x0.5": gain_half,
    "noise_30db_snr": noise_30db,
    "excerpt_1s": excerpt_1s,
}
