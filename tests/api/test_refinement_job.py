"""Two-stage enrolment: an instant profile at once, a refined one from a background job."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.api.conftest import client_for, counts, create_voice, make_settings, make_user
from voxhub.bootstrap import Container, build_container, close_container
from voxhub.engines.base import ProfileStatus, ProgressCallback, Reference, VoiceProfile
from voxhub.engines.fake import FakeEngine
from voxhub.engines.registry import EngineRegistry


class RefiningFake(FakeEngine):
    """The fake engine plus a refinement that reports progress and marks its profile."""

    def __init__(self, fail: bool = False) -> None:
        super().__init__()
        self.fail = fail

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


async def test_instant_then_refined_profile(refining: Container) -> None:
    user = await make_user(refining, "r@example.com")
    async with client_for(refining, user) as client:
        voice = await create_voice(client)
        assert voice["profile_status"] == "refining"
        assert voice["profile_similarity"] == 0.5
        async with asyncio.timeout(60):
            await refining.jobs.wait_idle()
        after = (await client.get(f"/api/v1/voices/{voice['id']}")).json()
        jobs = (await client.get("/api/v1/jobs")).json()
    engine = refining.engines.get()
    assert isinstance(engine, RefiningFake)
    (job,) = jobs
    assert job["kind"] == "voice.refine"
    if engine.fail:
        assert after["profile_status"] == "failed" and after["profile_similarity"] == 0.5
        assert job["status"] == "failed"
    else:
        assert after["profile_status"] == "ready" and after["profile_similarity"] == 0.7
        assert job["status"] == "succeeded" and job["progress"] == 100
    # Either way one profile blob remains: the replaced one is deleted, a failure keeps the instant.
    assert (await counts(refining))[1] == 2
