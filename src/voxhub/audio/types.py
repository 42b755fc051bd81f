"""Plain audio value types shared by the audio package and its callers."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class ProbeInfo:
    """What the container header says, read before any decoding."""

    container: str
    codec: str | None
    duration_s: float | None
    sample_rate: int
    channels: int
    has_video: bool


@dataclass
class Audio:
    """Float32 mono samples in [-1, 1] at `sample_rate`."""

    samples: np.ndarray
    sample_rate: int

    @property
    def duration(self) -> float:
        return len(self.samples) / self.sample_rate if self.sample_rate else 0.0


@dataclass
class ReferenceReport:
    """What the reference pipeline measured; returned to the user with the new voice."""

    duration_s: float
    speech_s: float
    sample_rate_in: int
    channels_in: int
    container: str
    has_video: bool
    loudness_lufs: float | None
    snr_db: float | None
    clipping_ratio: float
    denoised: bool
    warnings: list[str] = field(default_factory=list)
