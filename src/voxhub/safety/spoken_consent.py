"""Spoken consent: the speaker reads their phrase aloud, and voxhub checks the words and the voice.

The consent gate calls `verify_spoken_consent` under the `spoken` policy, before anything of
the voice is stored. It refuses (and audits the refusal, committed on its own) unless the
recording says the phrase issued to this caller, with its code, in the voice of every new
reference. It writes nothing: the phrase is marked used by `use_phrase`, in the caller's
transaction just before it commits the voice (see there why then).
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NoReturn

import numpy as np
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from voxhub.accounts.principal import Principal
from voxhub.audio.recognizer import shared_recognizer
from voxhub.audio.reference import prepare_reference
from voxhub.audio.speaker import cosine
from voxhub.audit import service as audit
from voxhub.container import Container
from voxhub.core.clock import utcnow
from voxhub.core.errors import InvalidInput, NotFound, VoxhubError
from voxhub.safety.challenge_models import ConsentChallenge
from voxhub.safety.challenges import owned_challenge
from voxhub.safety.consent_words import says_code, word_error_rate
from voxhub.safety.errors import (
    ConsentMismatch,
    ConsentPhraseExpired,
    ConsentPhraseUsed,
    ConsentRequired,
    SpeakerMismatch,
)

# Resemblyzer cosine between the consent recording and the reference, both cleaned like a
# reference upload, at least. Chosen on ../shared/data/speech + speech-more (the middle of the
# widest run with the fewest FAR + FRR errors over every pair of recordings), tested on
# speech-pool halves; the figures are in the README ("Consent"), `python -m
# bench.consent_calibration` recomputes them, tests/safety/test_consent_calibration.py too.
SPEAKER_THRESHOLD = 0.77
# Word error rate of the transcript against the whole phrase (sentence, statement and code),
# at most. Whisper tiny.en on speech/ recordings read against their own text scores at most
# 0.12; a cheat who reads another everyday sentence but the right statement and code scores
# 0.22 at best (text only, over every pair of phrases.SENTENCES). 0.25, the figure proposed
# in RELIABILITY.md, would let 4 of those 3540 cheats through; the middle of the gap is 0.16.
WER_THRESHOLD = 0.16
# A phrase takes ten seconds to read: more than this is not a consent recording, and would
# only cost recognition time.
MAX_CONSENT_SECONDS = 60.0
# Ids are uuids; anything longer is no phrase of ours and is not copied into the audit log.
_ID_CHARS = 36


@dataclass(frozen=True)
class SpokenConsent:
    """What the consent recording was found to say, and how it compared: kept with the voice."""

    phrase_id: str
    transcript: str
    word_error_rate: float
    code_matched: bool
    speaker_similarity: float
    audio_sha256: str


@dataclass(frozen=True)
class _Heard:
    transcript: str
    embedding: np.ndarray
    sha256: str


async def verify_spoken_consent(
    c: Container,
    session: AsyncSession,
    p: Principal,
    phrase_id: str | None,
    consent_audio: bytes | None,
    reference_embeddings: Sequence[np.ndarray],
) -> SpokenConsent:
    """Check a consent recording against the caller's phrase and the speaker of each new
    reference (one embedding per upload, not their mean: the mean of four recordings of the
    caller and one of someone else is still close to the caller).

    Raises ConsentRequired (no phrase or recording), ConsentPhraseNotFound (unknown or another
    user's), ConsentPhraseUsed, ConsentPhraseExpired, the audio errors of a bad recording,
    ConsentMismatch (words or code) or SpeakerMismatch, each audited as refused first.
    """
    if not phrase_id or not consent_audio:
        missing = "phrase_id" if not phrase_id else "consent_audio"
        await _refuse(
            c,
            session,
            p,
            phrase_id,
            ConsentRequired(f"Spoken consent needs {missing}", missing=missing),
        )
    try:
        # On a session of its own: a read on the caller's would hold its connection (in a
        # transaction, on PostgreSQL) through recognition and the enrolment that follows.
        async with c.sessions() as own:
            challenge = await owned_challenge(own, p, phrase_id)
    except NotFound as exc:
        await _refuse(c, session, p, phrase_id, exc)
    now = utcnow()
    if challenge.used_at is not None:
        await _refuse(c, session, p, phrase_id, ConsentPhraseUsed("This phrase was already used"))
    if challenge.expires_at <= now:
        await _refuse(c, session, p, phrase_id, ConsentPhraseExpired("This phrase has expired"))
    try:
        heard = await asyncio.to_thread(_listen, c, consent_audio)
    except InvalidInput as exc:  # undecodable, too long, too little speech...
        await _refuse(c, session, p, phrase_id, exc)
    wer = word_error_rate(challenge.text, heard.transcript)
    code_matched = says_code(heard.transcript, challenge.code)
    assert reference_embeddings, "the references are processed before the gate"
    # The least similar reference decides: each must be the consenting speaker's.
    similarity = min(cosine(heard.embedding, e) for e in reference_embeddings)
    scores: dict[str, object] = {
        "transcript": heard.transcript[:500],
        "word_error_rate": round(wer, 4),
        "code_matched": code_matched,
        "speaker_similarity": round(similarity, 4),
    }
    # The scores go to the audit log, not to the client: a score to climb would help a cheat.
    if wer > WER_THRESHOLD or not code_matched:
        await _refuse(
            c,
            session,
            p,
            phrase_id,
            ConsentMismatch("The recording does not say the phrase"),
            reason="wrong_code" if wer <= WER_THRESHOLD else "wrong_words",
            scores=scores,
        )
    if similarity < SPEAKER_THRESHOLD:
        await _refuse(
            c,
            session,
            p,
            phrase_id,
            SpeakerMismatch("The consent speaker is not the reference speaker"),
            scores=scores,
        )
    return SpokenConsent(
        phrase_id=challenge.id,
        transcript=heard.transcript,
        word_error_rate=wer,
        code_matched=code_matched,
        speaker_similarity=similarity,
        audio_sha256=heard.sha256,
    )


async def use_phrase(c: Container, session: AsyncSession, p: Principal, phrase_id: str) -> None:
    """Mark the phrase used in the caller's transaction, as the last write before it commits
    the voice: the phrase, the voice and its consent row are one fact and commit together, the
    use case's one commit point. A clone that fails leaves the phrase unused (nothing was made
    with it), and no write of it holds SQLite's one write lock through the enrolment (seconds
    at an engine, where other writers would time out with "database is locked").

    Conditional, so of two uploads racing with one phrase only one marks it: the other's UPDATE
    finds used_at set (PostgreSQL waits on the row lock and re-checks the row once the first
    commits; SQLite runs the two writers one after the other) and is refused 409, its work
    rolled back. The loser has enrolled for nothing; that is the price of not burning the
    phrase before knowing the voice is made.
    """
    marked = await session.execute(
        update(ConsentChallenge)
        .where(ConsentChallenge.id == phrase_id, ConsentChallenge.used_at.is_(None))
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if getattr(marked, "rowcount", 0) != 1:
        await _refuse(c, session, p, phrase_id, ConsentPhraseUsed("This phrase was already used"))


def _listen(c: Container, data: bytes) -> _Heard:
    """Decode, clean, transcribe and embed the consent recording. Blocking: run in a thread."""
    s = c.settings
    # Cleaned as a reference is (trimmed, level), so both embeddings see the same processing.
    limits = s.limits.model_copy(
        update={
            "max_reference_seconds": min(MAX_CONSENT_SECONDS, s.limits.max_reference_seconds),
            "max_video_seconds": min(MAX_CONSENT_SECONDS, s.limits.max_video_seconds),
        }
    )
    audio = prepare_reference(data, limits, s.working_sample_rate).audio
    transcript = shared_recognizer().transcribe(audio.samples, audio.sample_rate)
    embedding = c.speaker.embed(audio.samples, audio.sample_rate)
    return _Heard(transcript, embedding, hashlib.sha256(data).hexdigest())


async def _refuse(
    c: Container,
    session: AsyncSession,
    p: Principal,
    phrase_id: str | None,
    exc: VoxhubError,
    *,
    reason: str | None = None,
    scores: dict[str, object] | None = None,
) -> NoReturn:
    """Roll the caller's transaction back, commit the refusal's audit event on its own, then
    raise. Nothing of the refused upload may be stored anyway, and on SQLite a transaction
    that has written (the caller's work, flushed before `use_phrase`) would lock the audit
    commit out."""
    await session.rollback()
    known_id = phrase_id if phrase_id and len(phrase_id) <= _ID_CHARS else None
    await audit.record_refused(
        c.sessions,
        "consent_refused",
        actor_id=p.user_id,
        target_type="consent_challenge" if known_id else None,
        target_id=known_id,
        reason=reason or exc.code,
        code=exc.code,
        **{k: v for k, v in exc.extra.items() if k != "phrase_id"},
        **(scores or {}),
    )
    raise exc
