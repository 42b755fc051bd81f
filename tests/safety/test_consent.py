"""The consent gate, on SQLite and PostgreSQL, through the real app and real speech.

Every new voice (and every reference added to one) carries an attestation, stored in a row the
database will not change or delete before its retention ends; the faces with no consent field
are covered by a standing attestation; refusals store nothing but their audit event.
"""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from tests.api.conftest import Account, client_for, make_user, speech_file
from tests.api.test_seed004 import SECRET, seed_body, signed_headers
from tests.safety.consent_helpers import (
    STANDING,
    ana,
    client,
    consents,
    container,
    events,
    stored,
    upload,
    xi_upload,
)
from voxhub.accounts.models import Role
from voxhub.container import Container
from voxhub.core.clock import utcnow
from voxhub.safety.consent_models import StandingConsent, VoiceConsent
from voxhub.safety.consent_retention import purge_expired_consents

__all__ = ["ana", "client", "container"]  # the fixtures (tests/safety/consent_helpers.py)


async def test_a_voice_without_consent_is_422_and_stores_nothing(
    client: httpx.AsyncClient, container: Container, ana: Account
) -> None:
    before = await stored(container)
    r = await upload(client, name="Ana")
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == "consent_required"
    assert "consent=self" in r.json()["detail"]
    assert await stored(container) == before
    (refused,) = await events(container, "consent_refused")
    assert (refused.outcome, refused.actor_id) == ("refused", ana.id)
    assert refused.details["code"] == "consent_required"
    assert await events(container, "voice_cloned") == []


async def test_an_unknown_attestation_is_a_validation_error(
    client: httpx.AsyncClient, container: Container
) -> None:
    before = await stored(container)
    r = await upload(client, name="Ana", consent="probably")
    assert r.status_code == 422 and r.json()["code"] == "validation_error"
    assert await stored(container) == before


async def test_an_attested_voice_keeps_who_when_what_and_which_recording(
    client: httpx.AsyncClient, container: Container, ana: Account
) -> None:
    started = utcnow()
    r = await upload(client, name="Ana", consent="written_permission")
    assert r.status_code == 201, r.text
    voice_id = r.json()["id"]
    (row,) = await consents(container, voice_id)
    _, data = speech_file()
    assert row.user_id == ana.id
    assert row.principal_kind == "api_key"
    assert (row.kind, row.attestation, row.policy) == (
        "written_permission",
        "written_permission",
        "attestation",
    )
    assert row.ip == "127.0.0.1"  # httpx's ASGI transport's client address
    assert started <= row.created_at <= utcnow()
    assert row.retain_until == row.created_at + timedelta(days=3650)
    assert row.reference_sha256 == [hashlib.sha256(data).hexdigest()]
    assert row.standing_id is None and row.transcript is None
    (recorded,) = await events(container, "consent_recorded")
    assert (recorded.outcome, recorded.target_id) == ("ok", voice_id)
    assert recorded.details["consent_id"] == row.id


async def test_an_added_reference_needs_its_own_consent(
    client: httpx.AsyncClient, container: Container
) -> None:
    voice_id = (await upload(client, name="Ana", consent="self")).json()["id"]
    fname, data = speech_file("vctk_p225_008.wav")
    url = f"/api/v1/voices/{voice_id}/references"
    before = await stored(container)
    r = await client.post(url, files={"file": (fname, data)})
    assert r.status_code == 422 and r.json()["code"] == "consent_required"
    assert await stored(container) == before
    r = await client.post(url, files={"file": (fname, data)}, data={"consent": "self"})
    assert r.status_code == 201, r.text
    first, second = await consents(container, voice_id)
    assert second.reference_sha256 == [hashlib.sha256(data).hexdigest()]
    assert second.reference_sha256 != first.reference_sha256


async def test_consent_rows_survive_the_voice(
    client: httpx.AsyncClient, container: Container
) -> None:
    voice_id = (await upload(client, name="Ana", consent="self")).json()["id"]
    assert (await client.delete(f"/api/v1/voices/{voice_id}")).status_code == 204
    assert (await client.get(f"/api/v1/voices/{voice_id}")).status_code == 404
    # The consent it was cloned under, and its deletion, which the retention runs from.
    assert [row.kind for row in await consents(container, voice_id)] == ["self", "voice_deleted"]


async def test_the_database_refuses_to_change_or_drop_a_kept_consent(
    client: httpx.AsyncClient, container: Container
) -> None:
    voice_id = (await upload(client, name="Ana", consent="self")).json()["id"]
    assert (await client.post(STANDING, json={"consent": "self"})).status_code == 201
    for table in ("voice_consents", "standing_consents"):
        for sql in (
            f"UPDATE {table} SET policy = 'off'",
            f"DELETE FROM {table}",
        ):
            async with container.sessions() as s:
                with pytest.raises(DBAPIError, match=r"rows never change|kept until"):
                    await s.execute(text(sql))
    (row,) = await consents(container, voice_id)
    assert row.policy == "attestation"


async def test_the_sweep_drops_only_consents_past_their_retention(
    client: httpx.AsyncClient, container: Container, ana: Account
) -> None:
    kept = (await upload(client, name="Ana", consent="self")).json()["id"]
    past = utcnow() - timedelta(days=1)
    async with container.sessions() as s:
        s.add(
            VoiceConsent(
                voice_id="gone",
                user_id=ana.id,
                principal_kind="api_key",
                kind="self",
                attestation="self",
                policy="attestation",
                reference_sha256=[],
                created_at=past - timedelta(days=3650),
                retain_until=past,
            )
        )
        await s.commit()
    purged = await purge_expired_consents(container.sessions, container.blobs)
    assert purged == {"voice_consents": 1, "standing_consents": 0}
    assert [r.voice_id for r in await consents(container)] == [kept]


