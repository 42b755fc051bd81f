"""One contract for every BlobStore adapter, then what only the local or the S3 adapter promises."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.conftest_seaweed import SeaweedS3
from voxhub.core.clock import utcnow
from voxhub.settings import Settings, StorageSettings
from voxhub.storage.base import BlobNotFound, BlobStore
from voxhub.storage.factory import build_blob_store, open_blob_store
from voxhub.storage.keys import TEMP_PREFIX, validate_key, validate_prefix
from voxhub.storage.local import LocalBlobStore
from voxhub.storage.memory import MemoryBlobStore
from voxhub.storage.s3 import S3BlobStore

BAD_KEYS = [
    "",
    "/etc/passwd",
    "../escape",
    "a/../../b",
    "a/..",
    "..",
    ".",
    "a/./b",
    "a//b",
    "a/",
    "a\\..\\b",
    "a/b\x00c",
    "a/\nb",
    "a\x7fb",
    "a\x85b",
    "a/\ud800",
    "x" * 513,
    "a/" + "y" * 256,
    f"{TEMP_PREFIX}1234",
    f"voices/{TEMP_PREFIX}x",
]
ODD_VALID_KEYS = [
    "voices/é/ü ñ.flac",
    "a b/c+d=e&f?g#h;i.txt",
    "x/.../y",
    "%2e%2e/x",
    "~/-rf",
    "/".join(["x" * 100] * 5) + "/" + "y" * 7,
]
MB = 1024 * 1024


def s3_store(info: SeaweedS3, prefix: str = "", bucket: str | None = None) -> S3BlobStore:
    return S3BlobStore(
        endpoint_url=info.endpoint_url,
        bucket=bucket or info.bucket,
        region=info.region,
        access_key=info.access_key,
        secret_key=info.secret_key,
        prefix=prefix,
    )


@pytest.fixture(params=["memory", "local", pytest.param("s3", marks=pytest.mark.s3)])
def fresh_store(request: pytest.FixtureRequest, tmp_path: Path) -> BlobStore:
    # Sync on purpose: the s3 case may start SeaweedFS, which blocks.
    if request.param == "memory":
        return MemoryBlobStore()
    if request.param == "local":
        return LocalBlobStore(tmp_path / "blobs")
    info: SeaweedS3 = request.getfixturevalue("seaweedfs_s3")
    return s3_store(info, prefix=f"contract-{uuid.uuid4().hex}")


@pytest.fixture
async def store(fresh_store: BlobStore) -> AsyncIterator[BlobStore]:
    yield fresh_store
    await fresh_store.delete_prefix("")
    await fresh_store.aclose()


# --- the contract ---


async def test_satisfies_protocol(store: BlobStore) -> None:
    assert isinstance(store, BlobStore)


async def test_put_get_roundtrip(store: BlobStore) -> None:
    key = f"voices/{uuid.uuid4()}/refs/{uuid.uuid4()}.flac"
    await store.put(key, b"fLaC audio", content_type="audio/flac")
    assert await store.get(key) == b"fLaC audio"


async def test_empty_blob(store: BlobStore) -> None:
    await store.put("empty.bin", b"")
    assert await store.get("empty.bin") == b""
    assert await store.exists("empty.bin")


async def test_overwrite_replaces_whole_value(store: BlobStore) -> None:
    await store.put("a/b.bin", b"first and longer")
    await store.put("a/b.bin", b"second")
    assert await store.get("a/b.bin") == b"second"
    assert await store.list() == ["a/b.bin"]


async def test_get_missing_raises_blob_not_found(store: BlobStore) -> None:
    with pytest.raises(BlobNotFound):
        await store.get("nope/never.bin")
    await store.put("a/b", b"x")
    with pytest.raises(BlobNotFound):
        await store.get("a")  # a "folder" is not a blob


async def test_exists(store: BlobStore) -> None:
    assert not await store.exists("a/b")
    await store.put("a/b", b"x")
    assert await store.exists("a/b")
    assert not await store.exists("a")


async def test_delete_and_delete_is_idempotent(store: BlobStore) -> None:
    await store.put("v/1/x.bin", b"x")
    await store.put("v/1/y.bin", b"y")
    await store.delete("v/1/x.bin")
    assert not await store.exists("v/1/x.bin")
    with pytest.raises(BlobNotFound):
        await store.get("v/1/x.bin")
    await store.delete("v/1/x.bin")
    await store.delete("never/existed")
    assert await store.list() == ["v/1/y.bin"]


async def test_delete_prefix(store: BlobStore) -> None:
    for key in ["voices/a/1", "voices/a/sub/2", "voices/ab/3", "voices/b/4", "other/5"]:
        await store.put(key, key.encode())
    assert await store.delete_prefix("voices/a/") == 2
    assert await store.list() == ["other/5", "voices/ab/3", "voices/b/4"]
    # A prefix is a plain string prefix, not a folder: "voices/a" also matches "voices/ab/".
    assert await store.delete_prefix("voices/a") == 1
    assert await store.delete_prefix("voices/zzz/") == 0
    assert await store.list() == ["other/5", "voices/b/4"]


async def test_list_sorted_and_filtered(store: BlobStore) -> None:
    keys = ["b/2", "a/1", "a/10/x", "a/2", "c"]
    for key in keys:
        await store.put(key, b".")
    assert await store.list() == sorted(keys)
    assert await store.list("a/") == ["a/1", "a/10/x", "a/2"]
    assert await store.list("a/1") == ["a/1", "a/10/x"]
    assert await store.list("missing/") == []


async def test_list_info_gives_each_key_its_write_time(store: BlobStore) -> None:
    # S3 reports LastModified in whole seconds: allow a second either side.
    before = utcnow() - timedelta(seconds=1.5)
    for key in ["a/2", "a/1", "a/sub/3", "b/4"]:
        await store.put(key, b".")
    after = utcnow() + timedelta(seconds=1.5)
    infos = await store.list_info("a/")
    assert [info.key for info in infos] == ["a/1", "a/2", "a/sub/3"]
    for info in infos:
        assert info.modified_at.utcoffset() == timedelta(0)
        assert before <= info.modified_at <= after
    assert [info.key for info in await store.list_info()] == await store.list()
    assert await store.list_info("missing/") == []


async def test_binary_5mb(store: BlobStore) -> None:
    data = bytes(range(256)) * 4 + os.urandom(5 * MB)
    await store.put("big/blob.bin", data)
    assert await store.get("big/blob.bin") == data


@pytest.mark.parametrize("key", ODD_VALID_KEYS)
async def test_odd_but_valid_keys_roundtrip(store: BlobStore, key: str) -> None:
    await store.put(key, key.encode())
    assert await store.get(key) == key.encode()
    assert await store.list() == [key]


@pytest.mark.parametrize("key", BAD_KEYS, ids=repr)
async def test_invalid_keys_refused(store: BlobStore, key: str) -> None:
    with pytest.raises(ValueError):
        await store.put(key, b"evil")
    with pytest.raises(ValueError):
        await store.get(key)
    with pytest.raises(ValueError):
        await store.exists(key)
    with pytest.raises(ValueError):
        await store.delete(key)
    if key not in ("", "a/"):  # these two are valid prefixes: everything, and folder "a"
        with pytest.raises(ValueError):
            await store.list(key)
        with pytest.raises(ValueError):
            await store.delete_prefix(key)
    assert await store.list() == []


async def test_concurrent_puts_leave_one_whole_value(store: BlobStore) -> None:
    payloads = [bytes([i]) * (256 * 1024) for i in range(8)]
    await asyncio.gather(*(store.put("race/key.bin", p) for p in payloads))
    assert await store.get("race/key.bin") in payloads
    assert await store.list() == ["race/key.bin"]


# --- key rules ---


def test_validate_key_returns_valid_keys_unchanged() -> None:
    key = f"voices/{uuid.uuid4()}/refs/{uuid.uuid4()}.flac"
    assert validate_key(key) == key
    assert validate_prefix("") == ""
    assert validate_prefix("voices/") == "voices/"
    with pytest.raises(ValueError):
        validate_prefix("/")


# --- local only ---

CRASH_BEFORE_RENAME = """
import asyncio, os, sys
from pathlib import Path
from voxhub.storage.local import LocalBlobStore
os.replace = lambda *a, **k: os._exit(17)  # die like a power cut: no cleanup runs
asyncio.run(LocalBlobStore(Path(sys.argv[1])).put(sys.argv[2], b"new" * 100_000))
"""


def crash_put(root: Path, key: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", CRASH_BEFORE_RENAME, str(root), key], timeout=60, check=False
    )
    assert done.returncode == 17


def temp_files(root: Path) -> list[Path]:
    return list(root.rglob(f"{TEMP_PREFIX}*"))


async def test_local_crash_before_rename_keeps_old_value(tmp_path: Path) -> None:
    root = tmp_path / "blobs"
    store = LocalBlobStore(root)
    await store.put("voices/v/profile.json", b"old")
    crash_put(root, "voices/v/profile.json")
    assert len(temp_files(root)) == 1  # the crash really left its partial file behind
    assert await store.get("voices/v/profile.json") == b"old"
    assert await store.list() == ["voices/v/profile.json"]
    assert await store.delete_prefix("voices/") == 1


async def test_local_failed_rename_cleans_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    await store.put("k", b"old")

    def broken_replace(*args: object, **kwargs: object) -> None:
        raise OSError("disk on fire")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk on fire"):
        await store.put("k", b"new")
    monkeypatch.undo()
    assert await store.get("k") == b"old"
    assert temp_files(tmp_path) == []


async def test_local_sweep_temp(tmp_path: Path) -> None:
    root = tmp_path / "blobs"
    store = LocalBlobStore(root)
    await store.put("keep/me", b"x")
    crash_put(root, "fresh/dir/blob")
    assert await store.list() == ["keep/me"]
    assert await store.sweep_temp(older_than_s=3600) == 0  # may still be an in-flight write
    [leftover] = temp_files(root)
    os.utime(leftover, (1_000_000_000, 1_000_000_000))
    assert await store.sweep_temp(older_than_s=3600) == 1
    assert temp_files(root) == []
    assert not (root / "fresh").exists()  # folders the crash created are gone too
    assert await store.get("keep/me") == b"x"


async def test_local_list_info_reads_file_times_and_skips_temp_files(tmp_path: Path) -> None:
    root = tmp_path / "blobs"
    store = LocalBlobStore(root)
    await store.put("voices/v/old.flac", b"x")
    os.utime(root / "voices/v/old.flac", (1_000_000_000, 1_000_000_000))
    crash_put(root, "voices/v/new.flac")
    [info] = await store.list_info("voices/")
    assert info.key == "voices/v/old.flac"
    assert info.modified_at.timestamp() == 1_000_000_000


async def test_local_delete_prunes_empty_folders_not_root(tmp_path: Path) -> None:
    root = tmp_path / "blobs"
    store = LocalBlobStore(root)
    await store.put("a/b/c/d.bin", b"x")
    await store.put("a/keep.bin", b"x")
    await store.delete("a/b/c/d.bin")
    assert sorted(p.relative_to(root).as_posix() for p in root.rglob("*")) == ["a", "a/keep.bin"]
    await store.delete_prefix("a/")
    assert root.is_dir()
    assert list(root.iterdir()) == []


async def test_local_put_survives_concurrent_pruning(tmp_path: Path) -> None:
    # A delete may prune the very folder a put is writing into; the put must still land.
    store = LocalBlobStore(tmp_path / "blobs")
    for i in range(30):
        await store.put("d/x/old", b"o")
        await asyncio.gather(store.delete("d/x/old"), store.put(f"d/x/new{i}", b"n"))
        assert await store.list() == [f"d/x/new{i}"]
        await store.delete(f"d/x/new{i}")


async def test_local_files_are_private(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    await store.put("voices/v/ref.flac", b"x")
    assert (tmp_path / "blobs/voices/v/ref.flac").stat().st_mode & 0o077 == 0
    assert (tmp_path / "blobs/voices/v").stat().st_mode & 0o077 == 0


async def test_local_hostile_keys_write_nothing_outside_root(tmp_path: Path) -> None:
    root = tmp_path / "jail" / "blobs"
    store = LocalBlobStore(root)
    await store.put("seed", b"x")
    before = sorted(tmp_path.rglob("*"))
    for key in BAD_KEYS:
        with pytest.raises(ValueError):
            await store.put(key, b"evil")
        with pytest.raises(ValueError):
            await store.delete(key)
    for key in ODD_VALID_KEYS:
        await store.put(key, b"ok")
    outside = [p for p in sorted(tmp_path.rglob("*")) if root not in [p, *p.parents]]
    assert outside == [p for p in before if root not in [p, *p.parents]]


async def test_local_never_follows_symlinks_out_of_root(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_bytes(b"secret")
    root = tmp_path / "blobs"
    store = LocalBlobStore(root)
    await store.put("seed", b"x")
    (root / "escape").symlink_to(outside, target_is_directory=True)
    (root / "link").symlink_to(outside / "secret")

    for key in ["escape/secret", "link"]:
        with pytest.raises(BlobNotFound):
            await store.get(key)
        assert not await store.exists(key)
        await store.delete(key)
    with pytest.raises(PermissionError):
        await store.put("escape/new", b"evil")
    assert await store.list() == ["seed"]
    assert await store.delete_prefix("") == 1
    await store.put("link", b"replaced")  # rename replaces the link itself, not its target

    assert sorted(p.name for p in outside.iterdir()) == ["secret"]
    assert (outside / "secret").read_bytes() == b"secret"
    assert not (root / "link").is_symlink()


# --- S3 only ---


@pytest.mark.s3
async def test_s3_ensure_bucket_creates_missing_bucket(seaweedfs_s3: SeaweedS3) -> None:
    bucket = f"voxhub-new-{uuid.uuid4().hex[:8]}"
    store = s3_store(seaweedfs_s3, bucket=bucket)
    with pytest.raises(ClientError):
        await store.put("k", b"x")  # no such bucket yet
    await store.ensure_bucket()
    await store.ensure_bucket()  # idempotent
    await store.put("k", b"x")
    assert await store.get("k") == b"x"
    await store.delete_prefix("")
    await asyncio.to_thread(store._client.delete_bucket, Bucket=bucket)
    await store.aclose()


@pytest.mark.s3
async def test_s3_prefix_isolates_stores_in_one_bucket(seaweedfs_s3: SeaweedS3) -> None:
    tag = uuid.uuid4().hex
    one, two = s3_store(seaweedfs_s3, f"/{tag}/one/"), s3_store(seaweedfs_s3, f"{tag}/two")
    await one.put("voices/a", b"1", content_type="audio/flac")
    await two.put("voices/a", b"2")
    assert (await one.get("voices/a"), await two.get("voices/a")) == (b"1", b"2")
    assert await one.delete_prefix("") == 1
    assert await two.list() == ["voices/a"]

    raw = s3_store(seaweedfs_s3)._client
    head = await asyncio.to_thread(
        raw.head_object, Bucket=seaweedfs_s3.bucket, Key=f"{tag}/two/voices/a"
    )
    assert head["ContentType"] == "application/octet-stream"
    await two.delete_prefix("")
    for store in (one, two):
        await store.aclose()
    raw.close()


@pytest.mark.s3
async def test_s3_content_type_is_stored(seaweedfs_s3: SeaweedS3) -> None:
    store = s3_store(seaweedfs_s3, f"ct-{uuid.uuid4().hex}")
    await store.put("ref.flac", b"x", content_type="audio/flac")
    head = await asyncio.to_thread(
        store._client.head_object, Bucket=seaweedfs_s3.bucket, Key=store.prefix + "ref.flac"
    )
    assert head["ContentType"] == "audio/flac"
    await store.delete_prefix("")
    await store.aclose()


@pytest.mark.s3
async def test_s3_delete_prefix_pages_and_batches(seaweedfs_s3: SeaweedS3) -> None:
    store = s3_store(seaweedfs_s3, f"many-{uuid.uuid4().hex}")
    keys = [f"v/{i:04d}" for i in range(1001)]  # more than one page and one delete batch
    await asyncio.gather(*(store.put(key, b".") for key in keys))
    await store.put("other", b".")
    assert await store.list("v/") == keys
    assert await store.delete_prefix("v/") == len(keys)
    assert await store.list() == ["other"]
    await store.delete_prefix("")
    await store.aclose()


@pytest.mark.s3
async def test_s3_bad_credentials_are_an_error_not_a_miss(seaweedfs_s3: SeaweedS3) -> None:
    store = S3BlobStore(
        endpoint_url=seaweedfs_s3.endpoint_url,
        bucket=seaweedfs_s3.bucket,
        region=seaweedfs_s3.region,
        access_key=seaweedfs_s3.access_key,
        secret_key="wrong",
    )
    with pytest.raises(ClientError):
        await store.exists("k")
    with pytest.raises(ClientError):
        await store.get("k")
    await store.aclose()


# --- factory ---


def test_build_blob_store_local_and_memory(tmp_path: Path) -> None:
    local = build_blob_store(
        Settings(home=tmp_path, storage=StorageSettings(blob_store="local", blob_dir=None))
    )
    assert isinstance(local, LocalBlobStore)
    assert local.root == (tmp_path / "blobs").resolve()
    memory = build_blob_store(Settings(storage=StorageSettings(blob_store="memory")))
    assert isinstance(memory, MemoryBlobStore)


@pytest.mark.s3
async def test_open_blob_store_s3_creates_bucket(seaweedfs_s3: SeaweedS3) -> None:
    bucket = f"voxhub-open-{uuid.uuid4().hex[:8]}"
    storage = StorageSettings(
        blob_store="s3",
        s3_endpoint_url=seaweedfs_s3.endpoint_url,
        s3_bucket=bucket,
        s3_region=seaweedfs_s3.region,
        s3_access_key=seaweedfs_s3.access_key,
        s3_secret_key=seaweedfs_s3.secret_key,
        s3_prefix="voxhub",
    )
    store = await open_blob_store(Settings(storage=storage))
    assert isinstance(store, S3BlobStore)
    raw = boto3.session.Session().client(
        "s3",
        endpoint_url=seaweedfs_s3.endpoint_url,
        aws_access_key_id=seaweedfs_s3.access_key,
        aws_secret_access_key=seaweedfs_s3.secret_key,
        config=Config(region_name=seaweedfs_s3.region, s3={"addressing_style": "path"}),
    )
    await asyncio.to_thread(raw.head_bucket, Bucket=bucket)
    await asyncio.to_thread(raw.delete_bucket, Bucket=bucket)
    raw.close()
    await store.aclose()
