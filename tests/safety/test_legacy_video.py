"""A render's video made before outputs were marked leaves with a marked soundtrack: the
pictures copied packet for packet, the sound marked (real speech, Perth), and that copy stored
in place of the old one, so the next download, or range, is the same file at once."""

from __future__ import annotations

import io
from pathlib import Path

import av
import httpx
import numpy as np

from tests.api.conftest import client, container, fake_engine, user_a
from tests.api.renders_helpers import written_script
from tests.api.scripts_helpers import behaviour, server, with_llm
from tests.api.test_video_render import polling_allowed, video_job
from tests.conftest import SPEECH
from tests.llm.chat_server import Behaviour
from tests.safety.conftest import RATE, load_speech
from voxhub.container import Container
from voxhub.renders.models import ScriptRender
from voxhub.safety.watermark import DETECT_THRESHOLD
from voxhub.video.compose import Shot, VideoSpec, compose

# Fixtures (tests/api/conftest.py, scripts_helpers.py).
__all__ = [
    "behaviour",
    "client",
    "container",
    "fake_engine",
    "polling_allowed",
    "server",
    "user_a",
    "with_llm",
]

SMALL = VideoSpec(width=320, height=180, fps=10)


def soundtrack(data: bytes) -> tuple[np.ndarray, int]:
    with av.open(io.BytesIO(data), "r") as src:
        stream = src.streams.audio[0]
        parts = [f.to_ndarray().reshape(stream.channels, -1)[0] for f in src.decode(stream)]
        return np.concatenate(parts).astype(np.float32), stream.rate


def picture_packets(data: bytes) -> list[bytes]:
    with av.open(io.BytesIO(data), "r") as src:
        return [bytes(p) for p in src.demux(src.streams.video[0]) if p.size]


def old_video(tmp_path: Path) -> bytes:
    """A dialogue video as voxhub made them before marking: real speech, no mark, no tags."""
    speech = load_speech(SPEECH / "vctk_p225_003.wav", seconds=4.0)
    out = tmp_path / "old.mp4"
    compose(out, speech, RATE, [Shot(0.0, 4.0, None, "Ana")], [], background=None, spec=SMALL)
    return out.read_bytes()


async def test_an_old_video_leaves_marked_and_replaces_the_stored_one(
    with_llm: Container, client: httpx.AsyncClient, behaviour: Behaviour, tmp_path: Path
) -> None:
    c = with_llm
    script, _, _ = await written_script(
        client, behaviour, "The lamp is lit.", "The ships are safe."
    )
    r = await client.post(f"/api/scripts/{script['id']}/generate-video", json={})
    assert r.status_code == 200, r.text
    job = await video_job(client, r.json()["job"]["jobId"])
    assert job["status"] == "completed", job
    path = job["finalVideoPath"]
    render_id = path.rsplit("/", 1)[-1].removesuffix(".mp4")
    async with c.sessions() as s:
        render = await s.get(ScriptRender, render_id)
        assert render is not None and render.video_key
        stored_key = render.video_key
    # The stored video as an instance before marking kept it: never noted, no mark.
    legacy = old_video(tmp_path)
    await c.blobs.put(stored_key, legacy, "video/mp4")
    before, rate = soundtrack(legacy)
    assert c.watermarker.detect(before, rate) < DETECT_THRESHOLD

    first = await client.get(path)
    assert first.status_code == 200 and first.headers["x-voxhub-generated"] == "true"
    after, after_rate = soundtrack(first.content)
    assert after_rate == rate and abs(after.size - before.size) <= 2048  # AAC pads a frame
    assert c.watermarker.detect(after, after_rate) >= DETECT_THRESHOLD
    assert picture_packets(first.content) == picture_packets(legacy)
    with av.open(io.BytesIO(first.content), "r") as src:
        assert src.metadata["voxhub_generation_id"] == render_id

    # The marked copy is the stored video now; the old one is gone.
    async with c.sessions() as s:
        render = await s.get(ScriptRender, render_id)
        assert (
            render is not None
            and render.video_key == stored_key.removesuffix(".mp4") + ".marked.mp4"
        )
    assert await c.blobs.get(render.video_key) == first.content
    assert stored_key not in await c.blobs.list(stored_key.rsplit("/", 1)[0])
    # The next download, and a range of it, are that file; both faces say so.
    again = await client.get(f"/api/v1/renders/{render_id}/video")
    assert again.content == first.content
    ranged = await client.get(path, headers={"Range": "bytes=0-99"})
    assert ranged.status_code == 206 and ranged.content == first.content[:100]
    found = await client.post("/api/v1/detect", files={"file": ("v.mp4", first.content)})
    assert found.json()["verdict"] == "generated_by_this_instance", found.text
