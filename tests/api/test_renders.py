"""Dialogue audio renders through the real app (fake engine, loopback model, both databases):
the mix's layout, loudness and captions, the line cache, failures, cancelling, bad input."""

from __future__ import annotations

import re
from itertools import pairwise

import httpx
import numpy as np
import pyloudnorm
from scipy import signal

from tests.api.activities_helpers import logged
from tests.api.renders_helpers import finished, render, wav_samples, written_script
from tests.api.scripts_helpers import behaviour, server, with_llm
from tests.llm.chat_server import Behaviour
from voxhub.container import Container
from voxhub.core.errors import EngineFailure
from voxhub.engines.fake import FakeEngine

__all__ = ["behaviour", "server", "with_llm"]  # fixtures
LINES = ("The lamp is lit tonight.", "Then the ships are safe.", "Keep the fire burning.")


def true_peak(x: np.ndarray) -> float:
    return float(20 * np.log10(np.max(np.abs(signal.resample_poly(x.astype(np.float64), 4, 1)))))


async def balance(client: httpx.AsyncClient) -> int:
    return (await client.get("/api/v1/credits")).json()["balance"]


async def test_a_dialogue_renders_to_one_mix_with_line_files_captions_and_loudness(
    with_llm: Container, client: httpx.AsyncClient, behaviour: Behaviour
) -> None:
    script, mara, jon = await written_script(client, behaviour, *LINES)
    before = await balance(client)
    out = await render(client, script["id"])
    assert await balance(client) == before - 1  # 70 spoken characters: one started 1,000
    job = (await client.get(f"/api/v1/jobs/{out['job_id']}")).json()
    assert [s["name"] for s in job["steps"]] == [
        "audio_validation",
        "audio_generation",
        "captioning",
        "finalizing",
    ]
    assert {s["status"] for s in job["steps"]} == {"completed"}
    lines = out["lines"]
    assert [ln["line_id"] for ln in lines] == [ln["id"] for ln in script["lines"]]
    assert [ln["speaker"] for ln in lines] == [mara["id"], jon["id"], mara["id"]]
    for a, b in pairwise(lines):  # 250 ms apart: the default gap
        assert abs(b["start"] - a["end"] - 0.25) < 0.002, (a, b)

    mix = await client.get(out["audio_url"])
    assert mix.status_code == 200 and mix.headers["content-type"] == "audio/wav"
    samples, rate = wav_samples(mix.content)
    assert abs(len(samples) / rate - out["duration_s"]) < 0.002
    assert abs(out["duration_s"] - lines[-1]["end"]) < 0.002
    lufs = pyloudnorm.Meter(rate).integrated_loudness(samples.astype(np.float64))
    assert abs(lufs - -16.0) < 1.0 and abs(out["loudness_lufs"] - lufs) < 0.1
    assert true_peak(samples) <= -0.95 and out["true_peak_dbtp"] <= -1.0

    for ln in lines:  # each line's own file is as long as its place in the mix
        r = await client.get(ln["audio_url"])
        assert r.status_code == 200, r.text
        x, r_rate = wav_samples(r.content)
        assert abs(len(x) / r_rate - (ln["end"] - ln["start"])) < 0.002

    srt = (await client.get(out["captions_srt_url"])).text
    vtt = await client.get(out["captions_vtt_url"])
    assert vtt.headers["content-type"].startswith("text/vtt") and vtt.text.startswith("WEBVTT")
    said = re.findall(r"[A-Za-z]+", " ".join(LINES))
    cue_text = [ln for ln in srt.splitlines() if ln and not ln[0].isdigit()]
    assert re.findall(r"[A-Za-z]+", " ".join(cue_text)) == said
    stamps = re.findall(r"(\d\d):(\d\d):(\d\d),(\d\d\d) --> ", srt)
    starts = [int(h) * 3600 + int(m) * 60 + int(s) + int(ms) / 1000 for h, m, s, ms in stamps]
    assert starts == sorted(starts) and starts[0] < lines[0]["start"] + 0.3
    assert any(abs(s - lines[1]["start"]) < 0.01 for s in starts)  # a cue starts with line 1


