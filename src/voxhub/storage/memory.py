"""Blobs in a dict: for tests of code around storage, never for real data."""

from __future__ import annotations

import builtins
from datetime import datetime

from voxhub.core.clock import utcnow
from voxhub.storage.base import BlobInfo, BlobNotFound
from voxhub.storage.keys import validate_key, validate_prefix


class MemoryBlobStore:
    """A BlobStore in process memory; applies the same key rules as the real adapters."""

    def __init__(self) -> None:
        self._blobs: dict[str, bytes] = {}
        self.content_types: dict[str, str | None] = {}
        # Public so tests can age a blob past the orphan sweep's grace period.
        self.modified: dict[str, datetime] = {}

    async def put(self, key: str, data: bytes, content_type: str | None = None) -> None:
        """Store a copy of `data` under `key`."""
        # bytes() copies a bytearray, so a caller mutating its buffer cannot change the blob.
        self._blobs[validate_key(key)] = bytes(data)
        self.content_types[key] = content_type
        self.modified[key] = utcnow()

    async def get(self, key: str) -> bytes:
        """The blob under `key`; raises `BlobNotFound`."""
        try:
            return self._blobs[validate_key(key)]
        except KeyError:
            raise BlobNotFound(key) from None

    async def exists(self, key: str) -> bool:
        """Whether a blob is stored under `key`."""
        return validate_key(key) in self._blobs

    async def delete(self, key: str) -> None:
        """Remove the blob; no error if it is already gone."""
        self._blobs.pop(validate_key(key), None)
        self.content_types.pop(key, None)
        self.modified.pop(key, None)

    async def delete_prefix(self, prefix: str) -> int:
        """Remove every blob whose key starts with `prefix`; returns how many."""
        doomed = await self.list(prefix)
        for key in doomed:
            await self.delete(key)
        return len(doomed)

    async def list(self, prefix: str = "") -> builtins.list[str]:
        """Keys under `prefix`, sorted."""
        validate_prefix(prefix)
        return sorted(key for key in self._blobs if key.startswith(prefix))

    async def list_info(self, prefix: str = "") -> builtins.list[BlobInfo]:
        """Keys under `prefix` with their last-write times, sorted by key."""
        return [BlobInfo(key, self.modified[key]) for key in await self.list(prefix)]

    async def aclose(self) -> None:
        """Nothing to release."""
