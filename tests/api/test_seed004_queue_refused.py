"""Seed 004's queued clone refused by its worker: the stored recording goes with the refusal.

The API checks what it can before it answers 202; the no-go list (which needs the speaker
embedding) and the consent in force when the job runs are checked by the worker. A job that
ends there keeps nothing of the upload; a job that will run again keeps it for that run.
Real speech (VCTK p225's utterances 003 and 008), on SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio

import httpx
import pytest
from sqlalchemy import func, select

from tests.api.conftest import Account, counts, speech_file
from tests.api.test_seed004 import seed_body
from tests.api.test_seed004_queue import (
    admin,
    admin_client,
    internal,
    job_row,
    post_clone,
    scale_out,
)
from voxhub.accounts.models import Role
from voxhub.accounts.principal import Principal
from voxhub.compat.seed004_uploads import UPLOADS
from voxhub.container import Container
from voxhub.core.errors import EngineUnavailable
from voxhub.credits.models import CreditEntry
from voxhub.engines.base import Reference, VoiceProfile
from voxhub.engines.fake import FakeEngine
from voxhub.jobs.models import Job
from voxhub.safety import consent_standing as standing
from voxhub.storage.models import BlobDeletion

__all__ = ["admin", "admin_client", "internal", "scale_out"]  # fixtures, used by name

BLOCKED = "/api/v1/admin/blocked-voices"


class FlakyEngine(FakeEngine):
    """The fake engine, unavailable for its first `failures` enrolments."""

    def __init__(self) -> None:
        super().__init__()
        self.failures = 0

    async def enroll(self, reference: Reference) -> VoiceProfile:
        if self.failures > 0:
            self.failures -= 1
            raise EngineUnavailable("the engine is busy", retry_after=0)
        return await super().enroll(reference)


@pytest.fixture
def fake_engine() -> FlakyEngine:
    return FlakyEngine()


async def finished(c: Container, job_id: str) -> Job:
    async with asyncio.timeout(60):
        await c.jobs.wait_idle()
    return await job_row(c, job_id)


async def outbox_rows(c: Container) -> int:
    async with c.sessions() as s:
        return await s.scalar(select(func.count()).select_from(BlobDeletion)) or 0


async def hold_entries(c: Container, job_id: str) -> list[tuple[str, int]]:
    async with c.sessions() as s:
        rows = await s.scalars(select(CreditEntry).where(CreditEntry.job_id == job_id))
        return sorted((e.kind, e.amount) for e in rows)


async def test_a_blocked_speaker_refused_by_the_worker_leaves_no_upload(
    internal: httpx.AsyncClient, admin_client: httpx.AsyncClient, scale_out: Container
) -> None:
    fname, data = speech_file("vctk_p225_003.wav")
    r = await admin_client.post(BLOCKED, files={"file": (fname, data)}, data={"label": "P225"})
    assert r.status_code == 201, r.text
    before = await counts(scale_out)

    r = await post_clone(internal, seed_body("vctk_p225_008.wav").encode())
    assert r.status_code == 202, r.text
    job_id = r.json()["metadata"]["job_id"]
    job = await finished(scale_out, job_id)

    assert job.status == "failed" and job.error is not None
    assert job.error["code"] == "voice_blocked"
    assert job.attempts == 1  # a refusal is not retried
    # Nothing of the upload is left: no voice rows, no blob, no pending removal.
    assert await counts(scale_out) == before
    assert await scale_out.blobs.list(UPLOADS) == []
    assert await outbox_rows(scale_out) == 0
    price = scale_out.settings.credits.price_clone
    assert await hold_entries(scale_out, job_id) == sorted([("hold", -price), ("release", price)])


async def test_consent_withdrawn_before_the_worker_runs_leaves_no_upload(
    internal: httpx.AsyncClient, scale_out: Container, admin: Account
) -> None:
    before = await counts(scale_out)
    await scale_out.jobs.stop()  # queued under the service's attestation; nothing runs yet
    r = await post_clone(internal, seed_body().encode())
    assert r.status_code == 202, r.text
    job_id = r.json()["metadata"]["job_id"]
    [_] = await scale_out.blobs.list(UPLOADS)
    service = Principal(admin.id, Role.admin, "hmac")
    async with scale_out.sessions() as session:
        await standing.withdraw(session, scale_out.settings.consent, service)
    await scale_out.jobs.start()
    job = await finished(scale_out, job_id)

    assert job.status == "failed" and job.error is not None
    assert job.error["code"] == "consent_required"
    assert await counts(scale_out) == before
    assert await outbox_rows(scale_out) == 0


async def test_an_engine_busy_for_one_attempt_keeps_the_upload_for_the_next(
    internal: httpx.AsyncClient, scale_out: Container, fake_engine: FlakyEngine
) -> None:
    scale_out.settings.jobs.job_retry_delay_s = 0.01
    fake_engine.failures = 1
    r = await post_clone(internal, seed_body().encode())
    assert r.status_code == 202, r.text
    job = await finished(scale_out, r.json()["metadata"]["job_id"])
    # The second attempt found the recording the first one could not use.
    assert job.status == "succeeded", job.error
    assert job.attempts == 2
    assert await scale_out.blobs.list(UPLOADS) == []


async def test_an_engine_busy_on_the_last_attempt_leaves_no_upload(
    internal: httpx.AsyncClient, scale_out: Container, fake_engine: FlakyEngine
) -> None:
    scale_out.settings.jobs.job_retry_delay_s = 0.01
    scale_out.settings.jobs.job_max_attempts = 2
    fake_engine.failures = 2
    before = await counts(scale_out)
    r = await post_clone(internal, seed_body().encode())
    assert r.status_code == 202, r.text
    job = await finished(scale_out, r.json()["metadata"]["job_id"])
    assert job.status == "failed" and job.error is not None
    assert job.error["code"] == "engine_unavailable"
    assert job.attempts == 2
    assert await counts(scale_out) == before
    assert await outbox_rows(scale_out) == 0
