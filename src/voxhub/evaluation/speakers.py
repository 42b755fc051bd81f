"""The speech-sample manifest and the speaker-similarity maths of the evaluation."""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from voxhub.audio.speaker import cosine


@dataclass(frozen=True)
class Recording:
    """One file of the manifest; `transcript` is "" when none is known."""

    file: str
    speaker_id: str
    gender: str
    transcript: str
    duration_s: float = 0.0


@dataclass(frozen=True)
class Speaker:
    """A speaker and their recordings, in manifest order (the first one is enrolled)."""

    id: str
    gender: str
    recordings: tuple[Recording, ...]

    @property
    def enrolment(self) -> Recording:
        """The recording the voice is cloned from."""
        return self.recordings[0]

    @property
    def held_out(self) -> Recording:
        """The recording the output is compared with: the engine never hears it."""
        return self.recordings[1]


@dataclass(frozen=True)
class Baseline:
    """What a real recording scores: the same speaker, and strangers of the same gender."""

    same: float
    stranger: float

    def normalise(self, similarity: float) -> float:
        """0 = as alike as a stranger, 1 = as alike as the speaker's own other recording."""
        span = self.same - self.stranger
        # Tiny or negative spans would blow the ratio up; the speaker is then not separable.
        return (similarity - self.stranger) / span if span > 1e-6 else 0.0


def load_manifest(path: Path, min_recordings: int = 2) -> list[Speaker]:
    """Speakers with at least `min_recordings` recordings (two: an enrolment and a held-out
    one), in the order they first appear in the manifest."""
    by_speaker: dict[str, list[Recording]] = {}
    with path.open(newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            rec = Recording(
                file=row["file"],
                speaker_id=row["speaker_id"],
                gender=row["gender"].strip().upper(),
                transcript=(row.get("transcript") or "").strip(),
                duration_s=float(row.get("duration_s") or 0.0),
            )
            by_speaker.setdefault(rec.speaker_id, []).append(rec)
    return [
        Speaker(id=sid, gender=recs[0].gender, recordings=tuple(recs))
        for sid, recs in by_speaker.items()
        if len(recs) >= min_recordings
    ]


def baselines(
    speakers: Sequence[Speaker], embeddings: Mapping[str, np.ndarray]
) -> dict[str, Baseline]:
    """Same/stranger cosines per speaker from embeddings keyed by file name.

    same = cos(enrolment, held-out); stranger = mean cos(held-out, every recording of every
    other speaker of the same gender). Cross-gender pairs are left out: they are far apart anyway
    and would make any output of the right gender look like a good clone.
    """
    out: dict[str, Baseline] = {}
    for spk in speakers:
        held = embeddings[spk.held_out.file]
        same = cosine(embeddings[spk.enrolment.file], held)
        others = [
            cosine(held, embeddings[rec.file])
            for other in speakers
            if other.id != spk.id and other.gender == spk.gender
            for rec in other.recordings
        ]
        stranger = float(np.mean(others)) if others else 0.0
        out[spk.id] = Baseline(same=same, stranger=stranger)
    return out


def gated_mean(values: Sequence[float], wers: Sequence[float], max_wer: float = 0.3) -> float:
    """Mean of `values` where each one whose output has WER above `max_wer` counts as 0.

    A voice nobody can understand is no clone, however alike its timbre sounds to the encoder.
    """
    if not values:
        return float("nan")
    kept = [v if w <= max_wer else 0.0 for v, w in zip(values, wers, strict=True)]
    return float(np.mean(kept))
