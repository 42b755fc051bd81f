"""`python -m bench.consent_calibration`: the measurements behind the spoken-consent thresholds.

Speaker similarity: chosen on ../shared/data/speech + speech-more (every pair of recordings),
tested on speech-pool (60 speakers never used to choose it: each utterance split in two by its
speech, first parts against second parts). Word error rate: speech/ recordings with a known
transcript, transcribed by Whisper tiny.en, against their own text (should pass) and the
others' (should not), plus whole phrases with another everyday sentence read in place of the
right one (text only: a cheat who gets the statement and the code right).

Prints JSON: the thresholds the data choose, the ones in the code, and false accepts / false
rejects with their counts at the latter.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np

from voxhub.audio.recognizer import Recognizer
from voxhub.audio.speaker import SpeakerEncoder
from voxhub.safety import consent_calibration as cal
from voxhub.safety import speaker_calibration as speakers
from voxhub.safety.spoken_consent import SPEAKER_THRESHOLD, WER_THRESHOLD

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("VOXHUB_SHARED_DIR", REPO.parent / "shared")).resolve() / "data"


def _range(scores: np.ndarray) -> list[float]:
    return [round(float(scores.min()), 3), round(float(scores.max()), 3)]


def main() -> None:
    encoder, recognizer = SpeakerEncoder(threads=2), Recognizer(threads=2)
    calibration = cal.calibration_pairs(encoder, DATA)
    pool = cal.held_out_pairs(encoder, DATA)
    words = cal.word_pairs(recognizer, DATA)
    cheats = cal.phrase_cheats()
    out = {
        "speaker": {
            "chosen_on_calibration": cal.choose_threshold(calibration),
            "in_code": SPEAKER_THRESHOLD,
            "calibration": speakers.rates_at(calibration, SPEAKER_THRESHOLD).figures(),
            "held_out_pool_halves": speakers.rates_at(pool, SPEAKER_THRESHOLD).figures(),
            "calibration_same": _range(calibration.same),
            "calibration_different": _range(calibration.different),
            "pool_same": _range(pool.same),
            "pool_different": _range(pool.different),
        },
        "words": {
            "chosen": cal.choose_threshold(cal.with_cheats(words, cheats), accept_at_most=True),
            "in_code": WER_THRESHOLD,
            "real_other_text": _word_rates(words),
            "phrase_cheats": _word_rates(speakers.PairScores(words.same, cheats)),
            "own_text": _range(words.same),
            "other_text": _range(words.different),
            "phrase_cheats_range": _range(cheats),
        },
    }
    json.dump(out, sys.stdout, indent=2)
    print()


def _word_rates(scores: speakers.PairScores) -> dict[str, str | float]:
    return speakers.rates_at(scores, WER_THRESHOLD, accept_at_most=True).figures()


if __name__ == "__main__":
    main()