async def test_a_face_without_a_consent_field_needs_a_standing_attestation(
    client: httpx.AsyncClient, container: Container, ana: Account
) -> None:
    before = await stored(container)
    r = await xi_upload(client)
    assert r.status_code == 403, r.text
    assert r.json()["detail"]["status"] == "consent_required"
    assert STANDING in r.json()["detail"]["message"]
    assert await stored(container) == before
    (refused,) = await events(container, "consent_refused")
    assert refused.outcome == "refused" and refused.actor_id == ana.id

    assert (await client.get(STANDING)).json()["in_force"] is False
    given = await client.post(STANDING, json={"consent": "self"})
    assert given.status_code == 201, given.text
    assert given.json()["consent"] == "self" and given.json()["in_force"] is True
    assert (await client.get(STANDING)).json() == given.json()

    r = await xi_upload(client)
    assert r.status_code == 200, r.text
    (row,) = await consents(container, r.json()["voice_id"])
    assert (row.kind, row.attestation, row.standing_id) == ("standing", "self", given.json()["id"])
    recorded = await events(container, "consent_recorded")
    assert [e.details["kind"] for e in recorded] == ["standing", "standing"]

    assert (await client.delete(STANDING)).status_code == 204
    assert (await client.get(STANDING)).json()["in_force"] is False
    before = await stored(container)
    assert (await xi_upload(client)).status_code == 403
    assert await stored(container) == before
    async with container.sessions() as s:
        standing = list(await s.scalars(select(StandingConsent)))
    # Withdrawn by a second row: the first one is unchanged.
    assert sorted((r.withdrawn, r.attestation) for r in standing) == [
        (False, "self"),
        (True, None),
    ]
    (withdrawn,) = await events(container, "consent_withdrawn")
    assert withdrawn.actor_id == ana.id

    # Nothing in force any more: a second withdrawal is refused and records nothing.
    again = await client.delete(STANDING)
    assert again.status_code == 404, again.text
    assert again.headers["content-type"] == "application/problem+json"
    assert again.json()["code"] == "standing_consent_not_found"
    async with container.sessions() as s:
        assert await s.scalar(select(func.count()).select_from(StandingConsent)) == 2
    assert len(await events(container, "consent_withdrawn")) == 1


async def test_withdrawing_a_standing_attestation_never_given_is_404(
    client: httpx.AsyncClient, container: Container, ana: Account
) -> None:
    r = await client.delete(STANDING)
    assert r.status_code == 404, r.text
    assert r.json()["code"] == "standing_consent_not_found"
    async with container.sessions() as s:
        assert await s.scalar(select(func.count()).select_from(StandingConsent)) == 0
    assert await events(container, "consent_withdrawn") == []
    # The answer is documented: a problem+json 404 on the operation.
    async with client_for(container, None) as anon:
        doc = (await anon.get("/openapi.json")).json()
    answer = doc["paths"][STANDING]["delete"]["responses"]["404"]
    assert "standing_consent_not_found" in answer["description"]
    assert "application/problem+json" in answer["content"]


async def test_a_standing_attestation_is_one_of_the_two_words(
    client: httpx.AsyncClient, container: Container
) -> None:
    for body in ({"consent": "yes"}, {}, {"consent": "self", "extra": 1}, {"consent": True}):
        r = await client.post(STANDING, json=body)
        assert r.status_code == 422 and r.json()["code"] == "validation_error", body
    async with container.sessions() as s:
        assert await s.scalar(select(func.count()).select_from(StandingConsent)) == 0


async def test_standing_attestations_need_credentials(container: Container) -> None:
    async with client_for(container, None) as anon:
        for method in ("GET", "POST", "DELETE"):
            r = await anon.request(method, STANDING, json={"consent": "self"})
            assert r.status_code == 401, (method, r.text)


async def test_the_signed_internal_service_records_its_own_standing_attestation(
    client: httpx.AsyncClient, container: Container, ana: Account
) -> None:
    """With HMAC on, a signed call to the same endpoint attests for the service as a whole; its
    signed clones through seed 004 are then covered; an account's own call is unchanged."""
    admin = await make_user(container, "root@example.com", Role.admin, standing_consent=False)
    container.extras["local_admin_id"] = admin.id
    sec = container.settings.security
    sec.enable_hmac = True
    sec.hmac_secret = SecretStr(SECRET)
    clone = seed_body().encode()
    async with client_for(container, None) as internal:
        r = await internal.post("/api/voices/clone", content=clone, headers=signed_headers(clone))
        assert r.status_code == 403 and r.json()["code"] == "consent_required", r.text
        body = json.dumps({"consent": "written_permission"}).encode()
        forged = signed_headers(body, path=STANDING, secret="not the secret", key="k-0")
        r = await internal.post(STANDING, content=body, headers=forged)
        assert r.status_code == 401 and r.json()["code"] == "invalid_signature"
        headers = signed_headers(body, path=STANDING, key="k-1")
        r = await internal.post(STANDING, content=body, headers=headers)
        assert r.status_code == 201, r.text
        assert r.json()["principal_kind"] == "hmac_service"
        headers = signed_headers(clone, key="k-2")
        r = await internal.post("/api/voices/clone", content=clone, headers=headers)
        assert r.status_code == 200, r.text
    (row,) = await consents(container, r.json()["voice_id"])
    assert (row.kind, row.principal_kind, row.attestation) == (
        "standing",
        "hmac_service",
        "written_permission",
    )
    # The account's standing is its own: the service's does not cover it.
    assert (await client.get(STANDING)).json()["in_force"] is False
    assert (await xi_upload(client)).status_code == 403
