"""Removing blobs a sweep found no longer needed, one by one: a failure is counted and logged,
and the next sweep finds the blob again."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from voxhub.storage.base import BlobStore

log = logging.getLogger(__name__)


async def remove_each(blobs: BlobStore, keys: Iterable[str], what: str) -> tuple[int, int]:
    """Delete each key (sorted): (removed, failed). `what` names them in the log."""
    removed = failed = 0
    for key in sorted(keys):
        try:
            await blobs.delete(key)
        except Exception:
            log.warning("%s %s not removed", what, key, exc_info=True)
            failed += 1
            continue
        log.info("removed %s %s", what, key)
        removed += 1
    return removed, failed
