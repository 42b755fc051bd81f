"""The sweep: carry out the blob outbox's promises, then remove blobs that no row refers to.

Blobs are written before their rows commit, so a process that dies in between leaves blobs
nobody refers to. They are found by comparing the store with the tables that hold blob keys;
only blobs older than a grace period go, so an upload still in flight keeps its blobs.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from voxhub.characters.models import CharacterImage
from voxhub.chats.models import ChatMessageRow
from voxhub.compat.seed004_uploads import remove_abandoned_uploads
from voxhub.core.clock import utcnow
from voxhub.renders.models import LineTake, ScriptRender, VideoBackground
from voxhub.safety.consent_models import VoiceConsent
from voxhub.safety.consent_retention import purge_expired_consents
from voxhub.security.purge import purge_expired
from voxhub.settings import Settings
from voxhub.storage.base import BlobStore
from voxhub.storage.local import LocalBlobStore
from voxhub.storage.outbox import drain
from voxhub.storage.removal import remove_each
from voxhub.synthesis.models import Generation
from voxhub.synthesis.timings import WORDS_SUFFIX
from voxhub.voices.models import VoiceProfileRow, VoiceReference

if TYPE_CHECKING:
    from voxhub.container import Container

log = logging.getLogger(__name__)

# Every column that names a blob under SWEPT_PREFIXES; a new one must be added here, or the
# sweep would remove its blobs once they pass the grace period.
BLOB_KEY_COLUMNS = (
    VoiceReference.blob_key,
    VoiceProfileRow.blob_key,
    Generation.blob_key,
    CharacterImage.blob_key,
    CharacterImage.thumb_key,
    ChatMessageRow.audio_key,
    LineTake.blob_key,
    ScriptRender.audio_key,
    ScriptRender.video_key,
    VideoBackground.blob_key,
    VoiceConsent.consent_audio_key,
)
# Where those blobs live; other prefixes (seed uploads, tests' probes) are left alone.
SWEPT_PREFIXES = ("voices/", "characters/", "chats/", "scripts/", "backgrounds/", "consents/")
# Blobs kept beside another one, under its key plus a suffix (a generation's word times):
# referenced while the blob they sit beside is.
COMPANION_SUFFIXES = (WORDS_SUFFIX,)
_BATCH = 500


@dataclass
class SweepReport:
    removals_done: int = 0
    removals_failed: int = 0
    orphans_removed: int = 0
    orphans_failed: int = 0
    # Seed 004 clone recordings no job will read again (voxhub.compat.seed004_uploads).
    uploads_removed: int = 0
    temp_files_removed: int = 0
    # Expired idempotency records, HMAC signatures and consent rows past retention, by table.
    expired_purged: dict[str, int] = field(default_factory=dict)

    @property
    def failed(self) -> bool:
        return bool(self.removals_failed or self.orphans_failed)


async def run_sweep(
    sessions: async_sessionmaker[AsyncSession],
    blobs: BlobStore,
    grace_s: float,
    *,
    now: datetime | None = None,
    every: bool = False,
) -> SweepReport:
    """One pass: due outbox rows (all of them with `every`), orphan blobs, abandoned seed 004
    recordings, crashed temp files,
    expired idempotency keys and HMAC signatures, consent rows past their retention."""
    now = now or utcnow()
    drained = await drain(sessions, blobs, now=now, every=every)
    report = SweepReport(drained.done, drained.failed)
    report.orphans_removed, report.orphans_failed = await remove_orphans(
        sessions, blobs, grace_s, now=now
    )
    report.uploads_removed, uploads_failed = await remove_abandoned_uploads(
        sessions, blobs, grace_s, now=now
    )
    report.orphans_failed += uploads_failed
    if isinstance(blobs, LocalBlobStore):
        report.temp_files_removed = await blobs.sweep_temp(grace_s)
    # Expired keys are also dropped when a client sends one again; this catches the rest.
    report.expired_purged = await purge_expired(sessions)
    report.expired_purged |= await purge_expired_consents(sessions, blobs)
    return report


async def remove_orphans(
    sessions: async_sessionmaker[AsyncSession],
    blobs: BlobStore,
    grace_s: float,
    *,
    now: datetime | None = None,
) -> tuple[int, int]:
    """Remove blobs under `SWEPT_PREFIXES` older than `grace_s` that no row names:
    (removed, failed)."""
    cutoff = (now or utcnow()) - timedelta(seconds=grace_s)
    # The store is listed before the tables are read: a row committed in between then still
    # protects its blob, and a blob written in between is too young to be a candidate.
    old = [
        info.key
        for prefix in SWEPT_PREFIXES
        for info in await blobs.list_info(prefix)
        if info.modified_at < cutoff
    ]
    removed = failed = 0
    for start in range(0, len(old), _BATCH):
        batch = old[start : start + _BATCH]
        orphans = set(batch) - await _referenced(sessions, batch)
        done, not_done = await remove_each(blobs, orphans, "orphan blob")
        removed, failed = removed + done, failed + not_done
    return removed, failed


def _owner_key(key: str) -> str:
    """The key a companion blob sits beside (itself for any other blob)."""
    for suffix in COMPANION_SUFFIXES:
        if key.endswith(suffix):
            return key[: -len(suffix)]
    return key


async def _referenced(sessions: async_sessionmaker[AsyncSession], keys: Sequence[str]) -> set[str]:
    owners = {key: _owner_key(key) for key in keys}
    named: set[str] = set()
    async with sessions() as session:
        for column in BLOB_KEY_COLUMNS:
            wanted = set(owners.values())
            named.update(await session.scalars(select(column).where(column.in_(wanted))))
    return {key for key, owner in owners.items() if owner in named}


async def sweep_standalone(settings: Settings, grace_s: float | None = None) -> SweepReport:
    """A whole sweep from settings alone, retrying every pending removal (`voxhub sweep`)."""
    from voxhub.db.migrate import upgrade_to_head
    from voxhub.db.session import create_engine, create_sessionmaker
    from voxhub.storage.factory import open_blob_store

    db = create_engine(settings.resolved_database_url)
    try:
        await upgrade_to_head(db)
        blobs = await open_blob_store(settings)
        try:
            grace = settings.storage.sweep_grace_s if grace_s is None else grace_s
            return await run_sweep(create_sessionmaker(db), blobs, grace, every=True)
        finally:
            await blobs.aclose()
    finally:
        await db.dispose()


def start_sweep(c: Container) -> None:
    """Run the sweep every `sweep_interval_s` in the background (never when it is 0)."""
    interval = c.settings.storage.sweep_interval_s
    if interval > 0:
        c.extras["sweep"] = asyncio.create_task(_every(c, interval), name="blob-sweep")


async def stop_sweep(c: Container) -> None:
    """Stop the background sweep; a removal it had claimed is retried once its lease ends."""
    task = c.extras.pop("sweep", None)
    if isinstance(task, asyncio.Task):
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def _every(c: Container, interval: float) -> None:
    while True:
        await asyncio.sleep(interval)
        try:
            report = await run_sweep(c.sessions, c.blobs, c.settings.storage.sweep_grace_s)
        except Exception:
            log.exception("the blob sweep failed; it runs again in %.0f s", interval)
            continue
        if report.failed:
            log.warning("blob sweep: %s", report)
        elif report.removals_done or report.orphans_removed or report.uploads_removed:
            log.info("blob sweep: %s", report)
