"""The reference pipeline on real recordings, the refusals, and the clean-up steps under it."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pyloudnorm
import pytest

from tests.audio.conftest import RATE, make_media
from tests.conftest import ODD, SPEECH
from voxhub.audio import analysis, clean
from voxhub.audio.encode import encode
from voxhub.audio.reference import prepare_reference
from voxhub.core.errors import NotEnoughSpeech
from voxhub.settings import LimitSettings

SPEECH_FILES = sorted(p for p in SPEECH.iterdir() if p.suffix in {".wav", ".flac"})

NO_SPEECH = [
    "noise_speechcommands_white_noise.wav",
    "music_trumpet_sorohanro_solo-trumpet-06.ogg",
    "silence_digital_silence.wav",
    "silence_almost_silent.wav",
    "short_speech_zh_chinese.flac",
    "english_one-two-three.wav",
    "format_mono_8bit_one-two-three.wav",
]


def test_all_real_speech_files_are_present() -> None:
    assert len(SPEECH_FILES) == 20


@pytest.mark.parametrize("path", SPEECH_FILES, ids=[p.name for p in SPEECH_FILES])
def test_real_speech_passes(path, limits) -> None:
    prepared = prepare_reference(path.read_bytes(), limits, RATE)
    report, audio = prepared.report, prepared.audio
    assert audio.sample_rate == RATE and audio.samples.dtype == np.float32
    assert report.speech_s >= limits.min_speech_seconds
    assert 0 < audio.duration <= report.duration_s + 1e-3
    # LJ Speech is published at 22.05 kHz, the other corpora at 16 kHz; all are mono.
    assert report.sample_rate_in == (22_050 if path.name.startswith("ljspeech_") else 16_000)
    assert report.channels_in == 1
    assert not report.has_video and not report.denoised
    assert report.snr_db is not None and report.snr_db > 10
    assert report.loudness_lufs is not None
    assert np.abs(audio.samples).max() <= 0.99 + 1e-6
    measured = pyloudnorm.Meter(RATE).integrated_loudness(audio.samples.astype(np.float64))
    peak_limited = np.abs(audio.samples).max() > 0.98
    assert peak_limited or abs(measured - (-23.0)) < 0.5
    assert ("short_reference" in report.warnings) == (report.speech_s < 6.0)


@pytest.mark.parametrize("name", NO_SPEECH)
def test_no_usable_speech_is_refused(name, limits) -> None:
    with pytest.raises(NotEnoughSpeech) as err:
        prepare_reference((ODD / name).read_bytes(), limits, RATE)
    assert err.value.extra["speech_s"] < limits.min_speech_seconds


def test_noise_and_music_have_no_speech_at_all(limits) -> None:
    for name in NO_SPEECH[:4]:
        with pytest.raises(NotEnoughSpeech) as err:
            prepare_reference((ODD / name).read_bytes(), limits, RATE)
        assert err.value.extra["speech_s"] == 0


def test_video_reference_passes(limits) -> None:
    prepared = prepare_reference((ODD / "video_auto-editor_example.mp4").read_bytes(), limits, RATE)
    report = prepared.report
    assert report.has_video and report.channels_in == 2 and report.sample_rate_in == 48_000
    assert report.duration_s == pytest.approx(42.4, abs=0.05)
    # Speech sits in the first ~18 s, then silence: the trimmed reference must drop the silence.
    assert 10 < report.speech_s < 19
    assert prepared.audio.duration < 19


def test_low_snr_and_denoise(speech, limits) -> None:
    noise = np.random.default_rng(0).standard_normal(len(speech)).astype(np.float32)
    noisy = speech + noise * np.sqrt(np.mean(speech**2) / 10 ** (5 / 10))
    data = encode(noisy / np.abs(noisy).max() * 0.9, RATE, "wav")
    plain = prepare_reference(data, limits, RATE).report
    assert "low_snr" in plain.warnings and plain.snr_db is not None and plain.snr_db < 10
    cleaned = prepare_reference(data, limits, RATE, denoise=True).report
    assert cleaned.denoised and cleaned.snr_db is not None
    assert cleaned.snr_db > plain.snr_db + 10
    assert cleaned.speech_s >= limits.min_speech_seconds


def test_clipping_is_measured_on_the_input(speech, limits) -> None:
    data = encode(np.clip(speech * 6, -1, 1), RATE, "wav")
    prepared = prepare_reference(data, limits, RATE)
    assert prepared.report.clipping_ratio > 0.001 and "clipping" in prepared.report.warnings
    assert np.abs(prepared.audio.samples).max() <= 0.99 + 1e-6


def test_long_video_reference_is_truncated(speech) -> None:
    video = make_media(np.tile(speech, 2), RATE, "mp4", "aac", video_codec="mpeg4")
    small = LimitSettings(max_reference_seconds=4, max_video_seconds=60)
    prepared = prepare_reference(video, small, RATE)
    assert "long_reference_truncated" in prepared.report.warnings
    assert prepared.audio.duration == pytest.approx(4.0, abs=0.01)


def test_ten_second_reference_is_fast(limits) -> None:
    data = (SPEECH / "librispeech_3080-5032-0002.flac").read_bytes()  # 10 s
    prepare_reference(data, limits, RATE)  # warm the VAD model
    start = time.perf_counter()
    prepare_reference(data, limits, RATE)
    assert time.perf_counter() - start < 2.0


def test_threads_get_the_same_results(limits) -> None:
    files = [p.read_bytes() for p in SPEECH_FILES[:6]]
    serial = [prepare_reference(d, limits, RATE).report.speech_s for d in files]
    with ThreadPoolExecutor(3) as pool:
        threaded = [
            r.report.speech_s for r in pool.map(lambda d: prepare_reference(d, limits, RATE), files)
        ]
    assert threaded == serial


# --- clean and analysis ---------------------------------------------------------------------------


def test_resample_lengths() -> None:
    x = np.random.default_rng(0).standard_normal(RATE).astype(np.float32)
    for rate in (8000, 16000, 44100, 48000):
        y = clean.resample(x, RATE, rate)
        assert y.dtype == np.float32 and abs(len(y) - rate) <= 1
    assert clean.resample(x, RATE, RATE) is not x


def test_loudness_normalise() -> None:
    tone = (0.01 * np.sin(2 * np.pi * 440 * np.arange(RATE) / RATE)).astype(np.float32)
    out, lufs = clean.loudness_normalise(tone, RATE)
    assert lufs is not None and lufs < -40
    assert pyloudnorm.Meter(RATE).integrated_loudness(out.astype(np.float64)) == pytest.approx(
        -23, abs=0.1
    )
    # A peak far above the speech level limits the gain instead of clipping.
    spiky = tone.copy()
    spiky[100] = 0.5
    out, _ = clean.loudness_normalise(spiky, RATE)
    assert np.abs(out).max() == pytest.approx(0.99, abs=1e-3)
    assert clean.loudness_normalise(tone[: int(0.3 * RATE)], RATE)[1] is None
    assert clean.loudness_normalise(np.zeros(RATE, np.float32), RATE)[1] is None


def test_speech_regions_and_trim(speech) -> None:
    gap = np.zeros(2 * RATE, np.float32)
    x = np.concatenate([gap, speech, gap, speech, gap])
    regions = clean.speech_regions(x, RATE)
    assert regions and regions[0][0] >= 1.8 * RATE and regions[-1][1] <= len(x) - 1.8 * RATE
    trimmed = clean.trim_to_speech(x, RATE, regions)
    # Leading/trailing 2 s go (less 0.1 s padding), the 2 s pause shrinks to 0.3 s.
    assert len(x) - len(trimmed) > 4.5 * RATE
    assert analysis.speech_seconds(regions, RATE) > 2 * 4.5
    assert clean.trim_to_speech(x, RATE, []).size == 0
    manual = clean.trim_to_speech(np.arange(100, dtype=np.float32), 100, [(10, 20), (90, 95)])
    assert len(manual) == 10 + 30 + 5  # an 0.7 s pause becomes 0.3 s


def test_denoise_keeps_alignment(speech) -> None:
    clip = speech[: 2 * RATE]
    out = clean.denoise(clip, RATE)
    assert out.dtype == np.float32 and len(out) == len(clip)
    assert float(np.corrcoef(clip, out)[0, 1]) > 0.9


def test_analysis_measures() -> None:
    assert analysis.clipping_ratio(np.array([1.0, -1.0, 0.5, 0.0], np.float32)) == 0.5
    assert analysis.clipping_ratio(np.zeros(0, np.float32)) == 0.0
    assert analysis.speech_seconds([(0, 8000), (16000, 24000)], 16000) == 1.0
    rng = np.random.default_rng(0)
    x = (0.001 * rng.standard_normal(4 * RATE)).astype(np.float32)
    x[RATE : 3 * RATE] += 0.1 * np.sin(2 * np.pi * 200 * np.arange(2 * RATE) / RATE).astype(
        np.float32
    )
    snr = analysis.snr_estimate_db(x, RATE, [(RATE, 3 * RATE)])
    assert snr == pytest.approx(10 * np.log10(0.005 / 1e-6), abs=1.0)
    assert analysis.snr_estimate_db(x, RATE, []) is None
    # No pause at all: the quietest frames stand in for the noise floor.
    assert analysis.snr_estimate_db(x, RATE, [(0, len(x))]) is not None
