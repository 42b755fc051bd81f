"""Pick the blob store adapter the settings ask for."""

from __future__ import annotations

from typing import TYPE_CHECKING, assert_never

from voxhub.settings import Settings, StorageSettings
from voxhub.storage.base import BlobStore
from voxhub.storage.local import LocalBlobStore
from voxhub.storage.memory import MemoryBlobStore

if TYPE_CHECKING:
    from voxhub.storage.s3 import S3BlobStore


def build_blob_store(settings: Settings) -> BlobStore:
    """The configured adapter, not yet connected; use `open_blob_store` to also create a bucket."""
    storage = settings.storage
    if storage.blob_store == "local":
        return LocalBlobStore(settings.resolved_blob_dir)
    if storage.blob_store == "memory":
        return MemoryBlobStore()
    if storage.blob_store == "s3":
        return _build_s3(storage)
    assert_never(storage.blob_store)


async def open_blob_store(settings: Settings) -> BlobStore:
    """The configured adapter, ready for use: for S3 the bucket is created if missing."""
    if settings.storage.blob_store == "s3":
        s3 = _build_s3(settings.storage)
        await s3.ensure_bucket()
        return s3
    return build_blob_store(settings)


def _build_s3(storage: StorageSettings) -> S3BlobStore:
    # Imported here so local and memory deployments never pay for loading boto3.
    from voxhub.storage.s3 import S3BlobStore

    return S3BlobStore(
        endpoint_url=storage.s3_endpoint_url,
        bucket=storage.s3_bucket,
        region=storage.s3_region,
        access_key=storage.s3_access_key,
        secret_key=storage.s3_secret_key,
        prefix=storage.s3_prefix,
    )
