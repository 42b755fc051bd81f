"""Standing attestations: consent given once for every upload through a face with no consent
field (the seeds' faces, ElevenLabs'), by an account or by the HMAC-signed internal service.

The holder's latest row is in force. Giving and withdrawing each add a row, audited in the
same commit; no row ever changes (the database refuses UPDATE).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from voxhub.accounts.principal import Principal
from voxhub.audit import service as audit
from voxhub.audit.context import client_ip_var
from voxhub.core.clock import utcnow
from voxhub.core.ids import new_id
from voxhub.safety.consent_models import StandingConsent
from voxhub.safety.errors import StandingConsentNotFound
from voxhub.settings import ConsentSettings

Attestation = Literal["self", "written_permission"]
HMAC_SERVICE = "hmac_service"
STANDING_ENDPOINT = "/api/v1/consent/standing"


def holder_of(p: Principal) -> str:
    """Whose standing attestation covers `p`'s uploads: the signed internal service as a whole
    (one shared secret is one service, whichever user it acts for), else the account."""
    return HMAC_SERVICE if p.via == "hmac" else f"user:{p.user_id}"


def principal_kind(p: Principal) -> str:
    """How the caller was signed in, in the words a consent row keeps."""
    kinds = {"jwt": "user", "cookie": "user", "oidc": "user", "api_key": "api_key"}
    return HMAC_SERVICE if p.via == "hmac" else kinds.get(p.via, p.via)


def retain_until(settings: ConsentSettings, now: datetime | None = None) -> datetime:
    return (now or utcnow()) + timedelta(days=settings.consent_retention_days)


async def latest(session: AsyncSession, holder: str) -> StandingConsent | None:
    """The holder's newest row (given or withdrawn), or None if it never attested."""
    rows = await session.scalars(
        select(StandingConsent)
        .where(StandingConsent.holder == holder)
        .order_by(StandingConsent.created_at.desc(), StandingConsent.id.desc())
        .limit(1)
    )
    return rows.first()


async def in_force(session: AsyncSession, holder: str) -> StandingConsent | None:
    """The holder's standing attestation if one is in force (given and not withdrawn since)."""
    row = await latest(session, holder)
    return row if row is not None and not row.withdrawn else None


def _row(
    settings: ConsentSettings, p: Principal, attestation: str | None, withdrawn: bool
) -> StandingConsent:
    now = utcnow()
    return StandingConsent(
        id=new_id(),  # named now: the audit event in the same commit points at it
        holder=holder_of(p),
        user_id=p.user_id or None,
        principal_kind=principal_kind(p),
        attestation=attestation,
        withdrawn=withdrawn,
        policy=settings.consent_policy,
        ip=client_ip_var.get(),
        created_at=now,
        retain_until=retain_until(settings, now),
    )


async def give(
    session: AsyncSession, settings: ConsentSettings, p: Principal, attestation: Attestation
) -> StandingConsent:
    """Record `p`'s standing attestation (a new one replaces the one in force)."""
    row = _row(settings, p, attestation, withdrawn=False)
    session.add(row)
    audit.record(
        session,
        "consent_recorded",
        actor_id=p.user_id or None,
        target_type="standing_consent",
        target_id=row.id,
        kind="standing",
        attestation=attestation,
        holder=row.holder,
        principal_kind=row.principal_kind,
        policy=settings.consent_policy,
    )
    await session.commit()
    return row


async def withdraw(
    session: AsyncSession, settings: ConsentSettings, p: Principal
) -> StandingConsent:
    """Withdraw `p`'s standing attestation (a withdrawal row); StandingConsentNotFound when
    none is in force (nothing is recorded then, not even an audit event).

    Voices already cloned under it keep their consent rows: it stops covering new uploads."""
    if await in_force(session, holder_of(p)) is None:
        raise StandingConsentNotFound("no standing attestation of yours is in force")
    row = _row(settings, p, None, withdrawn=True)
    session.add(row)
    audit.record(
        session,
        "consent_withdrawn",
        actor_id=p.user_id or None,
        target_type="standing_consent",
        target_id=row.id,
        holder=row.holder,
        principal_kind=row.principal_kind,
    )
    await session.commit()
    return row
