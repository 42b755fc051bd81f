"""Engine profiles of a voice: stored as blobs, rebuilt when the engine version changes."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
from dataclasses import dataclass
from typing import Any, overload

import anyio
import numpy as np
from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from voxhub.audio.decode import decode
from voxhub.container import Container
from voxhub.core.clock import utcnow
from voxhub.core.errors import Conflict
from voxhub.core.ids import new_id
from voxhub.engines.base import Engine, ProfileStatus, Reference, VoiceProfile
from voxhub.storage.base import BlobNotFound
from voxhub.storage.outbox import discard, drain, enqueue
from voxhub.voices.forget import forget_discarded, forget_later, forgets, submit_forgets
from voxhub.voices.models import Voice, VoiceProfileRow

# How often a profile read may find the row replaced under it before giving up.
_RACES = 3


def embedding_to_npy(embedding: np.ndarray) -> bytes:
    """A float32 vector as `.npy` bytes."""
    buf = io.BytesIO()
    np.save(buf, np.asarray(embedding, dtype=np.float32), allow_pickle=False)
    return buf.getvalue()


def npy_to_embedding(data: bytes) -> np.ndarray:
    """The inverse of `embedding_to_npy`."""
    return np.asarray(np.load(io.BytesIO(data), allow_pickle=False), dtype=np.float32)


def seed_for(*parts: bytes) -> int:
    """A deterministic seed from reference bytes, so re-enrolment reproduces the same profile."""
    h = hashlib.sha256()
    for part in parts:
        h.update(part)
    return int.from_bytes(h.digest()[:4], "big")


async def load_reference_audio(c: Container, voice: Voice) -> Reference:
    """All of a voice's cleaned references joined, with the voice's mean embedding."""
    rate = c.settings.working_sample_rate
    pieces = []
    for ref in voice.references:
        data = await c.blobs.get(ref.blob_key)
        audio = await asyncio.to_thread(decode, data, c.settings.limits, rate)
        pieces.append(audio.samples)
    samples = np.concatenate(pieces) if pieces else np.zeros(0, np.float32)
    seed = seed_for(*(r.sha256.encode() for r in voice.references))
    return Reference(samples, rate, npy_to_embedding(voice.embedding), seed=seed)


@dataclass(frozen=True)
class StoredProfile:
    """A profile written in the caller's transaction; after the commit, drain `removal_id` and
    submit `forget_ids` (`commit_stored` does both)."""

    blob_key: str
    removal_id: str | None  # the outbox row removing the blob it replaced
    # The voice.forget job deleting the replaced profile's clone at its provider, if it has one.
    forget_ids: tuple[str, ...] = ()


@overload
async def store_profile(
    c: Container, session: AsyncSession, voice_id: str, profile: VoiceProfile
) -> StoredProfile: ...


@overload
async def store_profile(
    c: Container, session: AsyncSession, voice_id: str, profile: VoiceProfile, *, if_revision: int
) -> StoredProfile | None: ...


async def store_profile(
    c: Container,
    session: AsyncSession,
    voice_id: str,
    profile: VoiceProfile,
    *,
    if_revision: int | None = None,
) -> StoredProfile | None:
    """Write the profile blob and insert or replace its row (uncommitted), bumping its revision.

    A writer whose work started from the row at `if_revision` (0: no row yet) must not replace
    a profile stored meanwhile: then the newer one is kept, the answer is None and this
    profile's blob is already removed (its clone at a provider is the caller's to forget:
    `forget_discarded`). Without it (a new reference: the newest input there is)
    the row is replaced whatever it holds.
    """
    return await _store(c, session, voice_id, profile, if_revision)


async def _store(
    c: Container,
    session: AsyncSession,
    voice_id: str,
    profile: VoiceProfile,
    if_revision: int | None,
) -> StoredProfile | None:
    # The replaced blob's removal is promised in the same transaction, so it happens exactly
    # when (and only if) the replacement commits.
    key = f"voices/{voice_id}/profiles/{profile.engine}-{new_id()}.bin"
    # Shielded, both: a put runs in a thread that a cancelled request (a client that hung up)
    # does not stop, so an unshielded put could land after the removal meant to undo it.
    with anyio.CancelScope(shield=True):
        await c.blobs.put(key, profile.data, "application/octet-stream")
    try:
        stored, old = await _replace_row(session, voice_id, profile, key, if_revision)
        if not stored:
            await discard(c.blobs, [key])
            return None
        forget_ids = await _forget_replaced(c, session, voice_id, profile.engine, old)
    except BaseException:
        with anyio.CancelScope(shield=True):
            await discard(c.blobs, [key])
        raise
    removal = enqueue(session, old.blob_key, "profile_replaced") if old else None
    return StoredProfile(key, removal.id if removal else None, tuple(forget_ids))


@dataclass(frozen=True)
class _Replaced:
    """What the row held before it was replaced."""

    blob_key: str
    engine_version: str
    status: str


async def _forget_replaced(
    c: Container, session: AsyncSession, voice_id: str, engine: str, old: _Replaced | None
) -> list[str]:
    """The forget job for the replaced profile's clone, in the transaction that replaces it: a
    rollback keeps both the stored profile and its clone."""
    if old is None or not forgets(c, engine):
        return []
    try:
        data = await c.blobs.get(old.blob_key)  # read now: the outbox removes it after commit
    except BlobNotFound:
        return []  # lost: nothing says which clone it was
    replaced = VoiceProfile(engine, old.engine_version, data, ProfileStatus(old.status))
    return await forget_later(c, session, voice_id, [replaced])


async def _replace_row(
    session: AsyncSession,
    voice_id: str,
    profile: VoiceProfile,
    key: str,
    if_revision: int | None,
) -> tuple[bool, _Replaced | None]:
    """(whether the row was written, what it held before)."""
    mine = (VoiceProfileRow.voice_id == voice_id, VoiceProfileRow.engine == profile.engine)
    values = {
        "engine_version": profile.engine_version,
        "status": str(profile.status),
        "blob_key": key,
        "metrics": dict(profile.metrics),
    }
    if if_revision == 0:
        return await _insert_if_absent(session, voice_id, profile.engine, values), None
    current = select(
        VoiceProfileRow.blob_key, VoiceProfileRow.engine_version, VoiceProfileRow.status
    ).where(*mine)
    if if_revision is not None:
        current = current.where(VoiceProfileRow.revision == if_revision)
    row = (await session.execute(current)).one_or_none()
    if row is None:
        if if_revision is not None:
            return False, None
        session.add(VoiceProfileRow(voice_id=voice_id, engine=profile.engine, **values))
        return True, None
    replace = update(VoiceProfileRow).where(*mine)
    if if_revision is not None:
        # Revisions only grow, so one still at `if_revision` still holds what was read.
        replace = replace.where(VoiceProfileRow.revision == if_revision)
    done = await session.execute(
        replace.values(
            **values, revision=VoiceProfileRow.revision + 1, updated_at=utcnow()
        ).execution_options(synchronize_session=False)
    )
    return getattr(done, "rowcount", 0) == 1, _Replaced(*row)


async def _insert_if_absent(
    session: AsyncSession, voice_id: str, engine: str, values: dict[str, Any]
) -> bool:
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    now = utcnow()
    done = await session.execute(
        insert(VoiceProfileRow)
        .values(
            id=new_id(),
            voice_id=voice_id,
            engine=engine,
            revision=1,
            created_at=now,
            updated_at=now,
            **values,
        )
        .on_conflict_do_nothing(index_elements=["voice_id", "engine"])
    )
    return getattr(done, "rowcount", 0) == 1


async def commit_stored(c: Container, session: AsyncSession, stored: StoredProfile) -> None:
    """Commit the transaction that stored a profile: its blob goes if the commit fails, the blob
    it replaced (and that one's clone at a provider) once it succeeds."""
    try:
        await session.commit()
    except BaseException:
        await session.rollback()
        await discard(c.blobs, [stored.blob_key])
        raise
    await commit_done(c, stored)


async def commit_done(c: Container, stored: StoredProfile) -> None:
    """What follows a committed profile: the replaced blob goes, its clone's forget job runs."""
    if stored.removal_id:
        await drain(c.sessions, c.blobs, [stored.removal_id])
    await submit_forgets(c, list(stored.forget_ids))


async def current_profile(
    c: Container, session: AsyncSession, voice: Voice, engine: Engine
) -> tuple[VoiceProfile, int]:
    """The voice's profile for `engine` and the row revision it is, enrolled afresh (and
    committed) if missing or made by an older engine version."""
    for _ in range(_RACES):
        row = await session.scalar(
            select(VoiceProfileRow)
            .where(VoiceProfileRow.voice_id == voice.id, VoiceProfileRow.engine == engine.info.name)
            .execution_options(populate_existing=True)
        )
        if row is not None and row.engine_version == engine.info.version:
            # Missing when replaced since the row was read (then the rebuild below loses its
            # revision check and the next round reads the new row), or lost: then rebuilt.
            with contextlib.suppress(BlobNotFound):
                data = await c.blobs.get(row.blob_key)
                metrics = dict(row.metrics)
                status = ProfileStatus(row.status)
                return VoiceProfile(row.engine, row.engine_version, data, status, metrics), (
                    row.revision
                )
        revision = row.revision if row is not None else 0
        reference = await load_reference_audio(c, voice)
        profile = await engine.enroll(reference)
        stored = await store_profile(c, session, voice.id, profile, if_revision=revision)
        if stored is None:
            # Another writer stored one meanwhile: serve that one, and delete the clone made
            # for this one at its provider (ElevenLabs counts them against a voice limit).
            await forget_discarded(c, session, voice.id, [profile])
            continue
        await commit_stored(c, session, stored)
        return profile, revision + 1
    raise Conflict("the voice's profile kept changing; try again")


async def profile_for(
    c: Container, session: AsyncSession, voice: Voice, engine: Engine
) -> VoiceProfile:
    """The voice's profile for `engine`, enrolled afresh if missing or made by an older version."""
    profile, _ = await current_profile(c, session, voice, engine)
    return profile
