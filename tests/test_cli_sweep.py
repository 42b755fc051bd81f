"""`voxhub sweep`: retries every promised blob removal now and removes old orphan blobs."""

from __future__ import annotations

import asyncio
import os
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from voxhub.cli import app
from voxhub.core.clock import utcnow
from voxhub.db.session import create_engine, create_sessionmaker
from voxhub.settings import Settings
from voxhub.storage.local import LocalBlobStore
from voxhub.storage.models import BlobDeletion
from voxhub.storage.outbox import enqueue


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("VOXHUB_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


async def _promise(prefix: str) -> None:
    """An outbox row whose first removal failed: its retry is not due for a while."""
    engine = create_engine(Settings().resolved_database_url)
    async with create_sessionmaker(engine)() as session:
        row = enqueue(session, prefix, "voice_deleted")
        row.attempts, row.next_attempt_at = 1, utcnow() + timedelta(hours=1)
        await session.commit()
    await engine.dispose()


async def _outbox() -> list[tuple[str, int]]:
    engine = create_engine(Settings().resolved_database_url)
    async with create_sessionmaker(engine)() as session:
        rows = [(r.prefix, r.attempts) for r in await session.scalars(select(BlobDeletion))]
    await engine.dispose()
    return rows


def _put(root: Path, key: str, *, old: bool) -> None:
    asyncio.run(LocalBlobStore(root).put(key, b"."))
    if old:
        os.utime(root / key, (1_000_000_000, 1_000_000_000))


def test_sweep_removes_promised_and_orphan_blobs(home: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["migrate"]).exit_code == 0
    blobs = home / "blobs"
    _put(blobs, "voices/deleted/refs/a.flac", old=False)
    _put(blobs, "voices/crashed/refs/b.flac", old=True)
    _put(blobs, "voices/uploading/refs/c.flac", old=False)
    asyncio.run(_promise("voices/deleted/"))

    r = runner.invoke(app, ["sweep"])
    assert r.exit_code == 0, r.output
    assert "removals done 1, failed 0; orphan blobs removed 1" in r.output
    assert asyncio.run(LocalBlobStore(blobs).list()) == ["voices/uploading/refs/c.flac"]
    assert asyncio.run(_outbox()) == []


def test_sweep_exits_non_zero_while_the_store_refuses(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["migrate"]).exit_code == 0
    _put(home / "blobs", "voices/deleted/refs/a.flac", old=False)
    asyncio.run(_promise("voices/deleted/"))

    async def refuse(self: LocalBlobStore, prefix: str) -> int:
        raise PermissionError("read-only file system")

    monkeypatch.setattr(LocalBlobStore, "delete_prefix", refuse)
    r = runner.invoke(app, ["sweep"])
    assert r.exit_code == 1, r.output
    assert "removals done 0, failed 1" in r.output
    assert asyncio.run(_outbox()) == [("voices/deleted/", 2)]
