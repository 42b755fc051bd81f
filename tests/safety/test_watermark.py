"""The Watermarker's contract: same length and rate out, only the low band touched, any rate,
long audio in blocks, short pieces, silence, and many threads at once."""

from __future__ import annotations

import itertools
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import soxr

from tests.conftest import SPEECH
from tests.safety.conftest import RATE, load_speech
from voxhub.safety import DETECT_THRESHOLD, Watermarker


@pytest.fixture(scope="module")
def speech() -> np.ndarray:
    return load_speech(SPEECH / "vctk_p227_003.wav")  # 7 s


def _band_db(x: np.ndarray, rate: int, lo: float, hi: float) -> float:
    spectrum = np.abs(np.fft.rfft(x.astype(np.float64))) ** 2
    freqs = np.fft.rfftfreq(len(x), 1 / rate)
    return float(10 * np.log10(spectrum[(freqs >= lo) & (freqs < hi)].sum() + 1e-30))


@pytest.mark.parametrize("rate", [8_000, 16_000, 22_050, 44_100, 48_000])
def test_any_rate_same_length_and_detected(watermarker: Watermarker, speech: np.ndarray, rate: int):
    x = soxr.resample(speech, RATE, rate)
    out = watermarker.apply(x, rate)
    assert out.dtype == np.float32 and out.shape == x.shape
    assert watermarker.detect(out, rate) >= DETECT_THRESHOLD
    assert watermarker.detect(x, rate) < DETECT_THRESHOLD


def test_only_the_low_band_changes(watermarker: Watermarker, speech: np.ndarray):
    """Perth writes below 2 kHz; the rest of a 48 kHz signal must come back as it went in."""
    x = soxr.resample(speech, RATE, 48_000)
    residual = watermarker.apply(x, 48_000) - x
    assert _band_db(residual, 48_000, 4_000, 24_000) < _band_db(x, 48_000, 4_000, 24_000) - 60
    # Inaudible by masking, not by size: Perth's residual is 14-17 dB below speech (measured).
    snr = 10 * np.log10(
        np.sum(x.astype(np.float64) ** 2) / np.sum(residual.astype(np.float64) ** 2)
    )
    assert 10 < snr < 25


def test_long_audio_in_blocks_matches_one_pass(watermarker: Watermarker, speech: np.ndarray):
    blocked = Watermarker(watermarker.model, block_s=2.5)
    one = watermarker.apply(speech, RATE)
    three = blocked.apply(speech, RATE)
    assert three.shape == speech.shape
    difference = np.sum((one - three).astype(np.float64) ** 2)
    mark = np.sum((one - speech).astype(np.float64) ** 2)
    assert 10 * np.log10(mark / difference) > 20  # blocks differ only near Perth's loudness mask
    assert blocked.detect(three, RATE) >= DETECT_THRESHOLD


def test_silence_and_empty(watermarker: Watermarker):
    silence = np.zeros(RATE, np.float32)
    assert np.array_equal(watermarker.apply(silence, RATE), silence)
    assert watermarker.detect(silence, RATE) == 0.0
    assert watermarker.apply(np.zeros(0, np.float32), RATE).shape == (0,)
    assert watermarker.detect(np.zeros(0, np.float32), RATE) == 0.0
    tiny = watermarker.apply(np.full(100, 0.1, np.float32), RATE)  # shorter than one STFT frame
    assert tiny.shape == (100,) and np.isfinite(tiny).all()


def test_rejects_what_is_not_mono(watermarker: Watermarker):
    with pytest.raises(ValueError, match="mono"):
        watermarker.apply(np.zeros((2, 100), np.float32), RATE)
    with pytest.raises(ValueError, match="rate"):
        watermarker.detect(np.zeros(100, np.float32), 0)


def test_threads_share_one_instance(watermarker: Watermarker, speech: np.ndarray):
    pieces = [speech[i * RATE : (i + 2) * RATE] for i in range(4)]
    alone = [watermarker.apply(p, RATE) for p in pieces]
    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(lambda p: watermarker.apply(p, RATE), pieces * 2))
    for i, out in enumerate(together):
        np.testing.assert_allclose(out, alone[i % 4], atol=1e-5)


def test_streaming_chunks_marked_one_by_one(watermarker: Watermarker, speech: np.ndarray):
    """Chunks of 0.3-2 s marked separately, as a stream would, are detected once joined."""
    rng = np.random.default_rng(7)
    edges = [0]
    while edges[-1] < len(speech):
        edges.append(min(len(speech), edges[-1] + int(rng.uniform(0.3, 2.0) * RATE)))
    chunks = [speech[a:b] for a, b in itertools.pairwise(edges)]
    joined = np.concatenate([watermarker.apply(c, RATE) for c in chunks])
    assert joined.shape == speech.shape
    assert watermarker.detect(joined, RATE) >= DETECT_THRESHOLD
