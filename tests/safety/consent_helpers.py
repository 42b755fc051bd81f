"""Helpers of the consent tests: a container under a given policy, what is stored, uploads."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from tests.api.conftest import Account, client_for, counts, make_settings, make_user, speech_file
from tests.conftest import truncate_all
from voxhub.audit.models import AuditEvent
from voxhub.bootstrap import build_container, close_container
from voxhub.container import Container
from voxhub.engines.fake import FakeEngine
from voxhub.engines.registry import EngineRegistry
from voxhub.safety.consent_models import VoiceConsent
from voxhub.settings import ConsentSettings

STANDING = "/api/v1/consent/standing"


async def consent_container(
    tmp_path: Path,
    database_url: str,
    speaker_encoder: object,
    policy: str,
    engine: FakeEngine | None = None,
) -> Container:
    settings = make_settings(tmp_path, database_url)
    settings.consent = ConsentSettings(consent_policy=policy)  # type: ignore[arg-type]
    c = await build_container(
        settings,
        engines=EngineRegistry({"fake": engine or FakeEngine()}, "fake"),
        speaker=speaker_encoder,  # type: ignore[arg-type]
        run_jobs=False,
    )
    await truncate_all(database_url)
    await c.jobs.start()
    return c


async def consents(c: Container, voice_id: str | None = None) -> list[VoiceConsent]:
    async with c.sessions() as s:
        q = select(VoiceConsent).order_by(VoiceConsent.created_at)
        if voice_id is not None:
            q = q.where(VoiceConsent.voice_id == voice_id)
        return list(await s.scalars(q))


async def stored(c: Container) -> tuple[int, int, int]:
    """(voice, reference, profile and generation rows; blobs; consent rows)."""
    rows, blobs = await counts(c)
    async with c.sessions() as s:
        consents = await s.scalar(select(func.count()).select_from(VoiceConsent)) or 0
    return rows, blobs, consents


async def events(c: Container, action: str) -> list[AuditEvent]:
    async with c.sessions() as s:
        q = select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.created_at)
        return list(await s.scalars(q))


async def upload(client: httpx.AsyncClient, **form: str) -> httpx.Response:
    fname, data = speech_file()
    return await client.post("/api/v1/voices", files={"file": (fname, data)}, data=form)


async def xi_upload(client: httpx.AsyncClient) -> httpx.Response:
    """ElevenLabs' instant clone: a face with no consent field."""
    fname, data = speech_file("vctk_p227_003.wav")
    return await client.post("/v1/voices/add", files={"files": (fname, data)}, data={"name": "X"})


# Fixtures of the modules that run under the default policy as a user with no standing
# attestation: import `container`, `ana` and `client` into the test module.


@pytest.fixture
async def container(
    tmp_path: Path, database_url: str, speaker_encoder: object
) -> AsyncIterator[Container]:
    c = await consent_container(tmp_path, database_url, speaker_encoder, "attestation")
    yield c
    await close_container(c)


@pytest.fixture
async def ana(container: Container) -> Account:
    """A user who has recorded no standing attestation."""
    return await make_user(container, "ana@example.com", standing_consent=False)


@pytest.fixture
async def client(container: Container, ana: Account) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(container, ana) as c:
        yield c
