"""What the tables enrol and score against: the speech-more pairing and the pool halves."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from voxhub.audio import clean
from voxhub.audio.decode import decode
from voxhub.evaluation.protocols import first_n, more_pairing, parse_tables, pool_halves
from voxhub.evaluation.speakers import Recording, Speaker, load_manifest
from voxhub.settings import LimitSettings


def _speaker(*durations: float) -> Speaker:
    recs = tuple(Recording(f"s_{i}.flac", "s", "F", "", d) for i, d in enumerate(durations))
    return Speaker("s", "F", recs)


def test_more_enrols_on_the_longest_and_scores_against_each_other_once() -> None:
    pairing = more_pairing(_speaker(3.0, 9.5, 4.0, 9.5, 2.0))
    assert pairing.enrolment.file == "s_1.flac"  # the longest; the first of equals
    assert [r.file for r in pairing.targets] == ["s_0.flac", "s_2.flac", "s_3.flac", "s_4.flac"]


def test_more_pairing_on_the_shared_manifest(shared: Path) -> None:
    speakers = load_manifest(shared / "data" / "speech-more" / "MANIFEST.tsv")
    assert len(speakers) == 5
    for spk in speakers:
        pairing = more_pairing(spk)
        targets = [r.file for r in pairing.targets]
        assert pairing.enrolment.file not in targets
        assert len(targets) == len(set(targets)) == 7
        assert {pairing.enrolment.file, *targets} == {r.file for r in spk.recordings}
        assert all(r.speaker_id == spk.id for r in pairing.targets)


RATE = 1000  # one sample a millisecond: regions below read as milliseconds


def test_pool_halves_cut_at_the_pause_nearest_half_the_speech(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # 3 s, 4 s and 4 s of speech: half the speech (5.5 s) falls inside the second region, at
    # 6.5 s; the pause after it (speech before: 7 s) is nearer half than the first (3 s).
    regions = [(0, 3000), (4000, 8000), (9000, 13000)]
    monkeypatch.setattr(clean, "speech_regions", lambda _s, _r: regions)
    samples = np.arange(13000, dtype=np.float32)
    halves = pool_halves(samples, RATE)
    assert halves is not None and halves.at_vad_pause
    assert len(halves.first) == 8500  # the middle of the pause from 8 s to 9 s
    assert np.array_equal(np.concatenate([halves.first, halves.second]), samples)


def test_pool_halves_without_a_usable_pause_cut_at_the_quietest_moment_near_half(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The only pause leaves 1 s of speech before it (under an upload's 3 s), so the cut falls
    # back to half the speech (5.5 s of 11, at 6500) moved to the quietest frame within 0.5 s.
    monkeypatch.setattr(clean, "speech_regions", lambda _s, _r: [(0, 1000), (2000, 12000)])
    samples = np.ones(12000, np.float32)
    samples[6800:6820] = 0.0  # a 20 ms gap between two words
    samples[5800:5820] = 0.0  # another, too far from half to be chosen
    halves = pool_halves(samples, RATE)
    assert halves is not None and not halves.at_vad_pause
    assert len(halves.first) == 6810
    assert np.array_equal(np.concatenate([halves.first, halves.second]), samples)


def test_pool_halves_refuse_too_little_speech(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(clean, "speech_regions", lambda _s, _r: [(0, 2000), (3000, 6000)])
    assert pool_halves(np.ones(6000, np.float32), RATE) is None  # 5 s: under twice 3 s


@pytest.mark.slow
def test_pool_halves_of_a_real_utterance_cut_between_speech(shared: Path) -> None:
    pool = load_manifest(shared / "data" / "speech-pool" / "MANIFEST.tsv", min_recordings=1)
    assert len(pool) == 60 and all(len(s.recordings) == 1 for s in pool)
    rec = next(s for s in pool if s.id == "LibriSpeech-87").recordings[0]
    audio = decode(
        (shared / "data" / "speech-pool" / rec.file).read_bytes(), LimitSettings(), 16_000
    )
    halves = pool_halves(audio.samples, audio.sample_rate)
    assert halves is not None and halves.at_vad_pause
    cut = len(halves.first)
    assert np.array_equal(np.concatenate([halves.first, halves.second]), audio.samples)
    regions = clean.speech_regions(audio.samples, audio.sample_rate)
    assert not any(start < cut < end for start, end in regions)  # at a pause, not in a word
    for part in (halves.first, halves.second):
        speech = sum(e - s for s, e in clean.speech_regions(part, audio.sample_rate))
        assert speech >= 3.0 * audio.sample_rate * 0.9  # VAD at the edges moves a little


def test_tables_option_and_speaker_count() -> None:
    assert parse_tables("pool, more") == ("more", "pool")  # report order, not typed order
    with pytest.raises(ValueError):
        parse_tables("ten,eleven")
    speakers = [_speaker(1.0)] * 3
    assert len(first_n(speakers, 2)) == 2
    assert len(first_n(speakers, 0)) == len(first_n(speakers, 9)) == 3
