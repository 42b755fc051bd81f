"""The dialogue's final audio: lines laid out, the bed under them, loudness to the target."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from voxhub.ambience.mixer import Bed, mix
from voxhub.ambience.schemas import Ambience
from voxhub.renders import loudness
from voxhub.renders.plan import PlannedLine
from voxhub.renders.takes import Voiced
from voxhub.renders.timeline import Placement, Take, Word, assemble, dialogue_words
from voxhub.safety.watermark import Watermarker
from voxhub.settings import RenderSettings


@dataclass
class Dialogue:
    samples: np.ndarray
    rate: int
    placements: list[Placement]
    words: list[Word]
    loudness: loudness.Loudness


def mix_dialogue(
    takes: Sequence[Take],
    lines: Sequence[PlannedLine],
    cast: dict[str, Voiced],
    rate: int,
    settings: RenderSettings,
    gap_ms: int | None,
    ambience: Ambience | None,
    watermarker: Watermarker,
) -> Dialogue:
    """Blocking (numpy, filters): run it in a thread.

    The mix is marked once, whole, bed included, and then brought to the target loudness: a
    gain (and the limiter's few decibels on the loudest syllables) keeps the mark, and marking
    after levelling would move the loudness promised (by 1.4 LU on the fake engine's tones)."""
    default_gap = settings.render_gap_ms if gap_ms is None else gap_ms
    gaps = [(line.pause_ms if line.pause_ms is not None else default_gap) / 1000 for line in lines]
    crossfades = [cast[line.speaker].crossfade_s for line in lines]
    samples, placements = assemble(takes, gaps, crossfades, rate)
    if ambience is not None:
        samples = mix(samples, rate, Bed(ambience.bed, ambience.seed), ambience.settings())
    samples = watermarker.apply(samples, rate)
    samples = loudness.normalise(
        samples, rate, settings.render_target_lufs, settings.render_true_peak_dbtp
    )
    return Dialogue(
        samples,
        rate,
        placements,
        dialogue_words(takes, placements),
        loudness.measure(samples, rate),
    )
