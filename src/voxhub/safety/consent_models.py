"""Consent rows: evidence that a voice was cloned with its speaker's consent.

Both tables are append-only: database triggers (migration 0014) refuse every UPDATE, and a
DELETE while the row's `retain_until` is in the future. Neither has a foreign key: a consent
row must outlive the voice, and the account, it speaks about for the retention period.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from voxhub.core.clock import utcnow
from voxhub.db.base import Base, IdMixin


class VoiceConsent(IdMixin, Base):
    """The consent one voice's new reference recordings were cloned under."""

    __tablename__ = "voice_consents"
    __table_args__ = (Index("ix_voice_consents_voice_id", "voice_id"),)

    voice_id: Mapped[str] = mapped_column(String(36))
    user_id: Mapped[str | None] = mapped_column(String(36), index=True)
    # How the caller was signed in: "user", "api_key", "hmac_service" (a signed internal call),
    # "local" (the CLI, or VOXHUB_AUTH=off) or "job" (a queued clone acting for its owner).
    principal_kind: Mapped[str] = mapped_column(String(16))
    # How consent was given: "self" / "written_permission" (attested with the upload),
    # "standing" (a standing attestation covered it), "spoken" (a challenge phrase read aloud);
    # "voice_deleted" is no consent but the voice's deletion, which the retention runs from.
    kind: Mapped[str] = mapped_column(String(24))
    # What was attested: "self" or "written_permission"; None under policy "off".
    attestation: Mapped[str | None] = mapped_column(String(24))
    policy: Mapped[str] = mapped_column(String(16))
    ip: Mapped[str | None] = mapped_column(String(64))
    # The sha256 of each uploaded recording this consent covers, as uploaded.
    reference_sha256: Mapped[list[str]] = mapped_column(default=list)
    standing_id: Mapped[str | None] = mapped_column(String(36))
    # Filled by the spoken-consent check (policy "spoken").
    phrase_id: Mapped[str | None] = mapped_column(String(36))
    transcript: Mapped[str | None] = mapped_column(Text)
    word_error_rate: Mapped[float | None] = mapped_column(Float)
    speaker_similarity: Mapped[float | None] = mapped_column(Float)
    consent_audio_sha256: Mapped[str | None] = mapped_column(String(64))
    # The spoken consent's recording as uploaded, kept as long as this row (migration 0017).
    consent_audio_key: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    retain_until: Mapped[datetime] = mapped_column(index=True)


class StandingConsent(IdMixin, Base):
    """A standing attestation given, or withdrawn, for every upload through the seeds' faces.

    The holder's latest row is in force; withdrawing adds a row (`withdrawn`), so no row ever
    changes. The holder is an account, or the HMAC-signed internal service as a whole.
    """

    __tablename__ = "standing_consents"
    __table_args__ = (Index("ix_standing_consents_holder", "holder", "created_at"),)

    # "user:<id>" for an account; "hmac_service" for the signed internal service.
    holder: Mapped[str] = mapped_column(String(48))
    user_id: Mapped[str | None] = mapped_column(String(36))
    principal_kind: Mapped[str] = mapped_column(String(16))
    # "self" or "written_permission"; None on a withdrawal.
    attestation: Mapped[str | None] = mapped_column(String(24))
    withdrawn: Mapped[bool] = mapped_column(default=False)
    policy: Mapped[str] = mapped_column(String(16))
    ip: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    retain_until: Mapped[datetime] = mapped_column(index=True)
