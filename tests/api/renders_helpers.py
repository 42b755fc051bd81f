"""Shared pieces of the render tests: a written script, waiting for a job, decoding audio."""

from __future__ import annotations

import asyncio
import io
import wave
from typing import Any

import httpx
import numpy as np

from tests.api.scripts_helpers import answer, cast
from tests.llm.chat_server import Behaviour


async def written_script(
    client: httpx.AsyncClient, behaviour: Behaviour, *texts: str
) -> tuple[dict, dict, dict]:
    """A script of `texts` said in turn by Mara and Jon, as the loopback model writes it."""
    mara, jon = await cast(client)
    behaviour.reply = answer(*[(("Mara", "Jon")[i % 2], t) for i, t in enumerate(texts)])
    body = {"character_ids": [mara["id"], jon["id"]], "prompt": "Night at the lighthouse."}
    r = await client.post("/api/v1/scripts", json=body)
    assert r.status_code == 201, r.text
    assert [ln["text"] for ln in r.json()["lines"]] == list(texts)
    return r.json(), mara, jon


async def finished(client: httpx.AsyncClient, job_id: str, timeout: float = 60.0) -> dict[str, Any]:
    """The job once it reached a final state."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        job = (await client.get(f"/api/v1/jobs/{job_id}")).json()
        if job["status"] in ("succeeded", "failed", "cancelled", "dead"):
            return job
        assert loop.time() < deadline, job
        await asyncio.sleep(0.05)


async def render(client: httpx.AsyncClient, script_id: str, **body: Any) -> dict[str, Any]:
    """Render the script and wait; the render as read afterwards."""
    r = await client.post(f"/api/v1/scripts/{script_id}/renders", json=body)
    assert r.status_code == 202, r.text
    job = await finished(client, r.json()["job_id"])
    assert job["status"] == "succeeded", job
    return (await client.get(f"/api/v1/renders/{r.json()['id']}")).json()


def wav_samples(data: bytes) -> tuple[np.ndarray, int]:
    with wave.open(io.BytesIO(data)) as w:
        pcm = np.frombuffer(w.readframes(w.getnframes()), "<i2")
        return pcm.astype(np.float32) / 32768.0, w.getframerate()
