"""The blob store port. Keys are '/'-separated relative paths chosen by voxhub, never by users."""

from __future__ import annotations

from typing import Protocol, runtime_checkable


class BlobNotFound(KeyError):
    """No blob under that key."""


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

    async def aclose(self) -> None:
        """Release connections."""
