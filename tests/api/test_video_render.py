"""Seed 001's videos end to end (fake engine, loopback model, both databases): a three-line
script of two characters to an MP4 decoded back with PyAV, its job in the seed's shapes, the
token it costs, backgrounds, and deletion of everything it made."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import av
import httpx
import numpy as np
import pyloudnorm
import pytest

from tests.api.conftest import Account
from tests.api.renders_helpers import written_script
from tests.api.scripts_helpers import behaviour, server, with_llm
from tests.llm.chat_server import Behaviour
from tests.video.clips import decoded_frames, make_clip, top_level_boxes
from voxhub.container import Container
from voxhub.credits import ledger
from voxhub.credits.service import balance_of
from voxhub.video.layers import Layout

__all__ = ["behaviour", "server", "with_llm"]  # fixtures
LINES = ("The lamp is lit tonight.", "Then the ships are safe.", "Keep the fire burning.")
STEPS = ["audio_validation", "audio_generation", "captioning", "video_generation", "finalizing"]


@pytest.fixture(autouse=True)
def polling_allowed(with_llm: Container) -> None:
    """These tests poll a render for seconds, a few times a second: more than the default 60
    requests a minute on a busy machine (rate limits are tested elsewhere)."""
    with_llm.limiter.per_minute["default"] = 1000


async def video_job(client: httpx.AsyncClient, job_id: str) -> dict:
    """The job once it ends, polled 4 times a second for up to 2 minutes. Every poll counts
    against the caller's 60 requests a minute: faster polling of a render slowed by a busy
    machine ran into 429 (as a client polling that fast should)."""
    for _ in range(480):
        r = await client.get(f"/api/video-jobs/{job_id}")
        assert r.status_code == 200, r.text
        job = r.json()
        if job["status"] in ("completed", "failed", "cancelled"):
            return job
        await asyncio.sleep(0.25)
    raise AssertionError(job)


def seconds(stamp: str) -> float:
    h, m, s, ms = map(int, re.split("[:,]", stamp))
    return h * 3600 + m * 60 + s + ms / 1000


def caption_whites(frame: np.ndarray) -> int:
    layout = Layout(1280, 720)
    box = frame[layout.bottom - 2 * layout.line_height : layout.bottom, layout.side : -layout.side]
    return int((box.min(axis=2) > 200).sum())


async def test_a_script_becomes_an_mp4_with_voices_captions_and_loudness(
    with_llm: Container, client: httpx.AsyncClient, behaviour: Behaviour, tmp_path: Path
) -> None:
    script, _, _ = await written_script(client, behaviour, *LINES)
    sid = script["id"]
    first = script["lines"][0]["id"]
    r = await client.patch(f"/api/v1/scripts/{sid}/lines/{first}", json={"pause_ms": 1500})
    assert r.status_code == 200, r.text
    tokens = (await client.get("/api/my-scripts")).json()["userTokens"]

    r = await client.post(f"/api/scripts/{sid}/generate-video", json={})
    assert r.status_code == 200, r.text
    started = r.json()
    assert started["message"] == (
        f"Video generation started successfully! Job ID: {started['job']['jobId']}"
    )
    assert started["job"]["status"] == "queued" and started["job"]["totalSteps"] == 5
    job = await video_job(client, started["job"]["jobId"])
    assert job["status"] == "completed", job
    assert [s["stepName"] for s in job["steps"]] == STEPS
    assert {s["status"] for s in job["steps"]} == {"completed"}
    assert job["completedSteps"] == 5 and job["overallProgress"] == 100.0
    path = job["finalVideoPath"]
    assert re.fullmatch(r"/api/videos/[0-9a-f-]{36}\.mp4", path)

    listed = (await client.get("/api/my-scripts")).json()
    assert listed["userTokens"] == tokens - 1  # 1 token per video, taken on success
    (mine,) = listed["scripts"]
    assert mine["videoJobId"] == job["jobId"] and mine["videoJobStatus"] == "completed"
    assert mine["finalVideoPath"] == path and mine["videoSize"] == job["videoSize"]
    assert mine["hasAudio"] and mine["audioCount"] == 3
    assert all(line["audioFile"].endswith("/audio") for line in mine["dialogue"])
    status = (await client.get(f"/api/scripts/{sid}/video-status")).json()
    assert (status["status"], status["stage"], status["finalVideoPath"]) == (
        "completed",
        "completed",
        path,
    )

    mp4 = await client.get(path)
    assert mp4.status_code == 200 and mp4.headers["content-type"] == "video/mp4"
    assert len(mp4.content) == job["videoSize"]
    boxes = top_level_boxes(mp4.content)
    assert boxes.index("moov") < boxes.index("mdat")  # faststart
    part = await client.get(path, headers={"Range": "bytes=100-199"})
    assert part.status_code == 206 and part.content == mp4.content[100:200]
    out = tmp_path / "got.mp4"
    out.write_bytes(mp4.content)
    with av.open(str(out)) as container:
        (video,) = container.streams.video
        (audio,) = container.streams.audio
        assert (video.codec_context.name, video.width, video.height) == ("h264", 1280, 720)
        assert audio.codec_context.name == "aac"
        assert abs(container.duration / av.time_base - job["videoDuration"]) < 0.15
        pcm = np.concatenate([f.to_ndarray().reshape(-1) for f in container.decode(audio=0)])
        rate = audio.sample_rate
    lufs = pyloudnorm.Meter(rate).integrated_loudness(pcm.astype(np.float64))
    assert abs(lufs - -16.0) < 1.0, lufs

    render_id = path.rsplit("/", 1)[1].removesuffix(".mp4")
    srt = (await client.get(f"/api/v1/renders/{render_id}/captions.srt")).text
    cues = re.findall(r"(\S+) --> (\S+)", srt)
    frames = decoded_frames(out)
    fps = len(frames) / job["videoDuration"]
    during = frames[int((seconds(cues[0][0]) + seconds(cues[0][1])) / 2 * fps)]
    gap = frames[int((seconds(cues[0][1]) + 0.7) * fps)]  # the 1.5 s pause after line 0
    assert caption_whites(during) > 200 and caption_whites(gap) == 0

    kinds = [a["type"] for a in (await client.get("/api/my-activities")).json()["activities"]]
    assert kinds[:2] == ["video_generation_completed", "video_generation_started"]

    files = (await client.delete(f"/api/scripts/{sid}")).json()
    # 3 takes, the mix and the MP4
    assert files["deletedCount"] == 5 == len(files["deletedMediaFiles"])
    assert f"scripts/{sid}/renders/{render_id}.mp4" in files["deletedMediaFiles"]
    assert await with_llm.blobs.list(f"scripts/{sid}/") == []
    assert (await client.get(path)).status_code == 404


async def test_a_video_over_an_uploaded_background_and_the_refusals(
    with_llm: Container,
    client: httpx.AsyncClient,
    behaviour: Behaviour,
    user_a: Account,
    tmp_path: Path,
) -> None:
    script, _, _ = await written_script(client, behaviour, *LINES[:2])
    clip = make_clip(tmp_path / "bg.mp4", seconds=1.0, size=(640, 360)).read_bytes()
    r = await client.post(
        "/api/v1/backgrounds", files={"file": ("background_005.mp4", clip, "video/mp4")}
    )
    assert r.status_code == 201, r.text
    assert (r.json()["name"], r.json()["width"], r.json()["height"]) == (
        "background_005.mp4",
        640,
        360,
    )
    again = await client.post("/api/v1/backgrounds", files={"file": ("background_005.mp4", clip)})
    assert (again.status_code, again.json()["code"]) == (409, "background_name_taken")
    wav = await client.post("/api/v1/backgrounds", files={"file": ("a.mp4", b"RIFF" + b"\0" * 64)})
    assert wav.status_code == 415, wav.text

    url = f"/api/scripts/{script['id']}/generate-video"
    missing = await client.post(url, json={"backgroundVideo": "nope.mp4"})
    assert (missing.status_code, missing.json()["code"]) == (404, "background_not_found")
    r = await client.post(url, json={"backgroundVideo": "background_005.mp4"})
    assert r.status_code == 200, r.text
    job = await video_job(client, r.json()["job"]["jobId"])
    assert job["status"] == "completed", job
    assert (job["videoDuration"] or 0) > 1.0, (
        job
    )  # the one-second clip looped under a longer dialogue

    async with with_llm.sessions() as session:
        left = await balance_of(session, user_a.id)
        await ledger.grant(session, user_a.id, -left, "test: spend it all")
        await session.commit()
    short = await client.post(url, json={})
    assert (short.status_code, short.json()["code"]) == (400, "insufficient_credits")
    jobs = (await client.get("/api/v1/jobs", params={"kind": "script.render"})).json()["items"]
    assert len(jobs) == 1  # the refused one queued nothing
