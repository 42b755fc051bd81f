"""How well voxhub's speaker encoder tells people apart, measured on real recordings.

Any threshold on speaker similarity (the no-go list's, spoken consent's same-speaker check) is
chosen from these figures rather than guessed, and this module is the one place that computes
them; each use keeps its own rule for picking a threshold from them. Every clip goes through
`prepare_reference`, the pipeline an uploaded reference goes through, and is embedded with
`voxhub.audio.speaker`, so the scores are the ones the service itself will compute.

"Accept" means "the same speaker": a pair scoring at or above the threshold is accepted. A false
accept is two different people called one (for the no-go list: a stranger blocked); a false
reject is one person's two recordings called two people (for the list: a blocked voice missed).

All of it is blocking CPU work (decoding, voice activity detection, the encoder): run it from a
script, a test or `asyncio.to_thread`, never on the event loop.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from voxhub.audio import clean
from voxhub.audio.decode import decode
from voxhub.audio.encode import encode
from voxhub.audio.reference import prepare_reference
from voxhub.audio.speaker import SpeakerEncoder
from voxhub.audio.types import Audio
from voxhub.core.errors import NotEnoughSpeech
from voxhub.settings import LimitSettings

AUDIO_SUFFIXES = (".wav", ".flac", ".mp3", ".ogg")
# The working rate references are prepared at (Settings.working_sample_rate's default).
RATE = 24_000


@dataclass(frozen=True)
class Recording:
    """One recording of a data folder's MANIFEST.tsv; `transcript` is "" when none is known."""

    path: Path
    speaker_id: str
    transcript: str


def read_manifest(folder: Path) -> list[Recording]:
    """The audio files of a ../shared/data folder's MANIFEST.tsv, in manifest order."""
    with (folder / "MANIFEST.tsv").open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    recordings = [
        Recording(folder / r["file"], r["speaker_id"], (r.get("transcript") or "").strip())
        for r in rows
    ]
    return [r for r in recordings if r.path.suffix.lower() in AUDIO_SUFFIXES and r.path.is_file()]


@dataclass(frozen=True)
class Clip:
    """One embedded recording, or part of one."""

    speaker_id: str
    name: str
    embedding: np.ndarray


@dataclass(frozen=True)
class PairScores:
    """Scores of pairs that should be accepted (`same`: one speaker) and should not
    (`different`). The consent word check reuses it: own text against another's."""

    same: np.ndarray
    different: np.ndarray


@dataclass(frozen=True)
class Rates:
    """False-accept and false-reject counts at one threshold."""

    threshold: float
    false_accepts: int
    different_pairs: int
    false_rejects: int
    same_pairs: int

    @property
    def far(self) -> float:
        """Share of different-speaker pairs accepted as one speaker."""
        return self.false_accepts / self.different_pairs if self.different_pairs else 0.0

    @property
    def frr(self) -> float:
        """Share of same-speaker pairs rejected as two speakers."""
        return self.false_rejects / self.same_pairs if self.same_pairs else 0.0

    def figures(self) -> dict[str, str | float]:
        """The counts as the README gives them ("6/152") and the rates to four places."""
        return {
            "false_accepts": f"{self.false_accepts}/{self.different_pairs}",
            "far": round(self.far, 4),
            "false_rejects": f"{self.false_rejects}/{self.same_pairs}",
            "frr": round(self.frr, 4),
        }


def prepared(data: bytes, limits: LimitSettings, rate: int = RATE) -> Audio | None:
    """The audio as a reference upload is cleaned; None when the service would refuse it for
    too little speech (such a clip can never reach a threshold)."""
    try:
        return prepare_reference(data, limits, rate).audio
    except NotEnoughSpeech:
        return None


def _embed(encoder: SpeakerEncoder, audio: Audio) -> np.ndarray:
    return encoder.embed(audio.samples, audio.sample_rate)


def embed_recordings(
    recordings: Iterable[Recording],
    encoder: SpeakerEncoder,
    limits: LimitSettings,
    rate: int = RATE,
) -> list[Clip]:
    """The recordings that hold enough speech to be a reference, embedded as one would be."""
    clips = []
    for recording in recordings:
        audio = prepared(recording.path.read_bytes(), limits, rate)
        if audio is not None:
            clips.append(Clip(recording.speaker_id, recording.path.name, _embed(encoder, audio)))
    return clips


@dataclass(frozen=True)
class Halving:
    """How one utterance becomes two clips of one speaker: a same-speaker pair from a single
    recording (same session, microphone and room: easier than two recordings made apart)."""

    # Cut only between speech regions (a consent phrase is read whole), else at half the speech.
    at_a_pause: bool
    # Each part keeps at least this much speech, or the utterance is not split.
    min_part_speech_s: float
    # True: split the decoded upload and send each part through the upload pipeline on its
    # own (two uploads). False: split the prepared recording (two parts of one upload).
    parts_are_uploads: bool


# The no-go list's: two uploads, each cut at half the speech, kept when each is a reference.
TWO_UPLOADS = Halving(at_a_pause=False, min_part_speech_s=0.0, parts_are_uploads=True)


def split_by_speech(
    samples: np.ndarray, sample_rate: int, *, at_a_pause: bool = False, min_part_s: float = 0.0
) -> tuple[np.ndarray, np.ndarray] | None:
    """Two parts holding about the same amount of speech each, cut at half the speech or, with
    `at_a_pause`, at the pause nearest it. Half the length would leave one part mostly pause in
    recordings with long silences. None when a part would hold under `min_part_s` of speech."""
    regions = clean.speech_regions(samples, sample_rate)
    total = sum(end - start for start, end in regions)
    if total < 2 * min_part_s * sample_rate:
        return None
    cut = (
        _pause_nearest_half(regions, total) if at_a_pause else _half_speech(regions, total, samples)
    )
    before = _speech_before(regions, cut)
    if min(before, total - before) < min_part_s * sample_rate:
        return None
    return samples[:cut], samples[cut:]


