"""The blob store port. Keys are '/'-separated relative paths chosen by voxhub, never by users."""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable


class BlobNotFound(KeyError):
    """No blob under that key."""


@dataclass(frozen=True)
class BlobInfo:
    """A stored key and when it was last written (timezone-aware UTC)."""

    key: str
    modified_at: datetime


@runtime_checkable
class BlobStore(Protocol):
    """Where audio, profiles and outputs are kept."""

    async def put(self, key: str, data: bytes, content_type: str | None = None) -> None:
        """Store `data` under `key` atomically: readers see the old blob or the whole new one."""

    async def get(self, key: str) -> bytes:
        """The blob under `key`; raises `BlobNotFound`."""

    async def exists(self, key: str) -> bool:
        """Whether a blob is stored under `key`."""

    async def delete(self, key: str) -> None:
        """Remove the blob; no error if it is already gone."""

    async def delete_prefix(self, prefix: str) -> int:
        """Remove every blob whose key starts with `prefix`; returns how many."""

    async def list(self, prefix: str = "") -> list[str]:
        """Keys under `prefix`, sorted."""

    async def list_info(self, prefix: str = "") -> builtins.list[BlobInfo]:
        """Keys under `prefix` with their last-write times, sorted by key.

        The orphan sweep needs the times: a blob younger than its grace period may belong to an
        upload whose rows are not committed yet.
        """

    async def aclose(self) -> None:
        """Release connections."""
