"""`python -m bench.blocklist_calibration`: the measurements behind the no-go list's threshold.

Chosen on ../shared/data/speech + speech-more (every pair of recordings, each prepared as a
reference and embedded by voxhub's encoder), by the rule in `voxhub.safety.blocklist`: the
highest threshold that misses at most 5 % of same-speaker pairs. Tested on speech-pool (60
speakers never used to choose it), each utterance split by its speech into two uploads: an
easier same-speaker pair than two recordings, and 60 same-corpus strangers.

Prints JSON: the threshold chosen and the one in code, then at that threshold missed blocks
(false rejects) and false blocks (false accepts) with their counts, for both parts, and how many
pool speakers a list of the other 59 would refuse. Takes about two minutes.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np

from voxhub.audio.speaker import SpeakerEncoder
from voxhub.safety import speaker_calibration as cal
from voxhub.safety.blocklist import BLOCK_THRESHOLD
from voxhub.settings import LimitSettings

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("VOXHUB_SHARED_DIR", REPO.parent / "shared")).resolve() / "data"
LIMITS = LimitSettings()
MAX_MISSED = 0.05


# The shared figures in the list's own words, missed blocks first.
LIST_WORDS = {
    "false_rejects": "missed_blocks",
    "frr": "missed_block_rate",
    "false_accepts": "false_blocks",
    "far": "false_block_rate",
}


def _rates(r: cal.Rates) -> dict[str, Any]:
    figures = r.figures()
    return {name: figures[key] for key, name in LIST_WORDS.items()}


def _range(x: np.ndarray) -> dict[str, float]:
    return {"min": round(float(x.min()), 4), "max": round(float(x.max()), 4)}


def refused_by_the_rest(clips: list[cal.Clip], threshold: float) -> int:
    """Speakers whose clip matches some other speaker's: a list holding the other speakers
    would refuse them."""
    emb = np.stack([c.embedding for c in clips])
    ids = np.array([c.speaker_id for c in clips])
    scores = emb @ emb.T
    scores[ids[:, None] == ids[None, :]] = -1.0
    return len({ids[i] for i in np.flatnonzero(scores.max(axis=1) >= threshold)})


def main() -> None:
    encoder = SpeakerEncoder(threads=2)
    recordings = cal.read_manifest(DATA / "speech") + cal.read_manifest(DATA / "speech-more")
    calibration = cal.embed_recordings(recordings, encoder, LIMITS)
    halves = cal.embed_halves(
        cal.read_manifest(DATA / "speech-pool"), encoder, LIMITS, cal.TWO_UPLOADS
    )
    # Every part against every other: each part is an upload of its own.
    pool = [part for pair in halves for part in pair]
    chosen_on = cal.pair_scores(calibration)
    held_out = cal.pair_scores(pool)
    out = {
        "chosen": cal.highest_threshold_within(chosen_on, MAX_MISSED),
        "in_code": BLOCK_THRESHOLD,
        "calibration": {
            "clips": len(calibration),
            "speakers": len({c.speaker_id for c in calibration}),
            **_rates(cal.rates_at(chosen_on, BLOCK_THRESHOLD)),
            "same": _range(chosen_on.same),
            "different": _range(chosen_on.different),
        },
        "held_out": {
            "clips": len(pool),
            "speakers": len({c.speaker_id for c in pool}),
            **_rates(cal.rates_at(held_out, BLOCK_THRESHOLD)),
            "same": _range(held_out.same),
            "different": _range(held_out.different),
            "speakers_refused_by_a_list_of_the_others": refused_by_the_rest(pool, BLOCK_THRESHOLD),
        },
    }
    json.dump(out, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
