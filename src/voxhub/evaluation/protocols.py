"""What each table enrols and what it scores the clone against (the pure part of the tables).

- "ten": speech/'s ten speakers, enrolled on one recording, scored against the other
  (`harness`); the settings were chosen on these, so its figures flatter the engine.
- "more": speech-more/'s five speakers, eight recordings each: enrolled on the longest (the
  most speech, as a user would upload), scored against each of the other seven.
- "pool": speech-pool/'s sixty speakers, one utterance each, cut in two at the pause nearest
  half its speech (`pool_halves`): enrolled on the first part, scored against the second.
  Same session and microphone, so easier than "more"; the two are reported side by side.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from voxhub.evaluation.speakers import Recording, Speaker
from voxhub.safety.speaker_calibration import Halving, split_by_speech

TABLES = ("ten", "more", "pool")
# Each part is an upload of its own, so each must hold the speech an upload needs (the
# service's min_speech_seconds); a pool utterance holds 8-15 s, so all of them split.
POOL_HALVES = Halving(at_a_pause=True, min_part_speech_s=3.0, parts_are_uploads=True)


@dataclass(frozen=True)
class Pairing:
    """One speaker's enrolment and the recordings the clone is compared with."""

    speaker: Speaker
    enrolment: Recording
    targets: tuple[Recording, ...]


def more_pairing(speaker: Speaker) -> Pairing:
    """Enrol on the longest recording (the first of equals), score against each other one."""
    enrolment = max(speaker.recordings, key=lambda r: r.duration_s)
    targets = tuple(r for r in speaker.recordings if r.file != enrolment.file)
    return Pairing(speaker, enrolment, targets)


@dataclass(frozen=True)
class Halves:
    """An utterance's two parts; `at_vad_pause` False where the cut is the fallback's."""

    first: np.ndarray
    second: np.ndarray
    at_vad_pause: bool


def pool_halves(samples: np.ndarray, sample_rate: int) -> Halves | None:
    """An utterance's two parts, cut at the pause nearest half its speech (`POOL_HALVES`).

    Where no pause the VAD keeps leaves enough speech on both sides (9 of the 60 pool readers
    run their sentences together), the cut is the quietest moment within `NEAR_HALF_S` of half
    the speech: a gap between words rather than the middle of one. None when a part would hold
    too little speech to be an upload either way.
    """
    at_pause = split_by_speech(
        samples,
        sample_rate,
        at_a_pause=POOL_HALVES.at_a_pause,
        min_part_s=POOL_HALVES.min_part_speech_s,
    )
    if at_pause is not None:
        return Halves(*at_pause, at_vad_pause=True)
    at_half = split_by_speech(samples, sample_rate, min_part_s=POOL_HALVES.min_part_speech_s)
    if at_half is None:
        return None
    cut = quietest_near(samples, sample_rate, len(at_half[0]))
    return Halves(samples[:cut], samples[cut:], at_vad_pause=False)


NEAR_HALF_S = 0.5
FRAME_S = 0.02


def quietest_near(samples: np.ndarray, sample_rate: int, around: int) -> int:
    """The middle of the quietest `FRAME_S` frame within `NEAR_HALF_S` of sample `around`."""
    frame = max(1, round(FRAME_S * sample_rate))
    reach = round(NEAR_HALF_S * sample_rate)
    starts = range(max(0, around - reach), max(1, min(len(samples) - frame, around + reach)), frame)
    energy = [float(np.mean(np.square(samples[i : i + frame]))) for i in starts]
    return starts[int(np.argmin(energy))] + frame // 2


def parse_tables(text: str) -> tuple[str, ...]:
    """`--tables ten,more,pool` as a tuple in report order; unknown names are an error."""
    names = {t.strip() for t in text.split(",") if t.strip()}
    unknown = names - set(TABLES)
    if unknown or not names:
        raise ValueError(f"tables are {', '.join(TABLES)}; got {text!r}")
    return tuple(t for t in TABLES if t in names)


def first_n(speakers: Sequence[Speaker], n: int) -> list[Speaker]:
    """The first `n` speakers (all of them for 0 or more than there are)."""
    return list(speakers[:n]) if 0 < n < len(speakers) else list(speakers)
