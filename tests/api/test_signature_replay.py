"""A captured signed call cannot be replayed under fresh idempotency keys (seed 004's HMAC)."""

from __future__ import annotations

import asyncio
import json

import httpx
from sqlalchemy import func, select

from tests.api import test_seed004 as seed004
from tests.api.conftest import create_voice
from tests.api.test_seed004 import seed_body, signed_headers, voices_in_db
from voxhub.container import Container
from voxhub.jobs.models import Job
from voxhub.security.signature_models import UsedSignature

# Seed 004's fixtures: the local admin, HMAC switched on, and a client with no credentials.
admin = seed004.admin
hmac_on = seed004.hmac_on
internal = seed004.internal


def _with_key(headers: dict[str, str], key: str) -> dict[str, str]:
    return headers | {"X-Idempotency-Key": key}


async def test_same_signature_with_another_key_is_refused(
    internal: httpx.AsyncClient, hmac_on: Container
) -> None:
    body = seed_body().encode()
    signed = signed_headers(body, key="first")
    first = await internal.post("/api/voices/clone", content=body, headers=signed)
    assert first.status_code == 200, first.text
    for key in ("second", "third"):
        r = await internal.post("/api/voices/clone", content=body, headers=_with_key(signed, key))
        assert r.status_code == 401, r.text
        assert r.json()["code"] == "signature_replayed"
        assert r.headers["www-authenticate"].startswith("HMAC-SHA256")
    assert len(await voices_in_db(hmac_on)) == 1
    # The original key still replays the first answer; a freshly signed call still works.
    again = await internal.post("/api/voices/clone", content=body, headers=signed)
    assert again.status_code == 200 and again.headers["idempotent-replayed"] == "true"
    fresh = await internal.post(
        "/api/voices/clone", content=body, headers=signed_headers(body, key="fourth")
    )
    assert fresh.status_code == 200, fresh.text
    assert len(await voices_in_db(hmac_on)) == 2


async def test_racing_copies_of_one_signed_call_take_effect_once(
    internal: httpx.AsyncClient, hmac_on: Container, admin
) -> None:
    from tests.api.conftest import client_for

    async with client_for(hmac_on, admin) as admin_client:
        voice = await create_voice(admin_client)
    body = json.dumps({"voice_id": voice["id"], "text": "Only once, please."}).encode()
    signed = signed_headers(body, path="/api/tts/generate")
    answers = await asyncio.gather(
        *(
            internal.post("/api/tts/generate", content=body, headers=_with_key(signed, f"k{i}"))
            for i in range(4)
        )
    )
    statuses = sorted(r.status_code for r in answers)
    assert statuses == [202, 401, 401, 401], [r.text for r in answers]
    assert {r.json()["code"] for r in answers if r.status_code == 401} == {"signature_replayed"}
    async with hmac_on.sessions() as s:
        jobs = await s.scalar(select(func.count()).select_from(Job))
        used = await s.scalar(select(func.count()).select_from(UsedSignature))
    assert (jobs, used) == (1, 1)


async def test_a_refused_call_does_not_use_up_its_signature(
    internal: httpx.AsyncClient, hmac_on: Container
) -> None:
    """Nothing took effect, so nothing was claimed: the same signed call may be retried."""
    body = json.dumps({"voice_id": "00000000-0000-4000-8000-000000000000", "text": "hi"}).encode()
    signed = signed_headers(body, path="/api/tts/generate", key="a")
    r = await internal.post("/api/tts/generate", content=body, headers=signed)
    assert r.status_code == 404, r.text
    async with hmac_on.sessions() as s:
        assert await s.scalar(select(func.count()).select_from(UsedSignature)) == 0
    retry = await internal.post("/api/tts/generate", content=body, headers=_with_key(signed, "b"))
    assert retry.status_code == 404 and retry.json()["code"] == "voice_not_found"