def _half_speech(regions: list[tuple[int, int]], total: int, samples: np.ndarray) -> int:
    needed = total / 2
    for start, end in regions:
        if end - start >= needed:
            return start + round(needed)
        needed -= end - start
    return len(samples) // 2  # no speech at all: half the length


def _pause_nearest_half(regions: list[tuple[int, int]], total: int) -> int:
    pauses = [(regions[i][1] + regions[i + 1][0]) // 2 for i in range(len(regions) - 1)]
    if not pauses:  # one unbroken stretch of speech: cut in its middle
        return regions[0][0] + total // 2
    return min(pauses, key=lambda c: abs(_speech_before(regions, c) - total / 2))


def _speech_before(regions: list[tuple[int, int]], cut: int) -> int:
    return sum(max(0, min(end, cut) - start) for start, end in regions)


def embed_halves(
    recordings: Iterable[Recording],
    encoder: SpeakerEncoder,
    limits: LimitSettings,
    halving: Halving,
    rate: int = RATE,
) -> list[tuple[Clip, Clip]]:
    """Both parts of each recording that splits, by `halving`, into two usable parts; the
    parts' names end in "#1" and "#2"."""
    pairs = []
    for recording in recordings:
        parts = _parts(recording.path.read_bytes(), encoder, limits, halving, rate)
        if parts is not None:
            name, speaker = recording.path.name, recording.speaker_id
            first, second = (Clip(speaker, f"{name}#{i}", e) for i, e in enumerate(parts, 1))
            pairs.append((first, second))
    return pairs


def _parts(
    data: bytes, encoder: SpeakerEncoder, limits: LimitSettings, halving: Halving, rate: int
) -> tuple[np.ndarray, np.ndarray] | None:
    """The two parts' embeddings; None when the recording gives no two usable parts."""
    uploads = halving.parts_are_uploads
    # Two uploads are cut from the file as decoded; two parts of one upload, from it prepared.
    whole = decode(data, limits, rate) if uploads else prepared(data, limits, rate)
    split = (
        None
        if whole is None
        else split_by_speech(
            whole.samples, rate, at_a_pause=halving.at_a_pause, min_part_s=halving.min_part_speech_s
        )
    )
    if split is None:
        return None
    parts: list[Audio | None]
    if uploads:  # each part becomes a file of its own, so it goes through the pipeline whole
        parts = [prepared(encode(part, rate, "wav"), limits, rate) for part in split]
    else:
        parts = [Audio(part, rate) for part in split]
    first, second = parts
    if first is None or second is None:
        return None
    return _embed(encoder, first), _embed(encoder, second)


def pair_scores(clips: Sequence[Clip]) -> PairScores:
    """Cosine of every unordered pair of distinct clips (one matrix product: the embeddings
    are unit length)."""
    if len(clips) < 2:
        return PairScores(np.zeros(0, np.float32), np.zeros(0, np.float32))
    scores, one_speaker = _scores(clips, clips)
    upper = np.triu(np.ones(scores.shape, dtype=bool), k=1)
    return PairScores(same=scores[upper & one_speaker], different=scores[upper & ~one_speaker])


def cross_pair_scores(firsts: Sequence[Clip], seconds: Sequence[Clip]) -> PairScores:
    """Cosine of each of `firsts` against each of `seconds` (enrol on one, check the other)."""
    if not firsts or not seconds:
        return PairScores(np.zeros(0, np.float32), np.zeros(0, np.float32))
    scores, one_speaker = _scores(firsts, seconds)
    return PairScores(same=scores[one_speaker], different=scores[~one_speaker])


def _scores(rows: Sequence[Clip], columns: Sequence[Clip]) -> tuple[np.ndarray, np.ndarray]:
    """Cosines rows x columns, and where both clips are one speaker."""
    a = np.stack([c.embedding for c in rows]).astype(np.float32)
    b = np.stack([c.embedding for c in columns]).astype(np.float32)
    a_ids = np.array([c.speaker_id for c in rows])
    b_ids = np.array([c.speaker_id for c in columns])
    return a @ b.T, a_ids[:, None] == b_ids[None, :]


def rates_at(scores: PairScores, threshold: float, *, accept_at_most: bool = False) -> Rates:
    """How many pairs a threshold gets wrong each way: a pair is accepted at or above it, or
    with `accept_at_most` at or below it (a distance, such as a word error rate)."""
    if accept_at_most:
        accepted_different, rejected_same = scores.different <= threshold, scores.same > threshold
    else:
        accepted_different, rejected_same = scores.different >= threshold, scores.same < threshold
    return Rates(
        threshold=threshold,
        false_accepts=int(np.count_nonzero(accepted_different)),
        different_pairs=int(scores.different.size),
        false_rejects=int(np.count_nonzero(rejected_same)),
        same_pairs=int(scores.same.size),
    )


def highest_threshold_within(scores: PairScores, max_frr: float, decimals: int = 2) -> float:
    """The no-go list's rule: the highest threshold on a grid of `decimals` whose false-reject
    rate stays within `max_frr`, so the fewest false accepts that rejecting at most that share
    of same-speaker pairs allows. Use it where false accepts are the costlier error."""
    if not scores.same.size:
        raise ValueError("no same-speaker pairs to calibrate on")
    scale = 10**decimals
    # Whole grid steps, so no float drift: start where nothing is rejected, climb while allowed.
    step = int(np.floor(float(scores.same.min()) * scale))
    while rates_at(scores, (step + 1) / scale).frr <= max_frr:
        step += 1
    return step / scale
