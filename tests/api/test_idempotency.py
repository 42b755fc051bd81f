"""Idempotency-Key semantics: replay, mismatch, in flight, long keys, validation, TTL, scope."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from tests.api.conftest import counts, create_voice
from voxhub.container import Container
from voxhub.core.clock import utcnow
from voxhub.engines.fake import FakeEngine
from voxhub.jobs.models import Job
from voxhub.security.idempotency_models import IdempotencyRecord


async def _jobs(c: Container) -> int:
    async with c.sessions() as s:
        return int(await s.scalar(select(func.count()).select_from(Job)) or 0)


async def test_replay_returns_the_first_response_and_does_the_work_once(client, container) -> None:
    vid = (await create_voice(client))["id"]
    body = {"voice_id": vid, "text": "Queued once.", "async": True}
    first = await client.post("/api/v1/speech", json=body, headers={"Idempotency-Key": "k-1"})
    second = await client.post("/api/v1/speech", json=body, headers={"Idempotency-Key": "k-1"})
    assert first.status_code == second.status_code == 202
    assert second.content == first.content
    assert second.headers["idempotent-replayed"] == "true"
    assert second.headers["location"] == first.headers["location"]
    assert "idempotent-replayed" not in first.headers
    assert await _jobs(container) == 1
    # Seed 004's header name works the same way.
    third = await client.post("/api/v1/speech", json=body, headers={"X-Idempotency-Key": "k-1"})
    assert third.content == first.content and await _jobs(container) == 1


async def test_same_key_different_body_is_422(client) -> None:
    vid = (await create_voice(client))["id"]
    await client.post(
        "/api/v1/speech",
        json={"voice_id": vid, "text": "A.", "async": True},
        headers={"Idempotency-Key": "k-2"},
    )
    r = await client.post(
        "/api/v1/speech",
        json={"voice_id": vid, "text": "B.", "async": True},
        headers={"Idempotency-Key": "k-2"},
    )
    assert r.status_code == 422 and r.json()["code"] == "idempotency_key_reused"


async def test_concurrent_requests_with_one_key_take_effect_once(
    client, container, fake_engine: FakeEngine
) -> None:
    vid = (await create_voice(client))["id"]
    fake_engine.chunk_delay = 0.5
    body = {"voice_id": vid, "text": "Slow sentence one. Slow sentence two."}
    h = {"Idempotency-Key": "k-3"}
    a, b = await asyncio.gather(
        client.post("/api/v1/speech", json=body, headers=h),
        client.post("/api/v1/speech", json=body, headers=h),
    )
    assert sorted([a.status_code, b.status_code]) == [200, 409]
    loser = a if a.status_code == 409 else b
    assert loser.json()["code"] == "idempotency_key_in_flight"
    # The claim commits with the effect: whatever both computed, only one result was stored.
    rows, blobs = await counts(container)
    # voice, reference, profile + one generation; the generation is its audio and word times
    assert rows == 4 and blobs == 4


async def test_key_longer_than_255_is_400(client) -> None:
    r = await client.post("/api/v1/speech", json={}, headers={"Idempotency-Key": "x" * 256})
    assert r.status_code == 400 and r.json()["code"] == "idempotency_key_invalid"


async def test_validation_failure_stores_nothing_so_a_fixed_retry_runs(client, container) -> None:
    vid = (await create_voice(client))["id"]
    h = {"Idempotency-Key": "k-5"}
    bad = await client.post(
        "/api/v1/speech", json={"voice_id": vid, "text": "", "async": True}, headers=h
    )
    assert bad.status_code == 422
    async with container.sessions() as s:
        assert await s.scalar(select(func.count()).select_from(IdempotencyRecord)) == 0
    good = await client.post(
        "/api/v1/speech", json={"voice_id": vid, "text": "Fixed.", "async": True}, headers=h
    )
    assert good.status_code == 202 and "idempotent-replayed" not in good.headers


async def test_expired_key_is_new_again(client, container) -> None:
    vid = (await create_voice(client))["id"]
    body = {"voice_id": vid, "text": "Again.", "async": True}
    h = {"Idempotency-Key": "k-6"}
    first = await client.post("/api/v1/speech", json=body, headers=h)
    async with container.sessions() as s:
        await s.execute(
            update(IdempotencyRecord).values(expires_at=utcnow() - timedelta(seconds=1))
        )
        await s.commit()
    again = await client.post("/api/v1/speech", json=body, headers=h)
    assert again.status_code == 202 and again.json()["id"] != first.json()["id"]
    assert await _jobs(container) == 2


async def test_keys_are_scoped_to_the_principal(client, client_b, container) -> None:
    vid = (await create_voice(client))["id"]
    await client.patch(f"/api/v1/voices/{vid}", json={"visibility": "public"})
    body = {"voice_id": vid, "text": "Mine.", "async": True}
    a = await client.post("/api/v1/speech", json=body, headers={"Idempotency-Key": "shared"})
    b = await client_b.post("/api/v1/speech", json=body, headers={"Idempotency-Key": "shared"})
    assert a.status_code == b.status_code == 202
    assert a.json()["id"] != b.json()["id"] and "idempotent-replayed" not in b.headers


@pytest.mark.parametrize(("timings", "media_type"), [(False, "audio/"), (True, "application/json")])
async def test_audio_kept_from_before_watermarking_is_never_replayed(
    client, container, timings: bool, media_type: str
) -> None:
    """A replay hands back the stored answer's bytes: audio stored with a key before this
    instance marked its outputs (its headers lack X-Voxhub-Generated), as itself or in base64
    inside JSON with its timings, is refused instead."""
    vid = (await create_voice(client))["id"]
    body = {"voice_id": vid, "text": "Said once, kept for a retry.", "timings": timings}
    first = await client.post("/api/v1/speech", json=body, headers={"Idempotency-Key": "k-a"})
    assert first.status_code == 200 and first.headers["content-type"].startswith(media_type)
    again = await client.post("/api/v1/speech", json=body, headers={"Idempotency-Key": "k-a"})
    assert again.content == first.content and again.headers["x-voxhub-generated"] == "true"
    async with container.sessions() as s:
        record = await s.scalar(select(IdempotencyRecord).where(IdempotencyRecord.key == "k-a"))
        assert record is not None
        # Before marking, answers named their generation but did not say it was generated.
        record.headers = {k: v for k, v in record.headers.items() if k != "x-voxhub-generated"}
        await s.commit()
    old = await client.post("/api/v1/speech", json=body, headers={"Idempotency-Key": "k-a"})
    assert old.status_code == 409
    assert old.json()["code"] == "idempotency_replay_unavailable"
    assert "watermarked" in old.json()["detail"]
