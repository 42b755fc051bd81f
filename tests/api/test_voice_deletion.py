"""A failing blob store never leaves a person's recordings behind, nor turns an answer into a 500.

Deleting a voice promises the removal of its blobs in the deleting transaction; a replaced profile
blob is promised in the replacing one; blobs of an upload that failed are removed at once or, if
the store fails then too, by the orphan sweep.
"""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from tests.api.conftest import counts, create_voice, speech_file
from voxhub.container import Container
from voxhub.core.clock import utcnow
from voxhub.core.errors import EngineUnavailable
from voxhub.engines.base import Reference, VoiceProfile
from voxhub.engines.fake import FakeEngine
from voxhub.storage.base import BlobStore
from voxhub.storage.local import LocalBlobStore
from voxhub.storage.models import BlobDeletion
from voxhub.storage.sweep import run_sweep


class FailingRemovals:
    """The container's store, except that removals fail while `broken` is set."""

    def __init__(self, inner: BlobStore) -> None:
        self.inner = inner
        self.broken = True

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def delete(self, key: str) -> None:
        if self.broken:
            raise OSError("store unreachable")
        await self.inner.delete(key)

    async def delete_prefix(self, prefix: str) -> int:
        if self.broken:
            raise OSError("store unreachable")
        return await self.inner.delete_prefix(prefix)


@pytest.fixture
def failing(container: Container) -> FailingRemovals:
    store = FailingRemovals(container.blobs)
    store.broken = False
    container.blobs = store  # type: ignore[assignment]
    return store


async def outbox(c: Container) -> list[BlobDeletion]:
    async with c.sessions() as session:
        return list(await session.scalars(select(BlobDeletion)))


async def sweep_later(c: Container) -> None:
    """The periodic sweep's pass, run after the first retry is due."""
    report = await run_sweep(c.sessions, c.blobs, 3600, now=utcnow() + timedelta(minutes=5))
    assert not report.failed, report


async def test_delete_stands_when_the_store_fails_and_the_sweep_removes_the_blobs(
    client, container: Container, failing: FailingRemovals
) -> None:
    v = await create_voice(client)
    r = await client.post("/api/v1/speech", json={"voice_id": v["id"], "text": "Hello there."})
    assert r.status_code == 200, r.text
    prefix = f"voices/{v['id']}/"
    stored = await container.blobs.list(prefix)
    # The generation's audio and its word times beside it: both go with the voice.
    folders = ["generations", "generations", "profiles", "refs"]
    assert sorted(key.split("/")[2] for key in stored) == folders
    assert sum(key.endswith(".words.json") for key in stored) == 1

    failing.broken = True
    assert (await client.delete(f"/api/v1/voices/{v['id']}")).status_code == 204
    assert (await client.get(f"/api/v1/voices/{v['id']}")).status_code == 404
    assert (await counts(container))[0] == 0
    assert await container.blobs.list(prefix) == stored  # the store refused every removal
    [promise] = await outbox(container)
    assert promise.prefix == prefix and promise.reason == "voice_deleted"
    assert promise.attempts == 1 and promise.last_error == "OSError: store unreachable"

    failing.broken = False
    await sweep_later(container)
    assert await container.blobs.list(prefix) == []
    assert await outbox(container) == []


async def test_a_replaced_profile_blob_is_promised_with_its_replacement(
    client, container: Container, failing: FailingRemovals
) -> None:
    v = await create_voice(client)
    [first] = await container.blobs.list(f"voices/{v['id']}/profiles/")
    failing.broken = True
    fname, data = speech_file("vctk_p225_008.wav")
    r = await client.post(
        f"/api/v1/voices/{v['id']}/references",
        files={"file": (fname, data)},
        data={"consent": "self"},
    )
    assert r.status_code == 201, r.text
    [promise] = await outbox(container)
    assert (promise.prefix, promise.reason, promise.attempts) == (first, "profile_replaced", 1)
    profiles = await container.blobs.list(f"voices/{v['id']}/profiles/")
    assert len(profiles) == 2 and first in profiles

    failing.broken = False
    await sweep_later(container)
    [current] = await container.blobs.list(f"voices/{v['id']}/profiles/")
    assert current != first
    assert (await client.get(f"/api/v1/voices/{v['id']}/profile")).status_code == 200


async def test_a_failed_upload_answers_its_own_error_and_the_sweep_takes_what_stays(
    client,
    container: Container,
    failing: FailingRemovals,
    fake_engine: FakeEngine,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def busy(reference: Reference) -> VoiceProfile:
        raise EngineUnavailable("every model session is busy")

    # The reference blob is written before enrolment fails; its removal then fails too.
    monkeypatch.setattr(fake_engine, "enroll", busy)
    failing.broken = True
    fname, data = speech_file()
    r = await client.post(
        "/api/v1/voices", files={"file": (fname, data)}, data={"name": "Ana", "consent": "self"}
    )
    assert r.status_code == 503, r.text
    assert r.json()["code"] == "engine_unavailable"
    assert (await counts(container))[0] == 0
    [left] = await container.blobs.list("")
    assert left.startswith("voices/") and "/refs/" in left

    failing.broken = False
    await sweep_later(container)
    assert await container.blobs.list("") == [left]  # within the grace period: maybe in flight
    local = failing.inner
    assert isinstance(local, LocalBlobStore)
    os.utime(local.root / left, (1_000_000_000, 1_000_000_000))
    await sweep_later(container)
    assert await container.blobs.list("") == []
