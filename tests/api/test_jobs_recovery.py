"""A restarted process picks up the jobs a dead one left queued or running."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import select

from tests.api.conftest import counts, create_voice, make_settings
from voxhub.bootstrap import build_container, close_container
from voxhub.engines.fake import FakeEngine
from voxhub.engines.registry import EngineRegistry
from voxhub.jobs.models import Job, JobStatus


async def test_restart_picks_up_queued_and_running_jobs(
    client, container, tmp_path: Path, database_url: str, speaker_encoder, user_a
) -> None:
    v = await create_voice(client)
    async with container.sessions() as s:
        for status in (JobStatus.queued, JobStatus.running):
            s.add(
                Job(
                    owner_id=user_a.id,
                    kind="speech.synthesize",
                    status=status,
                    attempts=1 if status == "running" else 0,
                    payload={"voice_id": v["id"], "text": f"Left {status}.", "format": "wav"},
                )
            )
        await s.commit()

    second = await build_container(
        make_settings(tmp_path, database_url),
        engines=EngineRegistry({"fake": FakeEngine()}, "fake"),
        speaker=speaker_encoder,
    )
    try:
        async with asyncio.timeout(60):
            await second.jobs.wait_idle()
        async with second.sessions() as s:
            jobs = list(await s.scalars(select(Job)))
        assert [j.status for j in jobs] == ["succeeded", "succeeded"]
        assert all(j.result and j.result["audio_url"] for j in jobs)
        assert {j.attempts for j in jobs} == {1, 2}
    finally:
        await close_container(second)


async def test_job_for_a_deleted_voice_fails_cleanly(client, container) -> None:
    v = await create_voice(client)
    async with asyncio.timeout(60):
        await container.jobs.wait_idle()
    # No worker runs until the voice is gone, so the job cannot have finished before.
    await container.jobs.stop()
    r = await client.post(
        "/api/v1/speech", json={"voice_id": v["id"], "text": "Hi.", "async": True}
    )
    assert r.status_code == 202, r.text
    assert (await client.delete(f"/api/v1/voices/{v['id']}")).status_code == 204
    await container.jobs.start()
    async with asyncio.timeout(60):
        await container.jobs.wait_idle()
    job = (await client.get(f"/api/v1/jobs/{r.json()['id']}")).json()
    assert job["status"] == "failed", job
    assert job["error"]["code"] == "voice_not_found"
    assert await counts(container) == (0, 0)  # no generation row or audio was left behind
