"""No-go voices: admins list speakers whom no one may clone here, and every new reference is
compared with the list before anything of it is stored.

An entry is a speaker embedding, from an uploaded recording or from an existing voice; no audio
is kept (see BlockedVoice). A match refuses the clone with 403 `voice_blocked`, audited on its
own commit with the entry and the similarity; the caller is told neither.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from voxhub.accounts.principal import Principal
from voxhub.audio.reference import prepare_reference
from voxhub.audio.speaker import mean_embedding
from voxhub.audit import service as audit
from voxhub.container import Container
from voxhub.core.errors import Conflict
from voxhub.core.ids import is_id
from voxhub.db.pages import newest_first
from voxhub.safety.blocklist_models import BlockedVoice
from voxhub.safety.errors import BlockedVoiceNotFound, VoiceBlocked
from voxhub.voices.models import Voice
from voxhub.voices.profiles import embedding_to_npy, npy_to_embedding
from voxhub.voices.queries import get_voice

# Cosine similarity at or above which a reference counts as the blocked speaker. Chosen by
# `speaker_calibration.highest_threshold_within(scores, max_frr=0.05)` on ../shared/data/speech +
# speech-more (every pair of recordings prepared as references; 50 clips, 10 of speech-more's
# under 3 s of speech are refused as references and left out): missed blocks 6/152 (3.9 %),
# false blocks 0/1073. Held out, speech-pool (60 speakers, each utterance split in two by its
# speech; an easier same-speaker pair): missed 0/60, false blocks 8/7080 (0.11 %). Strangers
# refused matter more than misses here: every upload is compared with every entry, so a
# stranger's chance of a false block grows with the list, a blocked speaker's miss does not.
# `python -m bench.blocklist_calibration` measures it again; the README has the figures.
BLOCK_THRESHOLD = 0.83


@dataclass(frozen=True)
class Match:
    """The closest blocked entry at or above the threshold."""

    blocked_voice_id: str
    similarity: float


async def refuse_blocked(
    c: Container, p: Principal, references: Sequence[np.ndarray], voice: Voice | None = None
) -> None:
    """Raise VoiceBlocked when a new reference's speaker, or the voice they would make, is on
    the list; call it before anything of the upload is stored.

    `references` are the new uploads' embeddings; `voice`, when they are added to one, brings
    its current references, and the mean of all is the embedding the voice would get. The
    refusal is audited on a commit of its own, since the request stores nothing.
    """
    async with c.sessions() as session:
        rows = (await session.execute(select(BlockedVoice.id, BlockedVoice.embedding))).all()
    if not rows:
        return
    kept = [npy_to_embedding(r.embedding) for r in voice.references] if voice else []
    probes = [*references, mean_embedding([*kept, *references])]
    # Decoding a long list and the product are CPU work: off the event loop.
    match = await asyncio.to_thread(closest_blocked, [(r[0], r[1]) for r in rows], probes)
    if match is None:
        return
    await audit.record_refused(
        c.sessions,
        "voice_blocked",
        actor_id=p.user_id,
        target_type="voice" if voice else None,
        target_id=voice.id if voice else None,
        blocked_voice_id=match.blocked_voice_id,
        similarity=round(match.similarity, 4),
        threshold=BLOCK_THRESHOLD,
    )
    raise VoiceBlocked("this voice may not be cloned on this instance")


def closest_blocked(
    entries: Sequence[tuple[str, bytes]],
    probes: Sequence[np.ndarray],
    threshold: float = BLOCK_THRESHOLD,
) -> Match | None:
    """The entry most like any probe, when that similarity reaches `threshold`. One matrix
    product, probes x entries, over unit-length rows."""
    if not entries or not probes:
        return None
    blocked = _unit_rows(np.stack([npy_to_embedding(e) for _, e in entries]))
    scores = _unit_rows(np.stack(probes)) @ blocked.T
    best = np.unravel_index(int(np.argmax(scores)), scores.shape)
    similarity = float(scores[best])
    if similarity < threshold:
        return None
    return Match(entries[int(best[1])][0], similarity)


def _unit_rows(matrix: np.ndarray) -> np.ndarray:
    m = matrix.astype(np.float32, copy=False)
    norms = np.linalg.norm(m, axis=1, keepdims=True)
    return m / np.where(norms > 0, norms, 1.0)


async def block_recording(
    c: Container, session: AsyncSession, data: bytes, label: str, p: Principal
) -> BlockedVoice:
    """Block the speaker of an uploaded recording: it is prepared and embedded as a reference
    would be (refused the same way when it is not usable speech), then dropped."""
    sha256, embedding = await asyncio.to_thread(_embed_recording, c, data)
    entry = BlockedVoice(
        label=label.strip(),
        embedding=embedding_to_npy(embedding),
        source="recording",
        source_sha256=sha256,
        created_by=p.user_id,
    )
    return await _add(session, entry, p)


def _embed_recording(c: Container, data: bytes) -> tuple[str, np.ndarray]:
    s = c.settings
    audio = prepare_reference(data, s.limits, s.working_sample_rate).audio
    return hashlib.sha256(data).hexdigest(), c.speaker.embed(audio.samples, audio.sample_rate)


async def block_voice(
    session: AsyncSession, voice_id: str, label: str, p: Principal
) -> BlockedVoice:
    """Block the speaker of an existing voice (any user's: admins read every voice), by its
    embedding. The voice itself is left as it is; new clones of that speaker are refused."""
    voice = await get_voice(session, voice_id, p)
    entry = BlockedVoice(
        label=label.strip(),
        embedding=voice.embedding,
        source="voice",
        source_voice_id=voice.id,
        created_by=p.user_id,
    )
    return await _add(session, entry, p)


async def _add(session: AsyncSession, entry: BlockedVoice, p: Principal) -> BlockedVoice:
    """Insert the entry with its audit event in one commit; the same source twice is a 409."""
    await _refuse_duplicate(session, entry)
    session.add(entry)
    await session.flush()
    audit.record(
        session,
        "blocked_voice_added",
        actor_id=p.user_id,
        target_type="blocked_voice",
        target_id=entry.id,
        label=entry.label,
        source=entry.source,
        source_sha256=entry.source_sha256,
        source_voice_id=entry.source_voice_id,
    )
    try:
        await session.commit()
    except IntegrityError:  # the same source added at the same moment: that one stands
        await session.rollback()
        raise _duplicate(None) from None
    return entry


async def _refuse_duplicate(session: AsyncSession, entry: BlockedVoice) -> None:
    clauses = []
    if entry.source_sha256:
        clauses.append(BlockedVoice.source_sha256 == entry.source_sha256)
    if entry.source_voice_id:
        clauses.append(BlockedVoice.source_voice_id == entry.source_voice_id)
    existing = await session.scalar(select(BlockedVoice.id).where(or_(*clauses)).limit(1))
    if existing is not None:
        raise _duplicate(existing)


def _duplicate(existing: str | None) -> Conflict:
    extra = {"blocked_voice_id": existing} if existing else {}
    return Conflict("this recording or voice is already on the no-go list", **extra)


async def list_blocked(
    session: AsyncSession, limit: int, cursor: str | None
) -> tuple[list[BlockedVoice], str | None]:
    """A page of the list, newest first, and the next page's cursor."""
    return await newest_first(session, select(BlockedVoice), BlockedVoice, limit, cursor)


async def unblock(session: AsyncSession, blocked_voice_id: str, p: Principal) -> None:
    """Take an entry off the list (audited in the same commit); that speaker may clone again."""
    entry = await session.get(BlockedVoice, blocked_voice_id) if is_id(blocked_voice_id) else None
    if entry is None:
        raise BlockedVoiceNotFound(
            f"no blocked voice {blocked_voice_id}", blocked_voice_id=blocked_voice_id
        )
    await session.delete(entry)
    audit.record(
        session,
        "blocked_voice_removed",
        actor_id=p.user_id,
        target_type="blocked_voice",
        target_id=entry.id,
        label=entry.label,
        source=entry.source,
    )
    await session.commit()
