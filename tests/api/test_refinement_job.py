"""Two-stage enrolment: an instant profile at once, a refined one from a background job."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.api.conftest import (
    client_for,
    counts,
    create_voice,
    make_settings,
    make_user,
    speech_file,
)
from voxhub.bootstrap import build_container, close_container
from voxhub.container import Container
from voxhub.engines.base import ProfileStatus, ProgressCallback, Reference, VoiceProfile
from voxhub.engines.fake import FakeEngine
from voxhub.engines.registry import EngineRegistry
from voxhub.voices.models import VoiceProfileRow


class RefiningFake(FakeEngine):
    """The fake engine plus a refinement that reports progress and marks its profile."""

    def __init__(self, fail: bool = False, hold: bool = False) -> None:
        super().__init__()
        self.fail = fail
        # With `hold`, the first refinement waits mid-search until `release` is set.
        self.hold = hold
        self.searching = asyncio.Event()
        self.release = asyncio.Event()

    async def enroll(self, reference: Reference) -> VoiceProfile:
        profile = await super().enroll(reference)
        profile.status = ProfileStatus.instant
        profile.metrics["similarity_estimate"] = 0.5
        return profile

    async def refine(
        self, reference: Reference, profile: VoiceProfile, progress: ProgressCallback
    ) -> VoiceProfile:
        for step in range(3):
            progress(step / 3, f"round {step}")
            await asyncio.sleep(0.01)
        if self.hold:
            self.hold = False
            self.searching.set()
            await self.release.wait()
        if self.fail:
            raise RuntimeError("search diverged")
        return VoiceProfile(
            profile.engine,
            profile.engine_version,
            profile.data + b"!",
            ProfileStatus.ready,
            {"similarity_estimate": 0.7},
        )


@pytest.fixture(params=[False, True], ids=["succeeds", "fails"])
async def refining(
    request: pytest.FixtureRequest, tmp_path: Path, speaker_encoder
) -> AsyncIterator[Container]:
    settings = make_settings(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'r.db'}")
    engine = RefiningFake(fail=request.param)
    c = await build_container(
        settings, engines=EngineRegistry({"fake": engine}, "fake"), speaker=speaker_encoder
    )
    yield c
    await close_container(c)


async def stored_profile(c: Container, voice_id: str) -> tuple[VoiceProfileRow, bytes]:
    """The engine profile row and the bytes its blob holds."""
    async with c.sessions() as session:
        row = await session.scalar(
            select(VoiceProfileRow).where(VoiceProfileRow.voice_id == voice_id)
        )
    assert row is not None
    return row, await c.blobs.get(row.blob_key)


async def test_instant_then_refined_profile(refining: Container) -> None:
    user = await make_user(refining, "r@example.com")
    async with client_for(refining, user) as client:
        voice = await create_voice(client)
        assert voice["profile_status"] == "refining"
        assert voice["profile_similarity"] == 0.5
        _, instant = await stored_profile(refining, voice["id"])
        async with asyncio.timeout(60):
            await refining.jobs.wait_idle()
        after = (await client.get(f"/api/v1/voices/{voice['id']}")).json()
        jobs = (await client.get("/api/v1/jobs")).json()["items"]
    engine = refining.engines.get()
    assert isinstance(engine, RefiningFake)
    (job,) = jobs
    assert job["kind"] == "voice.refine"
    row, served = await stored_profile(refining, voice["id"])
    if engine.fail:
        assert after["profile_status"] == "failed" and after["profile_similarity"] == 0.5
        assert job["status"] == "dead"  # it failed on every attempt
        assert served == instant and row.status == "instant" and row.revision == 1
    else:
        assert after["profile_status"] == "ready" and after["profile_similarity"] == 0.7
        assert job["status"] == "succeeded" and job["progress"] == 100
        assert job["result"]["superseded"] is False
        assert served == instant + b"!" and row.status == "ready" and row.revision == 2
    # Either way one profile blob remains: the replaced one is deleted, a failure keeps the instant.
    assert (await counts(refining))[1] == 2


@pytest.fixture
async def held(tmp_path: Path, speaker_encoder) -> AsyncIterator[Container]:
    settings = make_settings(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'h.db'}")
    engine = RefiningFake(hold=True)
    c = await build_container(
        settings, engines=EngineRegistry({"fake": engine}, "fake"), speaker=speaker_encoder
    )
    yield c
    await close_container(c)


@pytest.mark.parametrize("change", ["new reference", "engine upgrade"])
async def test_a_profile_stored_during_refinement_is_kept(held: Container, change: str) -> None:
    engine = held.engines.get()
    assert isinstance(engine, RefiningFake)
    user = await make_user(held, "h@example.com")
    async with client_for(held, user) as client:
        voice = await create_voice(client)
        async with asyncio.timeout(30):
            await engine.searching.wait()
        if change == "new reference":
            fname, data = speech_file("vctk_p225_008.wav")
            r = await client.post(
                f"/api/v1/voices/{voice['id']}/references",
                files={"file": (fname, data)},
                data={"consent": "self"},
            )
            assert r.status_code == 201, r.text
        else:
            engine.info = dataclasses.replace(engine.info, version="fake-2")
            r = await client.post("/api/v1/speech", json={"voice_id": voice["id"], "text": "Hi."})
            assert r.status_code == 200, r.text
        _, newer = await stored_profile(held, voice["id"])
        engine.release.set()
        async with asyncio.timeout(60):
            await held.jobs.wait_idle()
        jobs = (await client.get("/api/v1/jobs")).json()["items"]
    first = min(jobs, key=lambda j: j["created_at"])
    assert first["status"] == "succeeded" and first["result"]["superseded"] is True
    store_step = next(s for s in first["steps"] if s["name"] == "store")
    assert "superseded" in store_step["message"]
    row, served = await stored_profile(held, voice["id"])
    if change == "new reference":
        # The new reference's own refinement ran after, on the newer profile.
        assert len(jobs) == 2 and served == newer + b"!"
    else:
        assert len(jobs) == 1 and served == newer and row.engine_version == "fake-2"
    # The superseded result's blob is gone: one profile blob, the one the row names.
    assert await held.blobs.list(f"voices/{voice['id']}/profiles/") == [row.blob_key]
