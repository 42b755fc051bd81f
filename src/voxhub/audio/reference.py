"""The reference pipeline: from an uploaded file to clean, trimmed, level speech and a report."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from voxhub.audio import analysis, clean
from voxhub.audio.decode import decode, probe
from voxhub.audio.types import Audio, ReferenceReport
from voxhub.core.errors import NotEnoughSpeech
from voxhub.settings import LimitSettings

TARGET_LUFS = -23.0
LOW_SNR_DB = 15.0
CLIPPING_WARN_RATIO = 0.001
SHORT_REFERENCE_S = 6.0
FADE_S = 0.01


@dataclass
class PreparedReference:
    """The processed reference audio and what was measured on the way."""

    audio: Audio
    report: ReferenceReport


def prepare_reference(
    data: bytes, limits: LimitSettings, working_rate: int, *, denoise: bool = False
) -> PreparedReference:
    """Probe, decode, check and clean one reference upload. Blocking: run it in a thread."""
    info = probe(data, limits)
    decoded = decode(data, limits, working_rate, info)
    x = decoded.samples
    clipping = analysis.clipping_ratio(x)
    if denoise:
        x = clean.denoise(x, working_rate)
    regions = clean.speech_regions(x, working_rate)
    speech_s = analysis.speech_seconds(regions, working_rate)
    if speech_s < limits.min_speech_seconds:
        raise NotEnoughSpeech(
            f"Found {speech_s:.1f} s of speech; at least {limits.min_speech_seconds:g} s is needed",
            speech_s=round(speech_s, 2),
            min_speech_s=limits.min_speech_seconds,
            duration_s=round(decoded.duration, 2),
        )
    snr = analysis.snr_estimate_db(x, working_rate, regions)
    warnings: list[str] = []
    trimmed = clean.trim_to_speech(x, working_rate, regions)
    # A video may run to max_video_seconds, but more reference than this is of no use to anyone.
    max_len = round(limits.max_reference_seconds * working_rate)
    if len(trimmed) > max_len:
        trimmed = _fade_out(trimmed[:max_len], round(FADE_S * working_rate))
        warnings.append("long_reference_truncated")
    levelled, lufs = clean.loudness_normalise(trimmed, working_rate, TARGET_LUFS)
    if snr is not None and snr < LOW_SNR_DB:
        warnings.append("low_snr")
    if clipping > CLIPPING_WARN_RATIO:
        warnings.append("clipping")
    if speech_s < SHORT_REFERENCE_S:
        warnings.append("short_reference")
    report = ReferenceReport(
        duration_s=round(decoded.duration, 3),
        speech_s=round(speech_s, 3),
        sample_rate_in=info.sample_rate,
        channels_in=info.channels,
        container=info.container,
        has_video=info.has_video,
        loudness_lufs=None if lufs is None else round(lufs, 2),
        snr_db=None if snr is None else round(snr, 1),
        clipping_ratio=clipping,
        denoised=denoise,
        warnings=warnings,
    )
    return PreparedReference(audio=Audio(samples=levelled, sample_rate=working_rate), report=report)


def _fade_out(x: np.ndarray, n: int) -> np.ndarray:
    out = x.copy()
    n = min(n, len(out))
    if n:
        out[-n:] *= np.linspace(1.0, 0.0, n, dtype=np.float32)
    return out
