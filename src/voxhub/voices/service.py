"""Voice use cases. Blobs are written before the commit and removed again if it fails; blobs
the rows stop needing are promised to the blob outbox in the same transaction.

Reads live in `voxhub.voices.queries`; they are imported here so callers need one module.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass

import anyio
import numpy as np
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from voxhub.accounts.principal import Principal
from voxhub.activities import service as activities
from voxhub.activities.models import ActivityType
from voxhub.audio.encode import encode
from voxhub.audio.reference import PreparedReference, prepare_reference
from voxhub.audio.speaker import mean_embedding
from voxhub.audit import service as audit
from voxhub.container import Container
from voxhub.core.clock import utcnow
from voxhub.core.errors import Conflict, InvalidInput
from voxhub.core.ids import new_id
from voxhub.credits import ledger
from voxhub.credits.pricing import clone_cost
from voxhub.credits.service import check_affordable, paid_by_job
from voxhub.engines.base import Reference, VoiceProfile
from voxhub.safety import blocklist
from voxhub.safety import consent as consent_gate
from voxhub.storage.outbox import discard, drain, enqueue
from voxhub.voices.enrolment import after_commit, enroll
from voxhub.voices.filenames import clean_filename, file_type
from voxhub.voices.forget import forget_discarded, forget_later, stored_profiles, submit_forgets
from voxhub.voices.models import Voice, VoiceReference
from voxhub.voices.profiles import (
    embedding_to_npy,
    load_reference_audio,
    npy_to_embedding,
    seed_for,
)
from voxhub.voices.queries import get_owned_voice, get_voice, list_voices, visible_to
from voxhub.voices.schemas import ReferenceReportRead, VoiceCreate, VoiceUpdate


@dataclass
class Upload:
    """One uploaded file, read into memory (the body cap bounds its size)."""

    data: bytes
    filename: str | None


@dataclass
class _Processed:
    upload: Upload
    prepared: PreparedReference
    embedding: np.ndarray
    sha256: str
    flac: bytes  # the cleaned reference as it is stored


async def _process(c: Container, upload: Upload, denoise: bool) -> _Processed:
    # Hashing 25 MB alone holds a core for tens of milliseconds: none of it runs on the loop.
    return await asyncio.to_thread(_process_blocking, c, upload, denoise)


def _process_blocking(c: Container, upload: Upload, denoise: bool) -> _Processed:
    s = c.settings
    prepared = prepare_reference(upload.data, s.limits, s.working_sample_rate, denoise=denoise)
    audio = prepared.audio
    embedding = c.speaker.embed(audio.samples, audio.sample_rate)
    flac = encode(audio.samples, audio.sample_rate, "flac")
    return _Processed(upload, prepared, embedding, hashlib.sha256(upload.data).hexdigest(), flac)


def _report(p: _Processed) -> ReferenceReportRead:
    r = p.prepared.report
    return ReferenceReportRead(filename=clean_filename(p.upload.filename), **vars(r))


async def _store_references(
    c: Container, voice: Voice, processed: list[_Processed], written: list[str]
) -> None:
    for p in processed:
        ref_id = new_id()
        key = f"voices/{voice.id}/refs/{ref_id}.flac"
        await c.blobs.put(key, p.flac, "audio/flac")
        written.append(key)
        report = p.prepared.report
        voice.references.append(
            VoiceReference(
                id=ref_id,
                filename=clean_filename(p.upload.filename),
                file_type=file_type(report.has_video),
                blob_key=key,
                duration_s=report.duration_s,
                speech_s=report.speech_s,
                sample_rate_in=report.sample_rate_in,
                embedding=embedding_to_npy(p.embedding),
                report=_report(p).model_dump(),
                sha256=p.sha256,
            )
        )


async def create_voice(
    c: Container,
    session: AsyncSession,
    uploads: list[Upload],
    meta: VoiceCreate,
    p: Principal,
    *,
    voice_id: str | None = None,
    log_activity: bool = True,
    engine: str | None = None,
    consent: consent_gate.Claim = None,
) -> tuple[Voice, list[ReferenceReportRead]]:
    """Register a voice from one or more reference recordings (a job passes `voice_id`, derived
    from its own id, so a re-run after a crash cannot create a second voice). A voice made as
    part of another action (a seed 001 character's) is that action's activity, not its own.
    Its first profile is enrolled on `engine` (None: the default engine; EngineNotFound, before
    anything is processed, when it is not enabled)."""
    limits = c.settings.limits
    if not uploads:
        raise InvalidInput("a reference recording is required (field 'file' or 'files')")
    if len(uploads) > limits.max_files_per_upload:
        raise InvalidInput(f"at most {limits.max_files_per_upload} files per voice")
    # An engine that is not enabled is refused before any work; the voice keeps its name.
    engine = c.engines.get(engine).info.name
    cost = _clone_price(c, p)
    await check_affordable(c, p.user_id, cost)  # refused before the audio is processed
    processed = [await _process(c, u, meta.denoise) for u in uploads]
    voice_id = voice_id or new_id()
    embeddings = [x.embedding for x in processed]
    # The consent asked for first: see voxhub.safety.consent (admit, gate, before_commit).
    admitted = await consent_gate.admit(c, p, consent, voice_id)
    await blocklist.refuse_blocked(c, p, embeddings)
    voice = Voice(
        id=voice_id,
        owner_id=p.user_id,
        visibility=meta.visibility,
        name=meta.name.strip(),
        description=meta.description.strip(),
        language=meta.language,
        is_kids_voice=meta.is_kids_voice,
        tags=meta.tags,
        embedding=embedding_to_npy(mean_embedding(embeddings)),
        engine=engine,
    )
    reference = Reference(
        samples=await _joined([p.prepared.audio.samples for p in processed]),
        sample_rate=c.settings.working_sample_rate,
        embedding=npy_to_embedding(voice.embedding),
        seed=seed_for(*(p.sha256.encode() for p in processed)),
    )
    hashes = [x.sha256 for x in processed]
    given = await consent_gate.gate(c, session, p, admitted, voice.id, hashes, embeddings)
    written: list[str] = []
    made: list[VoiceProfile] = []
    try:
        session.add(voice)
        await _store_references(c, voice, processed, written)
        await consent_gate.keep_recording(c, admitted, given, written)
        job_id, stored = await enroll(c, session, voice, reference, written, made, engine)
        audit.record(
            session, "voice_cloned", actor_id=p.user_id, target_type="voice", target_id=voice.id
        )
        if log_activity:
            activities.record(
                session,
                p.user_id,
                ActivityType.voice_created,
                f"Voice {activities.quoted(voice.name)} created",
                voice_id=voice.id,
                details={"references": len(processed)},
            )
        await ledger.charge(session, p.user_id, voice.id, cost, "clone")
        await consent_gate.before_commit(c, session, p, given)
        await session.commit()
    except BaseException:
        await _undo(c, session, voice.id, written, made)
        raise
    await after_commit(c, job_id, stored)
    return voice, [_report(x) for x in processed]


async def add_reference(
    c: Container,
    session: AsyncSession,
    voice_id: str,
    upload: Upload,
    denoise: bool,
    p: Principal,
    consent: consent_gate.Claim = None,
) -> tuple[Voice, ReferenceReportRead]:
    """Add a recording to a voice; its embedding and profile (on the engine that speaks it) are
    recomputed from all of them."""
    voice = await get_owned_voice(session, voice_id, p)
    if len(voice.references) >= c.settings.limits.max_files_per_upload * 4:
        raise InvalidInput("this voice has the most references allowed")
    # The profile it speaks with is the one to rebuild (and its old clone the one to forget);
    # an engine not enabled here is refused before any work.
    engine = c.engines.get(voice.engine).info.name
    read = {r.id for r in voice.references}
    cost = _clone_price(c, p)
    await check_affordable(c, p.user_id, cost)
    processed = await _process(c, upload, denoise)
    admitted = await consent_gate.admit(c, p, consent, voice.id)  # before the blocklist
    await blocklist.refuse_blocked(c, p, [processed.embedding], voice)
    sha, new = [processed.sha256], [processed.embedding]
    given = await consent_gate.gate(c, session, p, admitted, voice.id, sha, new)
    previous = await load_reference_audio(c, voice)
    embeddings = [npy_to_embedding(r.embedding) for r in voice.references] + [processed.embedding]
    voice.embedding = embedding_to_npy(mean_embedding(embeddings))
    voice.updated_at = utcnow()
    reference = Reference(
        samples=await _joined([previous.samples, processed.prepared.audio.samples]),
        sample_rate=c.settings.working_sample_rate,
        embedding=npy_to_embedding(voice.embedding),
        seed=seed_for(*(r.sha256.encode() for r in voice.references), processed.sha256.encode()),
    )
    written: list[str] = []
    made: list[VoiceProfile] = []
    try:
        await _store_references(c, voice, [processed], written)
        await consent_gate.keep_recording(c, admitted, given, written)
        job_id, stored = await enroll(c, session, voice, reference, written, made, engine)
        await _check_references_unchanged(session, voice, read)
        audit.record(
            session, "reference_added", actor_id=p.user_id, target_type="voice", target_id=voice.id
        )
        activities.record(
            session,
            voice.owner_id or p.user_id,
            ActivityType.voice_reference_added,
            f"Reference recording added to voice {activities.quoted(voice.name)}",
            voice_id=voice.id,
        )
        await ledger.charge(session, p.user_id, new_id(), cost, "clone: reference added")
        await consent_gate.before_commit(c, session, p, given)
        await session.commit()
    except BaseException:
        await _undo(c, session, voice.id, written, made)
        raise
    await after_commit(c, job_id, stored)
    return voice, _report(processed)


def _clone_price(c: Container, p: Principal) -> int:
    """A clone (a new voice, or a reference added: either builds a new profile) is paid by the
    request, in the commit that stores it; the refinement job that may follow is part of it
    and free. A job cloning on its owner's behalf has its own hold."""
    return 0 if paid_by_job(p) else clone_cost(c.settings.credits)


async def _check_references_unchanged(session: AsyncSession, voice: Voice, read: set[str]) -> None:
    """Refuse to store a profile made without a reference another upload added meanwhile.

    The voice row stays locked until commit (PostgreSQL; SQLite holds its one write lock since
    the flush), so of two concurrent uploads the second sees the first's reference.
    """
    await session.scalar(select(Voice.id).where(Voice.id == voice.id).with_for_update())
    mine = {r.id for r in voice.references} - read
    stored = set(
        await session.scalars(select(VoiceReference.id).where(VoiceReference.voice_id == voice.id))
    )
    if stored != read | mine:
        raise Conflict(
            "the voice's references changed while this one was processed; send it again",
            voice_id=voice.id,
        )


async def _joined(parts: list[np.ndarray]) -> np.ndarray:
    # Minutes of audio from several references: a copy of hundreds of megabytes.
    return await asyncio.to_thread(np.concatenate, parts)


async def _undo(
    c: Container,
    session: AsyncSession,
    voice_id: str,
    written: list[str],
    made: list[VoiceProfile],
) -> None:
    """A clone or reference that failed before its commit: nothing of it stays, neither the
    blobs written nor the clone its enrolment made at a provider. Shielded: a client that hung
    up cancels the request, and the cancellation would otherwise cut this cleanup short."""
    with anyio.CancelScope(shield=True):
        await session.rollback()
        await discard(c.blobs, written)
        await forget_discarded(c, session, voice_id, made)


async def update_voice(
    session: AsyncSession, voice_id: str, changes: VoiceUpdate, p: Principal
) -> Voice:
    """Change a voice's metadata."""
    voice = await get_owned_voice(session, voice_id, p)
    # The schema has already turned a null into "" or [] where clearing is allowed.
    fields = changes.model_dump(exclude_unset=True)
    for field, value in fields.items():
        setattr(voice, field, value.strip() if isinstance(value, str) else value)
    voice.updated_at = utcnow()
    activities.record(
        session,
        voice.owner_id or p.user_id,
        ActivityType.voice_updated,
        f"Voice {activities.quoted(voice.name)} updated",
        voice_id=voice.id,
        details={"fields": sorted(fields)},
    )
    await session.commit()
    return voice


async def delete_voice(
    c: Container, session: AsyncSession, voice_id: str, p: Principal, *, log_activity: bool = True
) -> None:
    """Delete a voice, its references, profiles and generations (`log_activity` as for
    `create_voice`: a character's own voice goes in the character's activity).

    The rows, the promise to remove every blob under the voice and the jobs deleting its clones
    at providers commit together; the blobs go right after, or, if the store fails, on a later
    sweep, and the clones as those jobs run (retried while a provider is down): the deletion
    stands either way, and nothing of it waits on a provider.
    """
    voice = await get_owned_voice(session, voice_id, p)
    # Read while the rows and blobs exist; the jobs carry the profiles themselves.
    forget_ids = await forget_later(
        c, session, voice_id, await stored_profiles(c, session, voice_id)
    )
    await session.delete(voice)
    await consent_gate.note_voice_deleted(c, session, p, voice_id)
    removal = enqueue(session, f"voices/{voice_id}/", "voice_deleted")
    audit.record(
        session,
        "voice_deleted",
        actor_id=p.user_id,
        target_type="voice",
        target_id=voice_id,
        owner_id=voice.owner_id,
    )
    if log_activity:
        activities.record(
            session,
            voice.owner_id or p.user_id,
            ActivityType.voice_deleted,
            f"Voice {activities.quoted(voice.name)} deleted",
            voice_id=voice_id,
        )
    await session.commit()
    await drain(c.sessions, c.blobs, [removal.id])
    await submit_forgets(c, forget_ids)


__all__ = [
    "Upload",
    "add_reference",
    "create_voice",
    "delete_voice",
    "get_owned_voice",
    "get_voice",
    "list_voices",
    "update_voice",
    "visible_to",
]
