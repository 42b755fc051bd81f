"""The retention sweep drops a consent row past `retain_until` only once nothing stands on it.

Retention is how long a row outlives what it speaks about: a live voice keeps its consent rows,
and a holder's latest standing row (the one in force) stays until a newer one supersedes it.
On SQLite and PostgreSQL, whose triggers allow these deletes only past `retain_until`.
"""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import select

from tests.api.conftest import Account
from tests.safety.consent_helpers import (
    ana,
    client,
    consents,
    container,
    upload,
)
from voxhub.container import Container
from voxhub.core.clock import utcnow
from voxhub.core.ids import new_id
from voxhub.safety.consent_models import StandingConsent, VoiceConsent
from voxhub.storage.sweep import run_sweep

__all__ = ["ana", "client", "container"]  # the fixtures (tests/safety/consent_helpers.py)


def voice_consent(voice_id: str, user_id: str, made_days_ago: int) -> VoiceConsent:
    """A consent row made long ago, its retention already over (allowed at insert)."""
    made = utcnow() - timedelta(days=made_days_ago)
    return VoiceConsent(
        id=new_id(),
        voice_id=voice_id,
        user_id=user_id,
        principal_kind="api_key",
        kind="self",
        attestation="self",
        policy="attestation",
        reference_sha256=[],
        created_at=made,
        retain_until=made + timedelta(days=1),
    )


def standing_row(holder: str, user_id: str, made_days_ago: int, withdrawn: bool) -> StandingConsent:
    made = utcnow() - timedelta(days=made_days_ago)
    return StandingConsent(
        id=new_id(),
        holder=holder,
        user_id=user_id,
        principal_kind="api_key",
        attestation=None if withdrawn else "self",
        withdrawn=withdrawn,
        policy="attestation",
        created_at=made,
        retain_until=made + timedelta(days=1),
    )


async def test_the_sweep_keeps_what_still_stands_on_an_expired_consent(
    client: httpx.AsyncClient, container: Container, ana: Account
) -> None:
    r = await upload(client, name="Ana", consent="self")
    assert r.status_code == 201, r.text
    live = r.json()["id"]
    async with container.sessions() as s:
        [fresh] = await s.scalars(select(VoiceConsent.id))  # the upload's own, kept 3650 days
    ana_holder = f"user:{ana.id}"
    rows = {
        "live voice": voice_consent(live, ana.id, 20),
        "deleted voice": voice_consent("a-voice-deleted-long-ago", ana.id, 20),
        # Ana gave an attestation, withdrew it, then gave another: the last one is in force.
        "superseded given": standing_row(ana_holder, ana.id, 30, withdrawn=False),
        "superseded withdrawal": standing_row(ana_holder, ana.id, 25, withdrawn=True),
        "latest given": standing_row(ana_holder, ana.id, 20, withdrawn=False),
        # Another holder whose latest row is a withdrawal: dropping it could revive nothing
        # here, but it is still the row that says where that holder stands.
        "other's given": standing_row("user:other", ana.id, 30, withdrawn=False),
        "other's latest withdrawal": standing_row("user:other", ana.id, 20, withdrawn=True),
    }
    async with container.sessions() as s:
        s.add_all(rows.values())
        await s.commit()

    report = await run_sweep(container.sessions, container.blobs, grace_s=3600)

    assert report.expired_purged["voice_consents"] == 1
    assert report.expired_purged["standing_consents"] == 3
    gone = {"deleted voice", "superseded given", "superseded withdrawal", "other's given"}
    async with container.sessions() as s:
        voice_ids = set(await s.scalars(select(VoiceConsent.id)))
        standing_ids = set(await s.scalars(select(StandingConsent.id)))
    assert voice_ids | standing_ids == {fresh} | {
        row.id for name, row in rows.items() if name not in gone
    }
    # The attestation in force still covers Ana's uploads through a face without consent.
    assert (await client.get("/api/v1/consent/standing")).json()["id"] == rows["latest given"].id


async def test_retention_runs_from_the_voices_deletion_and_takes_the_recording(
    client: httpx.AsyncClient, container: Container, ana: Account
) -> None:
    """A voice cloned longer ago than the retention period and deleted today keeps its consent
    evidence for the whole period from today; a voice deleted before this rule (no deletion
    row) loses its rows once their own date is past, and a spoken consent's recording goes with
    its row."""
    r = await upload(client, name="Old", consent="self")
    assert r.status_code == 201, r.text
    old_voice = r.json()["id"]
    ancient = voice_consent(old_voice, ana.id, 20)  # made before the retention period ended
    gone_long_ago = voice_consent("deleted-before-deletion-rows", ana.id, 20)
    gone_long_ago.kind, gone_long_ago.consent_audio_key = "spoken", "consents/x/reading"
    await container.blobs.put(gone_long_ago.consent_audio_key, b"the reading", "audio/wav")
    async with container.sessions() as s:
        s.add_all([ancient, gone_long_ago])
        await s.commit()

    deleted_at = utcnow()
    assert (await client.delete(f"/api/v1/voices/{old_voice}")).status_code == 204
    rows = {row.kind: row for row in await consents(container, old_voice)}
    assert set(rows) == {"self", "voice_deleted"} and len(await consents(container, old_voice)) == 3
    marker = rows["voice_deleted"]
    assert (marker.user_id, marker.principal_kind, marker.ip) == (ana.id, "api_key", "127.0.0.1")
    days = container.settings.consent.consent_retention_days
    assert marker.retain_until >= deleted_at + timedelta(days=days)

    report = await run_sweep(container.sessions, container.blobs, grace_s=3600)

    assert report.expired_purged["voice_consents"] == 1  # only the voice deleted long ago
    assert {row.id for row in await consents(container, old_voice)} >= {ancient.id, marker.id}
    assert await consents(container, gone_long_ago.voice_id) == []
    assert "consents/x/reading" not in await container.blobs.list("consents/")
