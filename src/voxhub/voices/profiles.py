"""Engine profiles of a voice: stored as blobs, rebuilt when the engine version changes."""

from __future__ import annotations

import asyncio
import hashlib
import io

import numpy as np
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from voxhub.audio.decode import decode
from voxhub.bootstrap import Container
from voxhub.core.ids import new_id
from voxhub.engines.base import Engine, ProfileStatus, Reference, VoiceProfile
from voxhub.voices.models import Voice, VoiceProfileRow


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


async def store_profile(
    c: Container, session: AsyncSession, voice_id: str, profile: VoiceProfile
) -> tuple[VoiceProfileRow, str | None]:
    """Write the profile blob and upsert its row (uncommitted); returns the replaced blob key."""
    key = f"voices/{voice_id}/profiles/{profile.engine}-{new_id()}.bin"
    await c.blobs.put(key, profile.data, "application/octet-stream")
    row = await session.scalar(
        select(VoiceProfileRow).where(
            VoiceProfileRow.voice_id == voice_id, VoiceProfileRow.engine == profile.engine
        )
    )
    old_key = None
    if row is None:
        row = VoiceProfileRow(voice_id=voice_id, engine=profile.engine)
        session.add(row)
    else:
        old_key = row.blob_key
    row.engine_version = profile.engine_version
    row.status = str(profile.status)
    row.blob_key = key
    row.metrics = dict(profile.metrics)
    return row, old_key


async def profile_for(
    c: Container, session: AsyncSession, voice: Voice, engine: Engine
) -> VoiceProfile:
    """The voice's profile for `engine`, enrolled afresh if missing or made by an older version."""
    row = await session.scalar(
        select(VoiceProfileRow).where(
            VoiceProfileRow.voice_id == voice.id, VoiceProfileRow.engine == engine.info.name
        )
    )
    if row is not None and row.engine_version == engine.info.version:
        data = await c.blobs.get(row.blob_key)
        return VoiceProfile(
            row.engine, row.engine_version, data, ProfileStatus(row.status), dict(row.metrics)
        )
    reference = await load_reference_audio(c, voice)
    profile = await engine.enroll(reference)
    _, old_key = await store_profile(c, session, voice.id, profile)
    await session.commit()
    if old_key:
        await c.blobs.delete(old_key)
    return profile