async def test_editing_one_line_speaks_only_that_line_again(
    with_llm: Container,
    client: httpx.AsyncClient,
    behaviour: Behaviour,
    fake_engine: FakeEngine,
) -> None:
    script, _, _ = await written_script(client, behaviour, *LINES)
    first = await render(client, script["id"])
    assert fake_engine.calls == 3
    line = script["lines"][1]
    r = await client.patch(
        f"/api/v1/scripts/{script['id']}/lines/{line['id']}", json={"text": "Then sleep."}
    )
    assert r.status_code == 200, r.text
    second = await render(client, script["id"])
    assert fake_engine.calls == 4
    assert second["lines"][1]["end"] - second["lines"][1]["start"] < (
        first["lines"][1]["end"] - first["lines"][1]["start"]
    )
    # The render it replaced is gone, and its file with it.
    assert (await client.get(f"/api/v1/renders/{first['id']}")).status_code == 404
    assert not await with_llm.blobs.exists(f"scripts/{script['id']}/renders/{first['id']}.wav")
    listed = (await client.get(f"/api/v1/scripts/{script['id']}/renders")).json()
    assert [r["id"] for r in listed["items"]] == [second["id"]]


async def test_pauses_and_crossfades_place_the_lines(
    with_llm: Container, client: httpx.AsyncClient, behaviour: Behaviour
) -> None:
    script, _, jon = await written_script(client, behaviour, *LINES)
    sid, lines = script["id"], script["lines"]
    r = await client.patch(
        f"/api/v1/characters/{jon['id']}", json={"config": {"cross_fade_duration": 0.2}}
    )
    assert r.status_code == 200 and r.json()["config"]["cross_fade_duration"] == 0.2, r.text
    await client.patch(f"/api/v1/scripts/{sid}/lines/{lines[0]['id']}", json={"pause_ms": 0})
    await client.patch(f"/api/v1/scripts/{sid}/lines/{lines[1]['id']}", json={"pause_ms": 1200})
    out = await render(client, sid, format="mp3")
    a, b, c = out["lines"]
    assert abs((a["end"] - b["start"]) - 0.2) < 0.002  # Jon crossfades in over 0.2 s
    assert abs((c["start"] - b["end"]) - 1.2) < 0.002
    r = await client.get(out["audio_url"], headers={"Range": "bytes=0-99"})
    assert r.status_code == 206 and len(r.content) == 100
    assert r.headers["content-type"] == "audio/mpeg"


class FailingEngine(FakeEngine):
    """The fake engine failing on lines that mention the kraken (`times` times each)."""

    def __init__(self, times: int) -> None:
        super().__init__(chunk_delay=0.0)
        self.times = times
        self.failed = 0

    async def synthesize(self, text, voice, params):  # type: ignore[no-untyped-def, override]
        if "kraken" in text.lower() and self.failed < self.times:
            self.failed += 1
            raise EngineFailure("the engine choked")
        async for chunk in super().synthesize(text, voice, params):
            yield chunk


