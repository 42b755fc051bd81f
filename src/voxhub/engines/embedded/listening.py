"""How refinement listens: candidate voices speaking fixed sentences, heard against a speaker."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import soxr

from voxhub.audio.speaker import SpeakerEncoder, cosine
from voxhub.engines.base import Reference
from voxhub.engines.embedded.adapt import (
    Equaliser,
    equaliser_gains,
    long_term_spectrum,
    median_f0,
    pitch_ratio,
)
from voxhub.engines.embedded.model import SAMPLE_RATE
from voxhub.engines.embedded.refine import SENTENCES, VALIDATION_SENTENCES, tune_pitch

_PITCH_SECONDS = 30
# (style table, text, pitch scale) -> 24 kHz speech
Synthesise = Callable[[np.ndarray, str, float], np.ndarray]


def at_model_rate(reference: Reference) -> np.ndarray:
    """The reference's samples at the model's rate."""
    samples = np.asarray(reference.samples, dtype=np.float32)
    if reference.sample_rate != SAMPLE_RATE:
        samples = soxr.resample(samples, reference.sample_rate, SAMPLE_RATE)
    return samples


def reference_spectrum(reference: Reference) -> np.ndarray:
    """The reference's long-term spectrum on the model's frequency grid."""
    return long_term_spectrum(at_model_rate(reference), SAMPLE_RATE)


@dataclass(frozen=True)
class Target:
    """What refinement listens for: the reference's embedding, long-term spectrum and pitch."""

    embedding: np.ndarray
    spectrum: np.ndarray
    f0: float

    @classmethod
    def of(cls, reference: Reference, embedding: np.ndarray) -> Target:
        """Blocking (pitch tracking takes a few seconds)."""
        samples = at_model_rate(reference)
        # Pitch tracking costs about half a second per second of audio: half a minute of a
        # reference (which may run to five) pins the median down well enough.
        pitch = median_f0(samples[: _PITCH_SECONDS * SAMPLE_RATE], SAMPLE_RATE)
        return cls(embedding, long_term_spectrum(samples, SAMPLE_RATE), pitch)


class Listener:
    """Scores candidate voices against one target. Every method blocks: run it in a thread."""

    def __init__(self, synthesise: Synthesise, encoder: SpeakerEncoder, target: Target) -> None:
        self._synthesise = synthesise
        self._encoder = encoder
        self.target = target

    def speech(
        self, style: np.ndarray, f0_scale: float, sentences: tuple[str, ...] = SENTENCES
    ) -> np.ndarray:
        """The refinement sentences (or `sentences`) spoken with `style`, joined."""
        return np.concatenate([self._synthesise(style, text, f0_scale) for text in sentences])

    def validate(self, style: np.ndarray, f0_scale: float, gains: np.ndarray) -> float:
        """Similarity to the target of sentences the search never heard, through `gains`."""
        audio = self.speech(style, f0_scale, VALIDATION_SENTENCES)
        heard = Equaliser.from_gains(gains).apply(audio)
        return cosine(self._encoder.embed(heard, SAMPLE_RATE), self.target.embedding)

    def score(
        self, style: np.ndarray, f0_scale: float, gains: np.ndarray | None = None
    ) -> tuple[float, float]:
        """(similarity to the target, seconds of speech), heard through `gains` or, by default,
        the equaliser fitted to this candidate, so that what scores is what an equaliser
        cannot fix."""
        audio = self.speech(style, f0_scale)
        if gains is None:
            gains = self._gains_for(audio)
        heard = Equaliser.from_gains(gains).apply(audio)
        similarity = cosine(self._encoder.embed(heard, SAMPLE_RATE), self.target.embedding)
        return similarity, len(audio) / SAMPLE_RATE

    def fit_adaptation(self, style: np.ndarray, score: float) -> tuple[float, np.ndarray, float]:
        """The pitch scale and equaliser gains for `style` (which scored `score` at pitch 1),
        and the score they reach."""
        voice = self.speech(style, 1.0)
        ratio = pitch_ratio(self.target.f0, median_f0(voice, SAMPLE_RATE))
        f0_scale, score = tune_pitch(style, ratio, self.score, score)
        if f0_scale != 1.0:
            voice = self.speech(style, f0_scale)
        return f0_scale, self._gains_for(voice), score

    def _gains_for(self, audio: np.ndarray) -> np.ndarray:
        spectrum = long_term_spectrum(audio, SAMPLE_RATE)
        return equaliser_gains(self.target.spectrum, spectrum, SAMPLE_RATE)
