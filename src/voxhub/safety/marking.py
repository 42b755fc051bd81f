"""Marking what voxhub emits: the watermark on the samples, the id in the file's tags and
headers, and the file's hash for detection's exact lookup (voxhub.safety.detection).

Every path that turns samples into an emitted file (speech whole or streamed, dialogue and
video renders, chat replies, ambience mixes) marks the samples after all post-processing
(mixing, loudness) and right before encoding, so what is encoded is what is marked.
"""

from __future__ import annotations

import asyncio
import hashlib

import numpy as np
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from voxhub.audio.encode import Tags
from voxhub.safety.models import MarkedOutput
from voxhub.safety.watermark import Watermarker

# Names the mark in cache keys: a result cached under another (or none) is made again.
WATERMARK_VERSION = "perth-implicit-1"
GENERATED_HEADER = "X-Voxhub-Generated"
ID_HEADER = "X-Voxhub-Generation-Id"
# Hashing in a thread costs more than it saves below this (a second of WAV is 48 kB).
_INLINE_HASH_BYTES = 256 * 1024


async def marked(watermarker: Watermarker, samples: np.ndarray, rate: int) -> np.ndarray:
    """`samples` with the watermark (tens of milliseconds a second of audio: in a thread)."""
    return await asyncio.to_thread(watermarker.apply, samples, rate)


GENERATED_COMMENT = "AI-generated with voxhub; carries an inaudible watermark"
# An ambience mix of uploaded speech: voxhub made the file, not (necessarily) its voice.
MIXED_COMMENT = "Mixed with voxhub; carries an inaudible watermark"


def output_tags(object_id: str, comment: str = GENERATED_COMMENT) -> Tags:
    """What a marked file says of itself in its container's metadata."""
    return {"voxhub_generation_id": object_id, "comment": comment}


def generated_headers(object_id: str) -> dict[str, str]:
    """The headers every response carrying marked audio or video has."""
    return {GENERATED_HEADER: "true", ID_HEADER: object_id}


async def sha256_of(data: bytes) -> str:
    if len(data) <= _INLINE_HASH_BYTES:
        return hashlib.sha256(data).hexdigest()
    return await asyncio.to_thread(lambda: hashlib.sha256(data).hexdigest())


async def note_output(
    session: AsyncSession,
    data: bytes,
    *,
    kind: str,
    object_id: str,
    owner_id: str | None,
    media_type: str,
) -> MarkedOutput:
    """Add the file's hash to the caller's transaction (it commits with what it records)."""
    row = MarkedOutput(
        sha256=await sha256_of(data),
        kind=kind,
        object_id=object_id,
        owner_id=owner_id,
        media_type=media_type,
    )
    session.add(row)
    return row


async def note_output_once(
    session: AsyncSession,
    data: bytes,
    *,
    kind: str,
    object_id: str,
    owner_id: str | None,
    media_type: str,
) -> bool:
    """`note_output` for a file made again on each download (a take, a converted copy):
    noted the first time only; True when it added a row (the caller commits it)."""
    digest = await sha256_of(data)
    if await session.scalar(select(MarkedOutput.id).where(MarkedOutput.sha256 == digest)):
        return False
    session.add(
        MarkedOutput(
            sha256=digest, kind=kind, object_id=object_id, owner_id=owner_id, media_type=media_type
        )
    )
    return True