async def test_a_line_the_engine_fails_on_is_tried_again_then_fails_the_job_by_index(
    with_llm: Container, client: httpx.AsyncClient, behaviour: Behaviour
) -> None:
    script, _, _ = await written_script(client, behaviour, LINES[0], "The kraken wakes.", LINES[2])
    engine = FailingEngine(times=1)
    with_llm.engines._engines["fake"] = engine
    out = await render(client, script["id"])  # failed once, then spoke on the second try
    assert engine.failed == 1 and len(out["lines"]) == 3

    engine.times, engine.failed = 10, 0
    await client.patch(
        f"/api/v1/scripts/{script['id']}/lines/{script['lines'][1]['id']}",
        json={"text": "The kraken rises."},
    )
    before = await balance(client)
    r = await client.post(f"/api/v1/scripts/{script['id']}/renders", json={})
    assert r.status_code == 202
    assert await balance(client) == before - 1  # held while it runs
    job = await finished(client, r.json()["job_id"])
    assert job["status"] == "failed" and engine.failed == 2
    assert job["error"]["code"] == "line_render_failed"
    assert job["error"]["details"] == {"index": 1, "line_id": script["lines"][1]["id"]}
    assert await balance(client) == before  # the hold went back
    # The line tried again in the first render failed nothing; the job that failed, once.
    failures = [a for a in await logged(client) if a["type"].endswith("_failed")]
    assert [(a["type"], a["job_id"], a["details"]) for a in failures] == [
        ("dialogue_render_failed", job["id"], {"outcome": "failed", "error": "line_render_failed"})
    ]
    kept = await with_llm.blobs.list(f"scripts/{script['id']}/renders/")
    assert kept == [f"scripts/{script['id']}/renders/{out['id']}.wav"]  # nothing half-written


async def test_cancelling_a_render_stops_it_and_gives_the_credits_back(
    with_llm: Container,
    client: httpx.AsyncClient,
    behaviour: Behaviour,
    fake_engine: FakeEngine,
) -> None:
    script, _, _ = await written_script(client, behaviour, *LINES, *LINES)
    fake_engine.chunk_delay = 0.3
    before = await balance(client)
    r = await client.post(f"/api/v1/scripts/{script['id']}/renders", json={})
    job_id = r.json()["job_id"]
    while (await client.get(f"/api/v1/jobs/{job_id}")).json()["status"] != "running":
        pass
    r = await client.post(f"/api/v1/jobs/{job_id}/cancel")
    assert r.status_code == 202, r.text
    job = await finished(client, job_id)
    assert job["status"] == "cancelled"
    assert fake_engine.calls < 6  # it stopped before the last lines
    assert await balance(client) == before
    ended = [a for a in await logged(client) if a["job_id"] == job_id]
    assert [(a["type"], a["details"].get("outcome")) for a in ended] == [
        ("dialogue_render_started", None),
        ("dialogue_render_failed", "cancelled"),
    ]
    assert await with_llm.blobs.list(f"scripts/{script['id']}/renders/") == []


async def test_bad_render_requests_are_refused_naming_what_is_wrong(
    with_llm: Container,
    client: httpx.AsyncClient,
    client_b: httpx.AsyncClient,
    behaviour: Behaviour,
) -> None:
    script, _, jon = await written_script(client, behaviour, *LINES)
    url = f"/api/v1/scripts/{script['id']}/renders"
    assert (await client_b.post(url, json={})).status_code == 404  # not theirs
    cases = [
        ({"background": "beach.mp4"}, 422, "validation_error"),  # a background without video
        ({"kind": "video", "background": "beach.mp4"}, 404, "background_not_found"),
        ({"ambience": {"bed": "lava"}}, 422, "validation_error"),
        ({"gap_ms": -1}, 422, "validation_error"),
        ({"format": "aiff"}, 422, "validation_error"),
    ]
    for body, status, code in cases:
        r = await client.post(url, json=body)
        assert (r.status_code, r.json()["code"]) == (status, code), (body, r.text)
    r = await client.delete(f"/api/v1/voices/{jon['voice_id']}")
    assert r.status_code == 204, r.text
    r = await client.post(url, json={})
    assert r.status_code == 422, r.text
    problem = r.json()
    assert problem["code"] == "character_has_no_voice"
    assert (problem["index"], problem["line_id"]) == (0, script["lines"][0]["id"])
    jobs = (await client.get("/api/v1/jobs")).json()["items"]
    assert [j for j in jobs if j["kind"] == "script.render"] == []  # nothing was queued
