"""Audio test helpers: media files made in code from real speech, and similarity measures."""

from __future__ import annotations

import io
from fractions import Fraction

import av
import numpy as np
import pytest

from tests.conftest import SPEECH
from voxhub.audio.decode import decode
from voxhub.settings import LimitSettings

RATE = 24_000


@pytest.fixture(scope="session")
def limits() -> LimitSettings:
    return LimitSettings()


@pytest.fixture(scope="session")
def speech() -> np.ndarray:
    """6 s of real speech (VCTK p225), float32 mono at 24 kHz."""
    data = (SPEECH / "vctk_p225_003.wav").read_bytes()
    return decode(data, LimitSettings(), RATE).samples


def make_media(
    samples: np.ndarray,
    rate: int,
    container: str,
    codec: str,
    *,
    channels: int = 1,
    video_codec: str | None = None,
    options: dict[str, str] | None = None,
) -> bytes:
    """Encode `samples` with PyAV into `container`, optionally beside a small video stream."""
    buf = io.BytesIO()
    layout = "mono" if channels == 1 else "stereo"
    with av.open(buf, "w", format=container) as out:
        audio = out.add_stream(codec, rate=rate, layout=layout, options=options or {})
        video = None
        if video_codec:
            video = out.add_stream(video_codec, rate=10)
            video.width, video.height, video.pix_fmt = 64, 64, "yuv420p"
        planes = np.repeat(np.asarray(samples, np.float32)[None, :], channels, axis=0)
        frame = av.AudioFrame.from_ndarray(planes, format="fltp", layout=layout)
        frame.sample_rate = rate
        frame.pts = 0
        frame.time_base = Fraction(1, rate)
        for packet in [*audio.encode(frame), *audio.encode(None)]:
            out.mux(packet)
        if video is not None:
            for i in range(int(len(samples) / rate * 10)):
                pixels = np.full((64, 64, 3), (i * 9) % 256, np.uint8)
                vframe = av.VideoFrame.from_ndarray(pixels, format="rgb24")
                vframe.pts = i
                vframe.time_base = Fraction(1, 10)
                for packet in video.encode(vframe):
                    out.mux(packet)
            for packet in video.encode(None):
                out.mux(packet)
    return buf.getvalue()


def envelope_similarity(a: np.ndarray, b: np.ndarray, rate: int, max_lag_s: float = 0.2) -> float:
    """Best correlation of 10 ms RMS envelopes over small lags: robust to codec delay and phase."""
    frame = rate // 100

    def env(x: np.ndarray) -> np.ndarray:
        n = len(x) // frame
        return np.sqrt(np.mean(x[: n * frame].reshape(n, frame) ** 2, axis=1))

    ea, eb = env(a), env(b)
    best = -1.0
    for lag in range(-int(max_lag_s * 100), int(max_lag_s * 100) + 1):
        x, y = (ea[lag:], eb) if lag >= 0 else (ea, eb[-lag:])
        n = min(len(x), len(y))
        if n > 10:
            best = max(best, float(np.corrcoef(x[:n], y[:n])[0, 1]))
    return best


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Sample-wise correlation of the common length (for lossless paths)."""
    n = min(len(a), len(b))
    return float(np.corrcoef(a[:n], b[:n])[0, 1])
