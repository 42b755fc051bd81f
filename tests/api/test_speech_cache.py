"""The identical-request cache: per principal, and exactly what a fresh request would return."""

from __future__ import annotations

import asyncio
import io
import wave

import httpx
import pytest
from sqlalchemy import event

from tests.api.conftest import create_voice
from voxhub.container import Container
from voxhub.engines.fake import FakeEngine

TEXT = "The quarterly numbers were excellent."


async def _public_voice(client: httpx.AsyncClient) -> str:
    vid = (await create_voice(client))["id"]
    r = await client.patch(f"/api/v1/voices/{vid}", json={"visibility": "public"})
    assert r.status_code == 200, r.text
    return vid


async def _history(client: httpx.AsyncClient) -> list[dict]:
    r = await client.get("/api/v1/generations")
    assert r.status_code == 200, r.text
    return r.json()["items"]


async def test_another_user_never_gets_my_generation(client, client_b) -> None:
    vid = await _public_voice(client)
    mine = await client.post("/api/v1/speech", json={"voice_id": vid, "text": TEXT})
    assert mine.status_code == 200 and mine.headers["x-voxhub-cache"] == "miss"
    theirs = await client_b.post("/api/v1/speech", json={"voice_id": vid, "text": TEXT})
    assert theirs.status_code == 200
    # Nothing tells B that A said exactly this: no hit, B's own generation id.
    assert theirs.headers["x-voxhub-cache"] == "miss"
    assert theirs.headers["x-voxhub-generation-id"] != mine.headers["x-voxhub-generation-id"]
    assert [g["id"] for g in await _history(client_b)] == [theirs.headers["x-voxhub-generation-id"]]
    assert [g["id"] for g in await _history(client)] == [mine.headers["x-voxhub-generation-id"]]
    # B's own repeat is B's hit.
    again = await client_b.post("/api/v1/speech", json={"voice_id": vid, "text": TEXT})
    assert again.headers["x-voxhub-cache"] == "hit"
    assert again.headers["x-voxhub-generation-id"] == theirs.headers["x-voxhub-generation-id"]


async def test_another_users_job_points_at_audio_they_can_open(
    client, client_b, container: Container
) -> None:
    vid = await _public_voice(client)
    assert (await client.post("/api/v1/speech", json={"voice_id": vid, "text": TEXT})).is_success
    queued = await client_b.post(
        "/api/v1/speech", json={"voice_id": vid, "text": TEXT, "async": True}
    )
    assert queued.status_code == 202, queued.text
    async with asyncio.timeout(60):
        await container.jobs.wait_idle()
    job = (await client_b.get(f"/api/v1/jobs/{queued.json()['id']}")).json()
    assert job["status"] == "succeeded", job
    audio = await client_b.get(job["result"]["audio_url"])
    assert audio.status_code == 200 and audio.content[:4] == b"RIFF"
    assert [g["id"] for g in await _history(client_b)] == [job["result"]["generation_id"]]
    assert len(await _history(client)) == 1


def _wav_frames(data: bytes) -> int:
    with wave.open(io.BytesIO(data)) as w:
        return w.getnframes()


async def test_a_streamed_wav_is_never_served_as_a_whole_file(client) -> None:
    vid = (await create_voice(client))["id"]
    body = {"voice_id": vid, "text": TEXT, "format": "wav"}
    streamed = await client.post("/api/v1/speech", json=body | {"stream": True})
    assert streamed.status_code == 200
    whole = await client.post("/api/v1/speech", json=body)
    assert whole.headers["x-voxhub-cache"] == "miss"
    # A whole WAV's header counts its frames exactly: what a fresh request gets.
    header_size = int.from_bytes(whole.content[40:44], "little")
    assert int.from_bytes(whole.content[4:8], "little") == len(whole.content) - 8
    # The samples, then the tags' LIST chunk to the end of the file.
    assert whole.content[44 + header_size : 48 + header_size] == b"LIST"
    assert _wav_frames(whole.content) * 2 == header_size
    repeat = await client.post("/api/v1/speech", json=body)
    assert repeat.headers["x-voxhub-cache"] == "hit" and repeat.content == whole.content
    restreamed = await client.post("/api/v1/speech", json=body | {"stream": True})
    assert restreamed.headers["x-voxhub-cache"] == "hit"
    assert restreamed.content == streamed.content


@pytest.fixture
def connections_in_use(container: Container) -> list[int]:
    """How many database connections are checked out, updated as they come and go."""
    live = [0]
    pool = container.db.sync_engine.pool
    event.listen(pool, "checkout", lambda *_: live.__setitem__(0, live[0] + 1))
    event.listen(pool, "checkin", lambda *_: live.__setitem__(0, live[0] - 1))
    return live


@pytest.mark.parametrize("mode", ["sync", "job"])
async def test_no_connection_is_held_while_the_engine_speaks(
    client, container: Container, fake_engine: FakeEngine, connections_in_use, mode: str
) -> None:
    vid = (await create_voice(client))["id"]
    fake_engine.chunk_delay = 0.3
    body = {"voice_id": vid, "text": "One sentence here. Another one there. And a third."}
    seen: list[int] = []
    speaking = asyncio.Event()
    original = fake_engine.synthesize

    def watched(text, profile, params):
        async def run():
            async for chunk in original(text, profile, params):
                speaking.set()
                seen.append(connections_in_use[0])
                yield chunk

        return run()

    fake_engine.synthesize = watched  # type: ignore[method-assign]
    if mode == "sync":
        r = await client.post("/api/v1/speech", json=body)
        assert r.status_code == 200, r.text
    else:
        r = await client.post("/api/v1/speech", json=body | {"async": True})
        assert r.status_code == 202, r.text
        async with asyncio.timeout(60):
            await container.jobs.wait_idle()
    assert speaking.is_set() and len(seen) == 3
    assert seen == [0, 0, 0]


async def test_a_large_speech_body_is_parsed_off_the_loop(client, monkeypatch) -> None:
    import threading

    from voxhub.compat import seed004_body

    loop_thread = threading.get_ident()
    parsed_in: list[int] = []
    original = seed004_body._parse

    def parse(body: bytes):
        parsed_in.append(threading.get_ident())
        return original(body)

    monkeypatch.setattr(seed004_body, "_parse", parse)
    vid = (await create_voice(client))["id"]
    text = "Words to say. " * 6000  # about 84 kB of JSON, a job's worth
    r = await client.post("/api/v1/speech", json={"voice_id": vid, "text": text, "async": True})
    assert r.status_code == 202, r.text
    assert parsed_in and loop_thread not in parsed_in
