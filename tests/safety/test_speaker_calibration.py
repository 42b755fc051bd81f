"""The no-go list's threshold comes from measurements: recomputed here on the calibration data
(../shared/data/speech + speech-more, prepared as references and embedded by voxhub's encoder),
it is the one the rule picks, and its error counts are the ones the README states.

The held-out figures (speech-pool, about two minutes) are `python -m bench.blocklist_calibration`.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from tests.conftest import REPO, SHARED
from voxhub.audio import clean
from voxhub.audio.decode import decode
from voxhub.audio.speaker import SpeakerEncoder
from voxhub.safety import speaker_calibration as cal
from voxhub.safety.blocklist import BLOCK_THRESHOLD
from voxhub.settings import LimitSettings

DATA = SHARED / "data"
# The README's row for the data the threshold was chosen on.
README_ROW = re.compile(
    r"^\| `speech` \+ `speech-more`.*?\| (\d+)/(\d+) .*?\| (\d+)/(\d+) ", re.MULTILINE
)


@pytest.fixture(scope="module")
def calibration_clips(speaker_encoder: SpeakerEncoder) -> list[cal.Clip]:
    """Embedded once for the module: preparing 60 recordings is most of the time here."""
    recordings = cal.read_manifest(DATA / "speech") + cal.read_manifest(DATA / "speech-more")
    return cal.embed_recordings(recordings, speaker_encoder, LimitSettings())


def test_the_threshold_is_the_rules_choice_and_the_readme_has_its_rates(
    calibration_clips: list[cal.Clip],
) -> None:
    scores = cal.pair_scores(calibration_clips)
    assert cal.highest_threshold_within(scores, max_frr=0.05) == BLOCK_THRESHOLD
    rates = cal.rates_at(scores, BLOCK_THRESHOLD)
    found = README_ROW.search((REPO / "README.md").read_text(encoding="utf-8"))
    assert found, "README: no 'Blocked voices' row for `speech` + `speech-more`"
    missed, same, false_blocks, different = map(int, found.groups())
    assert (rates.false_rejects, rates.same_pairs) == (missed, same)
    assert (rates.false_accepts, rates.different_pairs) == (false_blocks, different)


def test_pairs_are_every_unordered_pair_split_by_speaker() -> None:
    a, b = np.eye(2, dtype=np.float32)
    clips = [cal.Clip("x", "x1", a), cal.Clip("x", "x2", a), cal.Clip("y", "y1", b)]
    scores = cal.pair_scores(clips)
    assert scores.same.tolist() == [1.0]
    assert scores.different.tolist() == [0.0, 0.0]
    rates = cal.rates_at(scores, 0.5)
    assert (rates.false_rejects, rates.false_accepts) == (0, 0)
    assert cal.highest_threshold_within(scores, max_frr=0.0) == 1.0


def test_cross_pairs_are_each_first_against_each_second() -> None:
    a, b = np.eye(2, dtype=np.float32)
    firsts = [cal.Clip("x", "x#1", a), cal.Clip("y", "y#1", b)]
    seconds = [cal.Clip("x", "x#2", a), cal.Clip("y", "y#2", a)]
    scores = cal.cross_pair_scores(firsts, seconds)
    assert sorted(scores.same.tolist()) == [0.0, 1.0]
    assert sorted(scores.different.tolist()) == [0.0, 1.0]


def test_a_distance_is_accepted_at_or_below_the_threshold() -> None:
    scores = cal.PairScores(np.array([0.1, 0.3]), np.array([0.2, 0.5]))
    rates = cal.rates_at(scores, 0.2, accept_at_most=True)
    assert (rates.false_rejects, rates.false_accepts) == (1, 1)


def _speech_before_cut(samples: np.ndarray, cut: int) -> tuple[list[tuple[int, int]], int, int]:
    """The speech regions, and the speech before and after `cut`."""
    regions = clean.speech_regions(samples, cal.RATE)
    before = sum(max(0, min(e, cut) - s) for s, e in regions)
    return regions, before, sum(e - s for s, e in regions) - before


def test_an_utterance_splits_at_half_its_speech_not_half_its_length() -> None:
    path = DATA / "speech-pool" / "librispeech-trainclean100_103-1240-0000.flac"
    samples = decode(path.read_bytes(), LimitSettings(), cal.RATE).samples
    split = cal.split_by_speech(samples, cal.RATE)
    assert split is not None
    first, second = split
    assert np.array_equal(np.concatenate([first, second]), samples)
    _, before, after = _speech_before_cut(samples, len(first))
    assert abs(before - after) <= 2


def test_at_a_pause_the_cut_is_in_no_speech_and_leaves_enough_speech_each_side() -> None:
    splits = []
    for recording in cal.read_manifest(DATA / "speech-pool")[:4]:
        audio = cal.prepared(recording.path.read_bytes(), LimitSettings())
        assert audio is not None
        split = cal.split_by_speech(audio.samples, cal.RATE, at_a_pause=True, min_part_s=3.0)
        if split is not None:
            splits.append((audio.samples, split))
    assert splits
    for samples, (first, second) in splits:
        assert len(first) + len(second) == len(samples)
        regions, before, after = _speech_before_cut(samples, len(first))
        inside = [(s, e) for s, e in regions if s < len(first) < e]
        assert not inside or len(regions) == 1
        assert min(before, after) >= 3.0 * cal.RATE
