"""Quality and speed evaluation of voice cloning: similarity, intelligibility, MOS, timings.

`python -m voxhub.evaluation` runs the benchmark over the shared speech samples;
`evaluate_voice` scores one stored voice (for `voxhub voices eval`).
"""

from voxhub.evaluation.voice import (
    TEST_SENTENCES,
    Meters,
    VoiceEvaluation,
    evaluate_voice,
    make_meters,
)

__all__ = ["TEST_SENTENCES", "Meters", "VoiceEvaluation", "evaluate_voice", "make_meters"]
