"""The consent gate: no reference recording is stored without consent to clone its speaker.

A use case that adds references (a new voice, a reference added) calls it in three steps:

- `admit`, once the recordings are processed and before the blocklist is consulted: what needs
  no embedding (the attestation, a standing one on record, the phrase id and recording sent).
  First, so that an upload without consent is answered `consent_required` whoever its speaker
  is; after the blocklist, a 403 `voice_blocked` would tell anyone that a speaker is listed.
- `gate`, before anything is stored: the spoken check (which needs the embeddings), then the
  consent row and its `consent_recorded` event, added to the caller's session.
- `keep_recording`, with the upload's other blobs: a spoken consent's recording.
- `before_commit`, last before the use case's one commit: marks a spoken consent's phrase used.

A refusal at any step commits a `consent_refused` event on its own and raises: the refused
upload stores nothing else.

What it asks depends on `consent_policy` and on what the face can carry:

- A face with a consent field (the main API, the web app, the CLI) passes a `ConsentClaim`:
  the attestation is required under "attestation" and "spoken" (422 `consent_required`), and
  "spoken" also takes the challenge phrase and its recording (checked by
  `voxhub.safety.spoken_consent`).
- A face without one (the seeds', ElevenLabs') passes nothing: the caller's standing
  attestation covers it, else 403 `consent_required` naming the endpoint that records one.
  A queued clone passes `QueuedClone`, naming whose standing attestation it was checked under.
- Under "off" nothing is asked; an attestation sent anyway is recorded.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from voxhub.accounts.principal import Principal
from voxhub.audit import service as audit
from voxhub.audit.context import client_ip_var
from voxhub.container import Container
from voxhub.core.clock import utcnow
from voxhub.core.errors import VoxhubError
from voxhub.core.ids import new_id
from voxhub.safety import consent_standing as standing
from voxhub.safety.consent_models import VoiceConsent
from voxhub.safety.errors import ConsentRequired, StandingConsentRequired
from voxhub.safety.spoken_consent import use_phrase, verify_spoken_consent

Attestation = Literal["self", "written_permission"]
# Where spoken consent recordings are kept, beside their rows in voice_consents.
RECORDINGS = "consents"
ATTESTATIONS: tuple[str, ...] = ("self", "written_permission")


@dataclass(frozen=True)
class ConsentClaim:
    """What an upload through a face with a consent field says (None: the field was left out)."""

    attestation: str | None
    phrase_id: str | None = None
    consent_audio: bytes | None = None


@dataclass(frozen=True)
class QueuedClone:
    """A clone run by a job: covered by the standing attestation of whoever queued it (its
    request was checked, and refused, the same way); `via` is that caller's `Principal.via`,
    `policy` the policy its request was checked under (None: queued before it was kept)."""

    via: str | None
    policy: str | None = None


def _policy(c: Container, claim: Claim) -> str:
    # A queued clone keeps the policy its request was checked under: a worker deciding again
    # from its own settings (another bind address, another default) could refuse what the API
    # accepted, after the caller was told it was queued.
    if isinstance(claim, QueuedClone) and claim.policy in ("attestation", "spoken", "off"):
        return claim.policy
    return c.settings.consent.consent_policy


Claim = ConsentClaim | QueuedClone | None


class _Spoken:
    """What `_decide` answers when the spoken check is still to run."""


_SPOKEN = _Spoken()


@dataclass(frozen=True)
class Admitted:
    """What `admit` let through: the claim, and the consent it stands for (`_SPOKEN`: the
    spoken check is still to run; None: policy "off" and nothing attested)."""

    claim: Claim
    decision: VoiceConsent | _Spoken | None


async def admit(c: Container, p: Principal, claim: Claim, voice_id: str) -> Admitted:
    """The part of the gate that needs no embedding (see the module); refusals audited."""
    policy = _policy(c, claim)
    try:
        return Admitted(claim, await _decide(c, p, claim, policy))
    except VoxhubError as exc:
        await audit.record_refused(
            c.sessions,
            "consent_refused",
            actor_id=p.user_id or None,
            target_type="voice",
            target_id=voice_id,
            code=exc.code,
            policy=policy,
            principal_kind=standing.principal_kind(p),
        )
        raise


async def gate(
    c: Container,
    session: AsyncSession,
    p: Principal,
    admitted: Admitted,
    voice_id: str,
    reference_sha256: list[str],
    reference_embeddings: Sequence[np.ndarray],
) -> VoiceConsent | None:
    """Record the consent these references are cloned under, or refuse (see the module).
    `reference_embeddings` are the new uploads', one each: the spoken consent must be in the
    voice of every one of them."""
    policy = _policy(c, admitted.claim)
    row = admitted.decision
    if isinstance(row, _Spoken):
        assert isinstance(admitted.claim, ConsentClaim)
        # The spoken check audits its own refusals (with its scores), before it raises.
        row = await _spoken(c, session, p, admitted.claim, reference_embeddings)
    if row is None:  # policy "off", nothing attested: there is nothing to keep
        return None
    now = utcnow()
    row.id = new_id()
    row.voice_id = voice_id
    row.user_id = p.user_id or None
    row.principal_kind = standing.principal_kind(p)
    row.policy = policy
    row.ip = client_ip_var.get()
    row.reference_sha256 = list(reference_sha256)
    row.created_at = now
    row.retain_until = standing.retain_until(c.settings.consent, now)
    if row.kind == "spoken":
        # Stored by `keep_recording`. Outside voices/<id>/, which the voice's deletion removes:
        # it outlives the voice with its row (voxhub.safety.consent_retention removes both).
        row.consent_audio_key = f"{RECORDINGS}/{voice_id}/{row.id}"
    session.add(row)
    audit.record(
        session,
        "consent_recorded",
        actor_id=p.user_id or None,
        target_type="voice",
        target_id=voice_id,
        consent_id=row.id,
        kind=row.kind,
        attestation=row.attestation,
        policy=policy,
    )
    return row


async def keep_recording(
    c: Container, admitted: Admitted, row: VoiceConsent | None, written: list[str]
) -> None:
    """With the upload's other blobs, before anything takes a write lock: a spoken consent's
    recording, the evidence of who said what (its key added to `written`, which the caller
    discards if it fails). Nothing for any other consent."""
    if row is None or row.consent_audio_key is None:
        return
    assert isinstance(admitted.claim, ConsentClaim) and admitted.claim.consent_audio is not None
    await c.blobs.put(
        row.consent_audio_key, admitted.claim.consent_audio, "application/octet-stream"
    )
    written.append(row.consent_audio_key)


async def before_commit(
    c: Container, session: AsyncSession, p: Principal, row: VoiceConsent | None
) -> None:
    """Last before the use case commits: mark the phrase of a spoken consent used, in the same
    transaction (409 `consent_phrase_used`, the caller's work rolled back, when another upload
    used it meanwhile; `use_phrase` says why here)."""
    if row is not None and row.phrase_id is not None:
        await use_phrase(c, session, p, row.phrase_id)


async def note_voice_deleted(
    c: Container, session: AsyncSession, p: Principal, voice_id: str
) -> None:
    """In the deletion's transaction: a `voice_deleted` row beside the voice's consent rows,
    who deleted it and when, retained for the retention period from now. The sweep drops a
    voice's rows only once every one of them is past its `retain_until`, so the consent
    evidence outlives the deletion by the whole period, however old the voice was."""
    covered = await session.scalar(
        select(VoiceConsent.id).where(VoiceConsent.voice_id == voice_id).limit(1)
    )
    if covered is None:  # cloned with nothing to keep (policy "off"): nothing to extend
        return
    now = utcnow()
    session.add(
        VoiceConsent(
            id=new_id(),
            voice_id=voice_id,
            user_id=p.user_id or None,
            principal_kind=standing.principal_kind(p),
            kind="voice_deleted",
            policy=c.settings.consent.consent_policy,
            ip=client_ip_var.get(),
            reference_sha256=[],
            created_at=now,
            retain_until=standing.retain_until(c.settings.consent, now),
        )
    )


async def _decide(
    c: Container, p: Principal, claim: Claim, policy: str
) -> VoiceConsent | _Spoken | None:
    if not isinstance(claim, ConsentClaim):
        return await _standing(c, p, claim, policy)
    if claim.attestation not in ATTESTATIONS:
        if policy == "off":
            return None
        raise ConsentRequired(
            "say whose voice this is: consent=self (you are the speaker) or "
            "consent=written_permission (you have the speaker's written permission)"
        )
    if policy != "spoken":
        return VoiceConsent(kind=claim.attestation, attestation=claim.attestation)
    if not claim.phrase_id or not claim.consent_audio:
        missing = "consent_phrase_id" if not claim.phrase_id else "consent_audio"
        raise ConsentRequired(f"Spoken consent needs {missing}", missing=missing)
    return _SPOKEN


async def _standing(
    c: Container, p: Principal, claim: QueuedClone | None, policy: str
) -> VoiceConsent | None:
    if policy == "off":
        return None
    if policy == "spoken":
        # A standing attestation cannot stand for a recording of each new voice's speaker.
        raise StandingConsentRequired(
            "this instance asks the speaker's spoken consent for every voice, which this "
            "endpoint cannot carry: clone with POST /api/v1/voices (consent, "
            "consent_phrase_id and consent_audio)"
        )
    holder_p = p if claim is None or claim.via is None else _as_via(p, claim.via)
    # Read on a session of its own: a read on the caller's would keep its connection through
    # the enrolment that follows (seconds, maybe at a provider).
    async with c.sessions() as session:
        given = await standing.in_force(session, standing.holder_of(holder_p))
    if given is None:
        raise StandingConsentRequired(
            "this endpoint has no consent field: record a standing attestation first with "
            f'POST {standing.STANDING_ENDPOINT} {{"consent": "self"}} or '
            '{"consent": "written_permission"}'
        )
    return VoiceConsent(kind="standing", attestation=given.attestation, standing_id=given.id)


def _as_via(p: Principal, via: str) -> Principal:
    return Principal(p.user_id, p.role, via)


async def _spoken(
    c: Container,
    session: AsyncSession,
    p: Principal,
    claim: ConsentClaim,
    reference_embeddings: Sequence[np.ndarray],
) -> VoiceConsent:
    spoken = await verify_spoken_consent(
        c, session, p, claim.phrase_id, claim.consent_audio, reference_embeddings
    )
    return VoiceConsent(
        kind="spoken",
        attestation=claim.attestation,
        phrase_id=spoken.phrase_id,
        transcript=spoken.transcript,
        word_error_rate=spoken.word_error_rate,
        speaker_similarity=spoken.speaker_similarity,
        consent_audio_sha256=spoken.audio_sha256,
    )


async def check_queued(c: Container, p: Principal) -> str:
    """For a clone about to be queued: refuse now, as the job would, if `p` is not covered;
    returns what the job passes back as `QueuedClone(via)`."""
    policy = c.settings.consent.consent_policy
    try:
        await _standing(c, p, None, policy)
    except VoxhubError as exc:
        await audit.record_refused(
            c.sessions,
            "consent_refused",
            actor_id=p.user_id or None,
            code=exc.code,
            policy=policy,
            principal_kind=standing.principal_kind(p),
        )
        raise
    return p.via
