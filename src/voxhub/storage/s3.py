"""Blobs in any S3-compatible store (AWS, SeaweedFS, MinIO, Garage) through boto3."""

from __future__ import annotations

import asyncio
import builtins
import functools
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, cast

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from voxhub.storage.base import BlobInfo, BlobNotFound
from voxhub.storage.keys import validate_key, validate_prefix

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.literals import BucketLocationConstraintType

_DELETE_BATCH = 1000  # the most keys one DeleteObjects request may carry
_NOT_FOUND = frozenset({"NoSuchKey", "404", "NotFound"})
_NO_BUCKET = frozenset({"NoSuchBucket", "404", "NotFound"})
# boto3 sessions are not thread-safe, so client creation from the shared one is serialized.
_SESSION_LOCK = threading.Lock()


@functools.cache
def _shared_session() -> boto3.session.Session:
    """The process-wide boto3 session; it caches the parsed S3 model, so new clients are cheap."""
    return boto3.session.Session()


def _client_config(region: str) -> Config:
    return Config(
        region_name=region,
        signature_version="s3v4",
        # Path-style URLs (host/bucket/key) work without per-bucket DNS, which self-hosted
        # SeaweedFS and MinIO setups rarely have.
        s3={"addressing_style": "path"},
        # "standard" retries throttling and transient 5xx with backoff; 5 tries rides out a
        # restarting gateway without hiding a dead one for long.
        retries={"max_attempts": 5, "mode": "standard"},
        connect_timeout=5,
        read_timeout=60,
        # Calls run in asyncio's default thread pool; match it so threads never queue on the pool.
        max_pool_connections=32,
        # boto3 >= 1.36 adds CRC checksums to every upload by default, which several
        # S3-compatible stores reject; send them only where the API requires one.
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
    )


def _utc(at: datetime | None) -> datetime:
    # A gateway that leaves LastModified out gets "just written": its blobs are never too old
    # for the orphan sweep to be sure of.
    if at is None:
        return datetime.now(UTC)
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


