"""The whole voice lifecycle with blobs in S3 (a real SeaweedFS on loopback) and PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.api.conftest import client_for, create_voice, make_user
from tests.conftest import truncate_all
from tests.conftest_seaweed import SeaweedS3
from voxhub.bootstrap import build_container, close_container
from voxhub.container import Container
from voxhub.engines.fake import FakeEngine
from voxhub.engines.registry import EngineRegistry
from voxhub.settings import Settings, StorageSettings


@pytest.fixture
async def s3_container(
    tmp_path: Path, postgres_url: str, seaweedfs_s3: SeaweedS3, speaker_encoder: object
) -> AsyncIterator[Container]:
    storage = StorageSettings(
        blob_store="s3",
        s3_endpoint_url=seaweedfs_s3.endpoint_url,
        s3_bucket=f"api-{uuid.uuid4().hex[:8]}",
        s3_access_key=seaweedfs_s3.access_key,
        s3_secret_key=seaweedfs_s3.secret_key,
        s3_prefix="voxhub/",
    )
    settings = Settings(env="test", home=tmp_path, database_url=postgres_url, storage=storage)
    c = await build_container(
        settings,
        engines=EngineRegistry({"fake": FakeEngine()}, "fake"),
        speaker=speaker_encoder,  # type: ignore[arg-type]
    )
    await truncate_all(postgres_url)
    yield c
    await close_container(c)


async def test_voice_lifecycle_on_s3_and_postgres(s3_container: Container) -> None:
    user = await make_user(s3_container, "s3@example.com")
    async with client_for(s3_container, user) as client:
        v = await create_voice(client)
        r = await client.post("/api/v1/speech", json={"voice_id": v["id"], "text": "Stored in S3."})
        assert r.status_code == 200
        again = await client.post(
            "/api/v1/speech", json={"voice_id": v["id"], "text": "Stored in S3."}
        )
        assert again.headers["x-voxhub-cache"] == "hit" and again.content == r.content
        keys = await s3_container.blobs.list("")
        # A reference, a profile, the generation's audio and its word times.
        assert len(keys) == 4 and all(k.startswith(f"voices/{v['id']}/") for k in keys)
        sample = await client.get(f"/api/v1/voices/{v['id']}/sample")
        assert sample.status_code == 200 and sample.content[:4] == b"RIFF"
        assert (await client.delete(f"/api/v1/voices/{v['id']}")).status_code == 204
        assert await s3_container.blobs.list("") == []
