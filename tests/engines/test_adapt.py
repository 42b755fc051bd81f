"""Post-adaptation pieces on synthetic signals: spectra, equaliser, pitch, profile storage."""

from __future__ import annotations

import numpy as np
import pytest

from voxhub.engines.embedded.adapt import (
    LIMIT_DB,
    N_FFT,
    Equaliser,
    bin_frequencies,
    equaliser_gains,
    long_term_spectrum,
    median_f0,
    pitch_ratio,
)
from voxhub.engines.embedded.profile import (
    EQ_BINS,
    StyleProfile,
    decode_profile,
    encode_profile,
)

RATE = 24_000


def _noise(seconds: float, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(int(seconds * RATE)).astype(np.float32) * 0.1


def _band_db(spectrum: np.ndarray, lo: float, hi: float) -> float:
    freqs = bin_frequencies(RATE)
    band = (freqs >= lo) & (freqs < hi)
    return float(10 * np.log10(spectrum[band].mean()))


def _tilt_db(freqs: np.ndarray) -> np.ndarray:
    """A smooth test colouring: +9 dB around 3 kHz, -6 dB around 400 Hz."""
    octaves = np.log2(np.maximum(freqs, 1.0))
    return 9 * np.exp(-((octaves - np.log2(3000)) ** 2)) - 6 * np.exp(
        -((octaves - np.log2(400)) ** 2)
    )


def test_flat_equaliser_leaves_the_signal_alone() -> None:
    x = _noise(1.0)
    y = Equaliser.from_gains(np.zeros(EQ_BINS)).apply(x)
    assert y.shape == x.shape and y.dtype == np.float32
    # Only the window's ripple and the edges differ.
    middle = slice(N_FFT, -N_FFT)
    assert np.max(np.abs(y[middle] - x[middle])) < 0.02 * np.max(np.abs(x))


def test_equaliser_shapes_the_spectrum_as_asked() -> None:
    freqs = bin_frequencies(RATE)
    gains = np.where((freqs > 2000) & (freqs < 4000), 6.0, 0.0)
    y = Equaliser.from_gains(gains).apply(_noise(4.0))
    spectrum = long_term_spectrum(y, RATE)
    lift = _band_db(spectrum, 2500, 3500) - _band_db(spectrum, 500, 1500)
    assert lift == pytest.approx(6.0, abs=1.0)


def test_equaliser_of_empty_audio_is_empty() -> None:
    assert Equaliser.from_gains(np.zeros(EQ_BINS)).apply(np.zeros(0)).size == 0


def test_pauses_do_not_count_in_the_long_term_spectrum() -> None:
    speech = _noise(1.0)
    with_pauses = np.concatenate([np.zeros(RATE), speech, np.zeros(2 * RATE)])
    a, b = long_term_spectrum(speech, RATE), long_term_spectrum(with_pauses, RATE)
    assert _band_db(b, 200, 8000) == pytest.approx(_band_db(a, 200, 8000), abs=1.0)


def test_gains_move_a_voice_toward_the_reference_colouring() -> None:
    freqs = bin_frequencies(RATE)
    voice = _noise(4.0, seed=1)
    reference = Equaliser.from_gains(_tilt_db(freqs)).apply(_noise(4.0, seed=2))
    gains = equaliser_gains(
        long_term_spectrum(reference, RATE), long_term_spectrum(voice, RATE), RATE
    )
    assert gains.shape == (EQ_BINS,) and np.all(np.abs(gains) <= LIMIT_DB + 3)
    at = {f: float(gains[np.argmin(np.abs(freqs - f))]) for f in (400, 3000)}
    # 0.7 of the colouring's 15 dB swing between 400 Hz and 3 kHz (the level offset aside).
    assert at[3000] - at[400] == pytest.approx(0.7 * 15, abs=2.0)
    assert np.all(gains[freqs < 80] == pytest.approx(gains[freqs < 80][0]))
    # The voice's loudness is kept: only its balance changes.
    louder = Equaliser.from_gains(gains).apply(voice)
    ratio_db = 10 * np.log10(np.mean(louder**2) / np.mean(voice**2))
    assert abs(ratio_db) < 1.0


def test_equal_spectra_need_no_correction() -> None:
    spectrum = long_term_spectrum(_noise(2.0), RATE)
    assert np.max(np.abs(equaliser_gains(spectrum, spectrum, RATE))) < 1e-3


def _harmonic(f0: float, seconds: float = 2.0) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return sum(np.sin(2 * np.pi * k * f0 * t) / k for k in range(1, 6)).astype(np.float32) * 0.2


@pytest.mark.parametrize("f0", [110.0, 220.0])
def test_median_f0_finds_the_pitch(f0: float) -> None:
    assert median_f0(_harmonic(f0), RATE) == pytest.approx(f0, rel=0.03)


def test_median_f0_of_silence_is_nan() -> None:
    assert np.isnan(median_f0(np.zeros(RATE, dtype=np.float32), RATE))


def test_pitch_ratio_is_bounded_and_safe() -> None:
    assert pitch_ratio(200.0, 100.0) == pytest.approx(1.33)
    assert pitch_ratio(100.0, 200.0) == pytest.approx(0.75)
    assert pitch_ratio(120.0, 100.0) == pytest.approx(1.2)
    assert pitch_ratio(float("nan"), 100.0) == 1.0
    assert pitch_ratio(100.0, 0.0) == 1.0


def test_profile_keeps_its_adaptation() -> None:
    style = np.zeros((510, 256), dtype=np.float32)
    gains = np.linspace(-3, 3, EQ_BINS).astype(np.float32)
    data = encode_profile(StyleProfile(style, ("af_heart",), (1.0,), 7, "x", 1.2, gains))
    back = decode_profile(data)
    assert back.f0_scale == pytest.approx(1.2) and back.eq_db is not None
    assert np.allclose(back.eq_db, gains)
    plain = decode_profile(encode_profile(StyleProfile(style, ("af_heart",), (1.0,))))
    assert plain.f0_scale == 1.0 and plain.eq_db is None


@pytest.mark.parametrize(
    ("f0_scale", "gains"),
    [
        (3.0, None),
        (1.0, np.zeros(10, dtype=np.float32)),
        (1.0, np.full(EQ_BINS, 40.0, dtype=np.float32)),
        (1.0, np.full(EQ_BINS, np.nan, dtype=np.float32)),
    ],
)
def test_profile_with_impossible_adaptation_is_refused(
    f0_scale: float, gains: np.ndarray | None
) -> None:
    style = np.zeros((510, 256), dtype=np.float32)
    data = encode_profile(StyleProfile(style, (), (), 0, "x", f0_scale, gains))
    with pytest.raises(ValueError, match="voice profile"):
        decode_profile(data)
