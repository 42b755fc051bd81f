"""A dialogue rendered through the real app by the embedded Kokoro engine (the other render
tests use the fake one): real speech in each line's span, the engine's word times carried into
the captions inside those spans, and the mix at the loudness target."""

from __future__ import annotations

import re
from itertools import pairwise

import httpx
import numpy as np
import pyloudnorm
import pytest

from tests.api.embedded_helpers import container
from tests.api.renders_helpers import render, wav_samples, written_script
from tests.api.scripts_helpers import behaviour, server, with_llm
from tests.llm.chat_server import Behaviour
from tests.media import tags_of
from voxhub.container import Container

__all__ = ["behaviour", "container", "server", "with_llm"]  # fixtures
LINES = (
    "The lamp is lit tonight.",
    "Then the ships will find the harbour.",
    "Keep the fire burning until dawn.",
)
GAP_S = 0.8


def seconds(stamp: str) -> float:
    h, m, s = stamp.replace(",", ".").split(":")
    return int(h) * 3600 + int(m) * 60 + float(s)


def rms_db(x: np.ndarray) -> float:
    return float(20 * np.log10(np.sqrt(np.mean(x.astype(np.float64) ** 2)) + 1e-12))


@pytest.mark.timeout(300)
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_the_embedded_engine_renders_a_dialogue_with_timed_captions(
    with_llm: Container, client: httpx.AsyncClient, behaviour: Behaviour
) -> None:
    script, _, _ = await written_script(client, behaviour, *LINES)
    out = await render(client, script["id"], gap_ms=int(GAP_S * 1000))
    audio = await client.get(out["audio_url"])
    samples, rate = wav_samples(audio.content)
    # The mix carries the watermark (marked once, after mixing and levelling), says so in
    # its headers and tags, and so does a line's take, which is marked as it is downloaded.
    assert audio.headers["x-voxhub-generated"] == "true"
    assert audio.headers["x-voxhub-generation-id"] == out["id"]
    assert f"voxhub_generation_id={out['id']}" in tags_of(audio.content)["comment"]
    assert with_llm.watermarker.detect(samples, rate) >= 0.5
    line = await client.get(f"/api/v1/renders/{out['id']}/lines/1/audio")
    assert line.status_code == 200 and line.headers["x-voxhub-generated"] == "true"
    assert with_llm.watermarker.detect(*wav_samples(line.content)) >= 0.5
    found = await client.post("/api/v1/detect", files={"file": ("line.wav", line.content)})
    assert found.json()["verdict"] == "generated_by_this_instance"
    assert found.json()["kind"] == "take"
    assert abs(len(samples) / rate - out["duration_s"]) < 0.01
    lines = out["lines"]
    for line in lines:
        assert rms_db(samples[int(line["start"] * rate) : int(line["end"] * rate)]) > -35
    for a, b in pairwise(lines):
        assert abs(b["start"] - a["end"] - GAP_S) < 0.002
        quiet = samples[int((a["end"] + 0.2) * rate) : int((b["start"] - 0.2) * rate)]
        assert rms_db(quiet) < -50  # the gap between speakers is silence

    srt = (await client.get(out["captions_srt_url"])).text
    cues = re.findall(r"(\S+) --> (\S+)\n(.+?)(?:\n\n|\n?$)", srt, flags=re.S)
    assert cues
    words_said = [w.strip(".,").lower() for text in LINES for w in text.split()]
    captioned = [w.strip(".,").lower() for *_, text in cues for w in text.split()]
    assert captioned == words_said  # every word, once, in order
    for start, end, text in cues:
        t0, t1 = seconds(start), seconds(end)
        # Each cue sits inside the span of the line that says it.
        owner = next(ln for ln in lines if ln["start"] - 0.05 <= t0 < ln["end"])
        assert t1 <= owner["end"] + 0.05, (text, t0, t1, owner)
    lufs = pyloudnorm.Meter(rate).integrated_loudness(samples.astype(np.float64))
    assert abs(lufs - with_llm.settings.renders.render_target_lufs) < 1.0
