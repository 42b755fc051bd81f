"""The real app over a real database and blob folder, with the deterministic fake engine."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import SPEECH, truncate_all
from voxhub.accounts import api_keys
from voxhub.accounts import service as accounts
from voxhub.accounts.models import Role
from voxhub.accounts.principal import Principal
from voxhub.app import create_app
from voxhub.bootstrap import build_container, close_container
from voxhub.container import Container
from voxhub.engines.fake import FakeEngine
from voxhub.engines.registry import EngineRegistry
from voxhub.safety import consent_standing as standing
from voxhub.settings import LimitSettings, Settings, StorageSettings


def make_settings(tmp_path: Path, database_url: str, **limits: float) -> Settings:
    return Settings(
        env="test",
        home=tmp_path / "home",
        database_url=database_url,
        storage=StorageSettings(blob_store="local", blob_dir=tmp_path / "blobs"),
        limits=LimitSettings(**limits),  # type: ignore[arg-type]
    )


@pytest.fixture
def fake_engine() -> FakeEngine:
    return FakeEngine()


@pytest.fixture
async def container(
    tmp_path: Path, database_url: str, speaker_encoder: object, fake_engine: FakeEngine
) -> AsyncIterator[Container]:
    settings = make_settings(tmp_path, database_url)
    engines = EngineRegistry({"fake": fake_engine}, "fake")
    c = await build_container(
        settings,
        engines=engines,
        speaker=speaker_encoder,
        run_jobs=False,  # type: ignore[arg-type]
    )
    # Clean first: PostgreSQL is shared by the run, and the runner would pick up old jobs.
    await truncate_all(database_url)
    await c.jobs.start()
    yield c
    await close_container(c)


@dataclass(frozen=True)
class Account:
    id: str
    email: str
    password: str
    api_key: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}


async def make_user(
    c: Container, email: str, role: Role = Role.user, *, standing_consent: bool = True
) -> Account:
    """A user with a password and an API key, made through the account services, who has
    recorded a standing consent attestation (so the seeds' faces, which have no consent field,
    accept the user's uploads) unless `standing_consent` is False."""
    password = "correct horse battery staple"
    async with c.sessions() as session:
        user = await accounts.signup(session, email, password, email.split("@")[0], 100, role=role)
        _, key = await api_keys.create_key(session, Principal(user.id, role, "test"), "tests")
        if standing_consent:
            p = Principal(user.id, role, "api_key")
            await standing.give(session, c.settings.consent, p, "self")
    return Account(user.id, user.email, password, key)


async def service_attests(c: Container) -> None:
    """The HMAC-signed internal service's standing attestation, as it records it once (with a
    signed POST /api/v1/consent/standing), so its clones through seed 004 are covered."""
    service = Principal(str(c.extras.get("local_admin_id") or ""), Role.admin, "hmac")
    async with c.sessions() as session:
        await standing.give(session, c.settings.consent, service, "written_permission")


@pytest.fixture
async def user_a(container: Container) -> Account:
    return await make_user(container, "ana@example.com")


@pytest.fixture
async def user_b(container: Container) -> Account:
    return await make_user(container, "bob@example.com")


def client_for(container: Container, user: Account | None) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=create_app(container=container))
    headers = user.headers if user else {}
    return httpx.AsyncClient(
        transport=transport, base_url="http://test", timeout=60, headers=headers
    )


@pytest.fixture
async def client(container: Container, user_a: Account) -> AsyncIterator[httpx.AsyncClient]:
    """Signed in as user A."""
    async with client_for(container, user_a) as c:
        yield c


@pytest.fixture
async def client_b(container: Container, user_b: Account) -> AsyncIterator[httpx.AsyncClient]:
    """Signed in as user B."""
    async with client_for(container, user_b) as c:
        yield c


@pytest.fixture
async def anon(container: Container) -> AsyncIterator[httpx.AsyncClient]:
    """No credentials."""
    async with client_for(container, None) as c:
        yield c


@pytest.fixture
async def live_url(container: Container) -> AsyncIterator[str]:
    """The app served by uvicorn on a loopback port (real chunked HTTP)."""
    import uvicorn

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = uvicorn.Config(
        create_app(container=container),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="on",
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await task


def speech_file(name: str = "vctk_p225_003.wav") -> tuple[str, bytes]:
    path = SPEECH / name
    return path.name, path.read_bytes()


async def create_voice(
    client: httpx.AsyncClient, name: str = "Ana", file: str = "vctk_p225_003.wav"
) -> dict:
    fname, data = speech_file(file)
    form = {"name": name, "consent": "self"}
    r = await client.post("/api/v1/voices", files={"file": (fname, data)}, data=form)
    assert r.status_code == 201, r.text
    return r.json()


async def counts(c: Container) -> tuple[int, int]:
    """(rows across the voice tables, blobs stored) — to prove refusals store nothing."""
    from sqlalchemy import func, select

    from voxhub.synthesis.models import Generation
    from voxhub.voices.models import Voice, VoiceProfileRow, VoiceReference

    async with c.sessions() as s:
        rows = 0
        for model in (Voice, VoiceReference, VoiceProfileRow, Generation):
            rows += await s.scalar(select(func.count()).select_from(model)) or 0
    return rows, len(await c.blobs.list(""))
