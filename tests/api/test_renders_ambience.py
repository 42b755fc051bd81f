"""A dialogue rendered with a bed under it: the bed fills the gaps, ducks under the speech, and
the mix still meets the loudness target; the same script without one is silent between lines."""

from __future__ import annotations

import httpx
import numpy as np
import pyloudnorm

from tests.api.renders_helpers import render, wav_samples, written_script
from tests.api.scripts_helpers import behaviour, server, with_llm
from tests.llm.chat_server import Behaviour
from voxhub.container import Container

__all__ = ["behaviour", "server", "with_llm"]  # fixtures
LINES = ("The lamp is lit tonight.", "Then the ships are safe.", "Keep the fire burning.")


def rms_db(x: np.ndarray) -> float:
    return float(20 * np.log10(np.sqrt(np.mean(x.astype(np.float64) ** 2)) + 1e-12))


async def test_a_bed_fills_the_gaps_and_ducks_under_the_lines(
    with_llm: Container, client: httpx.AsyncClient, behaviour: Behaviour
) -> None:
    script, _, _ = await written_script(client, behaviour, *LINES)
    dry = await render(client, script["id"], gap_ms=1500)
    # A script keeps its newest render: read this one before the next replaces it.
    dry_r = await client.get(dry["audio_url"])
    wet = await render(client, script["id"], gap_ms=1500, ambience={"bed": "rain", "duck_db": 12.0})
    assert wet["options"]["ambience"]["bed"] == "rain"
    # The same lines at the same places: the bed changes the sound, not the timeline.
    assert [(ln["start"], ln["end"]) for ln in wet["lines"]] == [
        (ln["start"], ln["end"]) for ln in dry["lines"]
    ]
    wet_r = await client.get(wet["audio_url"])
    assert dry_r.status_code == wet_r.status_code == 200, (dry_r.text[:200], wet_r.text[:200])
    dry_x, rate = wav_samples(dry_r.content)
    wet_x, wet_rate = wav_samples(wet_r.content)
    assert wet_rate == rate and len(wet_x) == len(dry_x)

    def span(x: np.ndarray, start: float, end: float) -> np.ndarray:
        return x[int(start * rate) : int(end * rate)]

    first, second = wet["lines"][0], wet["lines"][1]
    # The middle of the 1.5 s gap, clear of the release and the next line's attack.
    gap = (first["end"] + 0.5, second["start"] - 0.5)
    assert rms_db(span(dry_x, *gap)) < -80  # nothing between the lines without a bed
    bed_in_gap = rms_db(span(wet_x, *gap))
    assert bed_in_gap > -50  # the rain is there
    # Under a line the bed is ducked: what the bed adds there (wet minus dry, both levelled to
    # the same target) is quieter than the bed alone in the gap.
    line = (second["start"] + 0.1, second["end"] - 0.1)
    gain = 10 ** ((rms_db(span(wet_x, *line)) - rms_db(span(dry_x, *line))) / 20)
    added_under_speech = rms_db(span(wet_x, *line) - gain * span(dry_x, *line))
    assert added_under_speech < bed_in_gap - 6
    lufs = pyloudnorm.Meter(rate).integrated_loudness(wet_x.astype(np.float64))
    assert abs(lufs - with_llm.settings.renders.render_target_lufs) < 1.0
    assert wet["loudness_lufs"] is not None and abs(wet["loudness_lufs"] - lufs) < 0.5