class S3BlobStore:
    """A BlobStore in one bucket, with every key under an optional `prefix`."""

    def __init__(
        self,
        endpoint_url: str | None,
        bucket: str,
        region: str,
        access_key: str | None,
        secret_key: str | None,
        prefix: str = "",
    ) -> None:
        prefix = prefix.strip("/")
        self.bucket = bucket
        self.prefix = f"{validate_key(prefix)}/" if prefix else ""
        with _SESSION_LOCK:
            self._client: S3Client = _shared_session().client(
                "s3",
                endpoint_url=endpoint_url,
                aws_access_key_id=access_key,
                aws_secret_access_key=secret_key,
                config=_client_config(region),
            )

    async def ensure_bucket(self) -> None:
        """Create the bucket if it does not exist yet."""
        await asyncio.to_thread(self._ensure_bucket)

    async def put(self, key: str, data: bytes, content_type: str | None = None) -> None:
        """Store `data` under `key`; one PUT, which S3 applies atomically."""
        full = self._full(key)
        await asyncio.to_thread(
            self._client.put_object,
            Bucket=self.bucket,
            Key=full,
            Body=data,
            ContentType=content_type or "application/octet-stream",
        )

    async def get(self, key: str) -> bytes:
        """The blob under `key`; raises `BlobNotFound`."""
        return await asyncio.to_thread(self._get, key, self._full(key))

    async def exists(self, key: str) -> bool:
        """Whether a blob is stored under `key`."""
        full = self._full(key)
        try:
            await asyncio.to_thread(self._client.head_object, Bucket=self.bucket, Key=full)
        except ClientError as exc:
            if _error_code(exc) in _NOT_FOUND:
                return False
            raise
        return True

    async def delete(self, key: str) -> None:
        """Remove the blob; S3 deletes are already idempotent."""
        full = self._full(key)
        await asyncio.to_thread(self._client.delete_object, Bucket=self.bucket, Key=full)

    async def delete_prefix(self, prefix: str) -> int:
        """Remove every blob whose key starts with `prefix`; returns how many."""
        return await asyncio.to_thread(self._delete_prefix, self.prefix + validate_prefix(prefix))

    async def list(self, prefix: str = "") -> builtins.list[str]:
        """Keys under `prefix`, sorted."""
        full = self.prefix + validate_prefix(prefix)
        keys = await asyncio.to_thread(lambda: builtins.list(self._iter_keys(full)))
        return sorted(key.removeprefix(self.prefix) for key in keys)

    async def list_info(self, prefix: str = "") -> builtins.list[BlobInfo]:
        """Keys under `prefix` with the store's LastModified times, sorted by key."""
        full = self.prefix + validate_prefix(prefix)
        objects = await asyncio.to_thread(lambda: builtins.list(self._iter_objects(full)))
        infos = [BlobInfo(key.removeprefix(self.prefix), _utc(at)) for key, at in objects]
        return sorted(infos, key=lambda info: info.key)

    async def aclose(self) -> None:
        """Close the client's connection pool."""
        await asyncio.to_thread(self._client.close)

    # --- blocking helpers, run in a worker thread ---

    def _full(self, key: str) -> str:
        return self.prefix + validate_key(key)

    def _ensure_bucket(self) -> None:
        try:
            self._client.head_bucket(Bucket=self.bucket)
            return
        except ClientError as exc:
            if _error_code(exc) not in _NO_BUCKET:
                raise
        region = self._client.meta.region_name
        try:
            # us-east-1 is the one region that refuses an explicit LocationConstraint.
            if region and region != "us-east-1":
                self._client.create_bucket(
                    Bucket=self.bucket,
                    CreateBucketConfiguration={
                        "LocationConstraint": cast("BucketLocationConstraintType", region)
                    },
                )
            else:
                self._client.create_bucket(Bucket=self.bucket)
        except ClientError as exc:
            # Another replica may have created it between our HEAD and our CREATE.
            if _error_code(exc) not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                raise

    def _get(self, key: str, full: str) -> bytes:
        try:
            response = self._client.get_object(Bucket=self.bucket, Key=full)
        except ClientError as exc:
            if _error_code(exc) in _NOT_FOUND:
                raise BlobNotFound(key) from None
            raise
        body = response["Body"]
        try:
            return body.read()
        finally:
            body.close()

    def _iter_keys(self, full_prefix: str) -> Iterator[str]:
        for key, _ in self._iter_objects(full_prefix):
            yield key

    def _iter_objects(self, full_prefix: str) -> Iterator[tuple[str, datetime | None]]:
        paginator = self._client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=full_prefix):
            for obj in page.get("Contents", []):
                if "Key" in obj:
                    yield obj["Key"], obj.get("LastModified")

    def _delete_prefix(self, full_prefix: str) -> int:
        # Deleting page by page keeps memory flat however many blobs match; list_objects_v2
        # continuation tokens stay valid across deletes of keys already returned.
        removed = 0
        batch: builtins.list[str] = []
        for key in self._iter_keys(full_prefix):
            batch.append(key)
            if len(batch) == _DELETE_BATCH:
                removed += self._delete_batch(batch)
                batch = []
        if batch:
            removed += self._delete_batch(batch)
        return removed

    def _delete_batch(self, keys: builtins.list[str]) -> int:
        response = self._client.delete_objects(
            Bucket=self.bucket,
            Delete={"Objects": [{"Key": key} for key in keys], "Quiet": True},
        )
        errors = response.get("Errors", [])
        if errors:
            first = errors[0]
            raise OSError(
                f"S3 refused to delete {len(errors)} of {len(keys)} blobs, "
                f"e.g. {first.get('Key')!r}: {first.get('Code')} {first.get('Message')}"
            )
        return len(keys)
