"""Ambience bed render speed: seconds of bed made per second of CPU, per bed (printed, never
asserted: the machine is shared).

    python -m bench.ambience
"""

from __future__ import annotations

import json
import time

import numpy as np

from voxhub.ambience.beds import LIBRARY, render_bed
from voxhub.ambience.mixer import Bed, mix

SECONDS = 30.0
RATE = 24_000


def measure_ambience() -> dict[str, float]:
    """{bed: seconds of bed per CPU second} for a 30 s render at 24 kHz, and the same for a
    whole mix (a 60 s bed under 60 s of silence: render, loop, duck, limit)."""
    out: dict[str, float] = {}
    for name in LIBRARY:
        t0 = time.process_time()
        render_bed(name, SECONDS, RATE, seed=1)
        out[f"{name}_x_realtime"] = round(SECONDS / max(time.process_time() - t0, 1e-9), 1)
    t0 = time.process_time()
    mix(np.zeros(int(2 * SECONDS * RATE), np.float32), RATE, Bed("cafe"))
    out["mix_60s_cafe_x_realtime"] = round(2 * SECONDS / max(time.process_time() - t0, 1e-9), 1)
    return out


if __name__ == "__main__":
    print(json.dumps(measure_ambience(), indent=2))
