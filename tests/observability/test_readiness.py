"""/ready names what does not answer; /health stays a constant liveness answer."""

from __future__ import annotations

import asyncio
import dataclasses
import socket
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from tests.conftest import need_server
from voxhub.app import create_app
from voxhub.container import Container
from voxhub.observability.health import CHECK_TIMEOUT_S
from voxhub.storage.local import LocalBlobStore

REDIS_URL = "redis://127.0.0.1:6379/0"


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def client_of(container: Container) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=create_app(container=container))
    return httpx.AsyncClient(transport=transport, base_url="http://test", timeout=30)


def unreachable_database(url: str, tmp_path: Path) -> str:
    if url.startswith("sqlite"):
        (tmp_path / "a-file").write_bytes(b"")  # a database file under a file cannot open
        return f"sqlite+aiosqlite:///{tmp_path / 'a-file' / 'voxhub.db'}"
    return f"postgresql+asyncpg://postgres@127.0.0.1:{closed_port()}/voxhub"


@dataclasses.dataclass
class Silent:
    port: int
    held: list[asyncio.StreamWriter]  # one per connection accepted


@pytest.fixture
async def silent_server() -> AsyncIterator[Silent]:
    """A port that accepts connections and never answers (a hung dependency)."""
    held: list[asyncio.StreamWriter] = []

    async def hold(_r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        held.append(w)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    yield Silent(server.sockets[0].getsockname()[1], held)
    for w in held:
        w.close()
    server.close()
    await server.wait_closed()


async def test_ready_when_everything_answers(client: httpx.AsyncClient) -> None:
    r = await client.get("/ready")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "ready"
    assert {k: v["ok"] for k, v in body["checks"].items()} == {"database": True, "blobs": True}


async def test_ready_names_the_database_when_it_is_unreachable(
    container: Container, tmp_path: Path
) -> None:
    bad = create_async_engine(
        unreachable_database(container.settings.resolved_database_url, tmp_path)
    )
    broken = dataclasses.replace(container, db=bad)
    try:
        async with client_of(broken) as http:
            r = await http.get("/ready")
            assert r.status_code == 503, r.text
            assert r.headers["content-type"] == "application/problem+json"
            body = r.json()
            assert body["code"] == "not_ready" and body["failing"] == ["database"]
            assert body["checks"]["blobs"]["ok"] is True
            assert "127.0.0.1" not in r.text and "sqlite" not in r.text  # no DSN in the answer
            # Liveness does not depend on the database.
            assert (await http.get("/health")).status_code == 200
    finally:
        await bad.dispose()


async def test_ready_names_the_blob_store_when_its_folder_is_not_one(
    container: Container, tmp_path: Path
) -> None:
    (tmp_path / "a-file").write_bytes(b"not a folder")
    broken = dataclasses.replace(container, blobs=LocalBlobStore(tmp_path / "a-file"))
    async with client_of(broken) as http:
        r = await http.get("/ready")
    assert r.status_code == 503 and r.json()["failing"] == ["blobs"], r.text


async def test_ready_checks_redis_when_configured(container: Container) -> None:
    import redis.asyncio as redis

    probe = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        await probe.ping()
    except (OSError, redis.RedisError) as exc:
        need_server(f"Redis not reachable at {REDIS_URL}: {exc}")
    finally:
        await probe.aclose()
    up = dataclasses.replace(container, settings=container.settings.model_copy())
    up.settings.redis_url = REDIS_URL
    async with client_of(up) as http:
        r = await http.get("/ready")
        assert r.status_code == 200 and r.json()["checks"]["redis"]["ok"] is True, r.text
    down = dataclasses.replace(container, settings=container.settings.model_copy())
    down.settings.redis_url = f"redis://127.0.0.1:{closed_port()}/0"
    async with client_of(down) as http:
        r = await http.get("/ready")
    assert r.status_code == 503 and r.json()["failing"] == ["redis"], r.text


async def test_a_hung_dependency_costs_one_timeout(
    container: Container, silent_server: Silent
) -> None:
    hung = dataclasses.replace(container, settings=container.settings.model_copy())
    hung.settings.redis_url = f"redis://127.0.0.1:{silent_server.port}/0"
    async with client_of(hung) as http:
        started = time.monotonic()
        r = await http.get("/ready")
        took = time.monotonic() - started
    assert r.status_code == 503 and r.json()["failing"] == ["redis"], r.text
    assert "no answer within" in r.json()["checks"]["redis"]["detail"]
    assert took < CHECK_TIMEOUT_S + 1.5


async def test_ready_on_s3_and_with_its_bucket_missing(container: Container, seaweedfs_s3) -> None:
    from voxhub.storage.s3 import S3BlobStore

    def store(bucket: str) -> S3BlobStore:
        s3 = seaweedfs_s3
        return S3BlobStore(s3.endpoint_url, bucket, s3.region, s3.access_key, s3.secret_key)

    for bucket, status in ((seaweedfs_s3.bucket, 200), ("voxhub-no-such-bucket", 503)):
        blobs = store(bucket)
        try:
            async with client_of(dataclasses.replace(container, blobs=blobs)) as http:
                r = await http.get("/ready")
        finally:
            await blobs.aclose()
        assert r.status_code == status, r.text
        assert r.json()["checks"]["blobs"]["ok"] is (status == 200)
        assert "no-such-bucket" not in r.text


async def test_a_hung_blob_store_gets_one_probe_at_a_time(
    container: Container, silent_server: Silent
) -> None:
    from voxhub.storage.s3 import S3BlobStore

    url = f"http://127.0.0.1:{silent_server.port}"
    blobs = S3BlobStore(url, "voxhub", "us-east-1", "key", "secret-key")
    try:
        async with client_of(dataclasses.replace(container, blobs=blobs)) as http:
            for _ in range(3):
                r = await http.get("/ready")
                assert r.status_code == 503 and r.json()["failing"] == ["blobs"], r.text
                assert "no answer within" in r.json()["checks"]["blobs"]["detail"]
        # Three polls, one probe still waiting on its one connection (its thread is not freed
        # by our timeout; more would fill the pool blob writes share).
        assert len(silent_server.held) == 1
    finally:
        for w in silent_server.held:
            w.close()  # the probe's read fails now, and its thread returns
        await blobs.aclose()
