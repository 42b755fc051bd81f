"""Pair scores and error rates behind the spoken-consent thresholds.

The speaker check compares the consent recording with the reference, both embedded by
voxhub's own encoder after `prepare_reference`, as a real upload is. Here the same is done for
pairs of real recordings: two utterances of one speaker (should pass) and of two speakers
(should be refused). The word check is calibrated on recordings read against their own
transcript (should pass) and against another recording's (should be refused).

The speaker pairs are scored by `speaker_calibration`, as for the no-go list; what is consent's
own is here: how its recordings are halved, its rule for choosing a threshold, and the words.

Run `python -m bench.consent_calibration` for every figure the README gives.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from voxhub.audio.recognizer import Recognizer
from voxhub.audio.speaker import SpeakerEncoder
from voxhub.safety import speaker_calibration as speakers
from voxhub.safety.challenges import phrase_text
from voxhub.safety.consent_words import normalise_words, word_error_rate
from voxhub.safety.phrases import SENTENCES
from voxhub.settings import LimitSettings

# Each half of a split utterance keeps at least this much speech, the consent phrase's length.
MIN_HALF_SPEECH_S = 3.0
# A consent recording is one upload read whole: its parts are cut at a pause, not re-prepared.
CONSENT_HALVES = speakers.Halving(
    at_a_pause=True, min_part_speech_s=MIN_HALF_SPEECH_S, parts_are_uploads=False
)


def choose_threshold(
    scores: speakers.PairScores, *, accept_at_most: bool = False, decimals: int = 2
) -> float:
    """Consent's rule, for both checks: the threshold (on a grid of `decimals`) with the fewest
    errors, FAR + FRR; among equals, the one in the middle of the run, so the scores nearest it
    on both sides are furthest off. False accepts weigh as much as false rejects here: a refused
    owner can record again, but the rates are reported, so an operator can see what the choice
    costs. `accept_at_most` as in `speaker_calibration.rates_at` (the word error rate)."""
    every = np.concatenate([scores.same, scores.different])
    step = 10.0**-decimals
    # Python floats, so the grid holds the very numbers the constants in code are written as.
    lo = round(float(every.min()), decimals) - step
    hi = round(float(every.max()), decimals) + step
    grid = [round(lo + i * step, decimals) for i in range(round((hi - lo) / step) + 1)]
    costs = [(speakers.rates_at(scores, t, accept_at_most=accept_at_most), t) for t in grid]
    best = min(r.far + r.frr for r, _ in costs)
    tied = [t for r, t in costs if r.far + r.frr == best]
    # The longest run of consecutive tied grid points, then its middle.
    runs: list[list[float]] = []
    for t in tied:
        if runs and round(t - runs[-1][-1], decimals) == round(step, decimals):
            runs[-1].append(t)
        else:
            runs.append([t])
    widest = max(runs, key=len)
    return widest[(len(widest) - 1) // 2]


def phrase_impostor_wers(sentences: Sequence[str], phrase: Callable[[str], str]) -> np.ndarray:
    """Word error rates of a cheat who reads another everyday sentence, and the statement and
    code perfectly: every ordered pair of distinct sentences, as whole phrases. Text only (the
    best a cheat can do), so it bounds how high the threshold may go for the real phrases."""
    return np.array(
        [
            word_error_rate(phrase(a), phrase(b))
            for a in sentences
            for b in sentences
            if normalise_words(a) != normalise_words(b)
        ]
    )


def calibration_pairs(
    encoder: SpeakerEncoder, data: Path, limits: LimitSettings | None = None
) -> speakers.PairScores:
    """Cosines over every pair of speech/ + speech-more/ recordings: the data the speaker
    threshold is chosen on."""
    recordings = speakers.read_manifest(data / "speech") + speakers.read_manifest(
        data / "speech-more"
    )
    clips = speakers.embed_recordings(recordings, encoder, limits or LimitSettings())
    return speakers.pair_scores(clips)


def held_out_pairs(
    encoder: SpeakerEncoder, data: Path, limits: LimitSettings | None = None
) -> speakers.PairScores:
    """Cosines of speech-pool first parts against second parts (`CONSENT_HALVES`): speakers
    the threshold never saw. Two parts of one recording (same session, microphone and room)
    are an easier same-speaker case than two recordings."""
    recordings = speakers.read_manifest(data / "speech-pool")
    halves = speakers.embed_halves(recordings, encoder, limits or LimitSettings(), CONSENT_HALVES)
    return speakers.cross_pair_scores([a for a, _ in halves], [b for _, b in halves])


def word_pairs(
    recognizer: Recognizer, data: Path, limits: LimitSettings | None = None
) -> speakers.PairScores:
    """Word error rates of the speech/ recordings with a transcript, transcribed after the same
    cleaning as a consent recording: against their own text (`same`) and another (`different`)."""
    recordings = [r for r in speakers.read_manifest(data / "speech") if r.transcript]
    heard = {}
    for recording in recordings:
        audio = speakers.prepared(recording.path.read_bytes(), limits or LimitSettings())
        if audio is not None:
            heard[recording.path.name] = recognizer.transcribe(audio.samples, audio.sample_rate)
    # Three VCTK speakers read one sentence and two another: each distinct text counts once.
    texts = {tuple(normalise_words(r.transcript)): r.transcript for r in recordings}
    own: list[float] = []
    other: list[float] = []
    for recording in recordings:
        if recording.path.name not in heard:
            continue
        mine = tuple(normalise_words(recording.transcript))
        for words, text in texts.items():
            wer = word_error_rate(text, heard[recording.path.name])
            (own if words == mine else other).append(wer)
    return speakers.PairScores(np.array(own), np.array(other))


def phrase_cheats() -> np.ndarray:
    """`phrase_impostor_wers` over the challenge sentences, as the phrases are built."""
    return phrase_impostor_wers(SENTENCES, lambda s: phrase_text(s, "voxhub", "4271"))


def with_cheats(words: speakers.PairScores, cheats: np.ndarray) -> speakers.PairScores:
    """The word pairs with the phrase cheats among the ones to refuse: the word threshold is
    chosen on both."""
    return speakers.PairScores(words.same, np.concatenate([words.different, cheats]))
