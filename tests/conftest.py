"""Shared fixtures: paths to ../shared data, settings, databases (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest_seaweed import seaweedfs_s3  # noqa: F401  (session fixture)

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("VOXHUB_SHARED_DIR", REPO.parent / "shared")).resolve()
SPEECH = SHARED / "data" / "speech"
ODD = SHARED / "data" / "odd"
KOKORO_VOICES = SHARED / "models" / "kokoro" / "voices"
IN_CI = os.environ.get("CI", "").lower() == "true"
PG_ADMIN_DSN = os.environ.get("VOXHUB_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")


def need_server(reason: str) -> None:
    """Skip locally, fail under CI: CI must not silently skip server-backed tests."""
    if IN_CI:
        pytest.fail(f"required under CI=true: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def shared() -> Path:
    if not SPEECH.is_dir():
        pytest.fail(f"../shared is missing: expected {SPEECH}")
    return SHARED


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A throwaway PostgreSQL database for this test run, dropped at the end."""
    import asyncpg

    name = f"voxhub_test_{uuid.uuid4().hex[:12]}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(PG_ADMIN_DSN, timeout=5)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    try:
        asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    except (OSError, asyncpg.PostgresError) as exc:
        need_server(f"PostgreSQL not reachable at {PG_ADMIN_DSN}: {exc}")
    base = PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    yield f"{base}/{name}"
    asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each database-facing test runs on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'voxhub.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture(scope="session")
def speaker_encoder():  # type: ignore[no-untyped-def]
    """One resemblyzer model for the whole run."""
    from voxhub.audio.speaker import SpeakerEncoder

    enc = SpeakerEncoder(threads=2)
    enc.load()
    return enc


async def truncate_all(url: str) -> None:
    """Empty every table of the shared PostgreSQL database (each SQLite test has its own file).

    TRUNCATE, not DELETE: the audit log's append-only trigger refuses row deletions.
    """
    if not url.startswith("postgresql"):
        return
    from sqlalchemy import text

    from voxhub.db import models  # noqa: F401
    from voxhub.db.base import Base
    from voxhub.db.session import create_engine

    engine = create_engine(url)
    names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    async with engine.begin() as conn:
        await conn.execute(text(f"TRUNCATE {names} CASCADE"))
    await engine.dispose()
