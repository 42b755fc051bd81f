"""Webhooks delivered from the outbox to a real receiver on loopback: signed as seed 004 signs,
retried with backoff, recorded per attempt, never sent twice at once, visible to the owner."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from datetime import timedelta

import pytest
from pydantic import SecretStr

from tests.api.conftest import create_voice
from tests.api.webhook_helpers import (
    SECRET,
    add_row,
    attempts_of,
    deliver_until_settled,
    row_of,
    use_webhooks,
)
from tests.api.webhook_receiver import Received, free_port, receiver
from tests.conftest import REPO
from voxhub.core.clock import utcnow
from voxhub.db.session import create_engine, create_sessionmaker
from voxhub.security.hmac import InvalidSignature, verify
from voxhub.settings import SecuritySettings
from voxhub.webhooks.delivery import deliver_due, deliver_forever, lease, take
from voxhub.webhooks.destinations import parse, resolve


def check_signed(got: Received, secret: str = SECRET) -> None:
    """Verify the request exactly as voxhub verifies a seed 004 internal call."""
    sec = SecuritySettings(VOXHUB_HMAC_SECRET=SecretStr(secret))
    verify(sec, got.method, got.raw_path, got.headers, got.body)


async def test_finished_job_webhook_arrives_once_signed(client, client_b, container) -> None:
    await use_webhooks(container)
    v = await create_voice(client)
    async with receiver() as rx:
        r = await client.post(
            "/api/v1/speech",
            json={
                "voice_id": v["id"],
                "text": "Hello there.",
                "async": True,
                "callback_url": f"{rx.url}/hooks/voxhub?source=test",
            },
        )
        assert r.status_code == 202, r.text
        job_id = r.json()["id"]
        async with asyncio.timeout(60):
            await container.jobs.wait_idle()
        task = asyncio.create_task(
            deliver_forever(container.sessions, container.settings, poll_s=0.02)
        )
        try:
            async with asyncio.timeout(30):
                while not rx.received:
                    await asyncio.sleep(0.02)
            await asyncio.sleep(0.5)  # some 25 more passes: none may send it again
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
    assert len(rx.received) == 1
    got = rx.received[0]
    assert got.method == "POST" and got.raw_path == "/hooks/voxhub"
    check_signed(got)
    with pytest.raises(InvalidSignature):  # one byte more and the signature no longer holds
        check_signed(Received(got.method, got.raw_path, got.headers, got.body + b" "))
    body = json.loads(got.body)
    assert body["event"] == "job.succeeded"
    assert body["job"]["id"] == job_id and body["job"]["status"] == "succeeded"
    assert body["job"]["result"]["audio_url"]
    assert body["id"] == got.headers["x-idempotency-key"] == got.headers["x-voxhub-delivery"]
    assert got.headers["x-voxhub-event"] == "job.succeeded"
    assert got.headers["content-type"] == "application/json"

    seen = await client.get(f"/api/v1/jobs/{job_id}/webhooks")
    assert seen.status_code == 200, seen.text
    [delivery] = seen.json()
    assert delivery["id"] == body["id"]
    assert delivery["state"] == "delivered" and delivery["last_status"] == 200
    assert delivery["next_attempt_at"] is None and delivery["delivered_at"]
    assert [(a["number"], a["status_code"], a["error"]) for a in delivery["attempts"]] == [
        (1, 200, None)
    ]
    other = await client_b.get(f"/api/v1/jobs/{job_id}/webhooks")
    assert other.status_code == 404 and other.json()["code"] == "job_not_found"


async def test_a_failed_job_announces_its_failure(client, container) -> None:
    await use_webhooks(container)
    v = await create_voice(client)
    async with asyncio.timeout(60):
        await container.jobs.wait_idle()
    await container.jobs.stop()  # the job must not run before its voice is gone
    async with receiver() as rx:
        r = await client.post(
            "/api/v1/speech",
            json={
                "voice_id": v["id"],
                "text": "Hi.",
                "async": True,
                "callback_url": f"{rx.url}/hook",
            },
        )
        assert r.status_code == 202, r.text
        assert (await client.delete(f"/api/v1/voices/{v['id']}")).status_code == 204
        await container.jobs.start()
        async with asyncio.timeout(60):
            await container.jobs.wait_idle()
        [delivery] = (await client.get(f"/api/v1/jobs/{r.json()['id']}/webhooks")).json()
        assert delivery["state"] == "pending" and delivery["event"] == "job.failed"
        await deliver_until_settled(container, delivery["id"])
    [got] = rx.received
    check_signed(got)
    body = json.loads(got.body)
    assert (body["event"], body["job"]["status"]) == ("job.failed", "failed")
    assert body["job"]["error"]["code"] == "voice_not_found"


async def test_two_500s_then_200_is_three_attempts_then_delivered(client, container) -> None:
    await use_webhooks(container, webhook_max_attempts=5)
    async with receiver([500, 500, 200]) as rx:
        row_id = await add_row(container, f"{rx.url}/hook")
        await deliver_until_settled(container, row_id)
    row = await row_of(container, row_id)
    assert (row.state, row.attempts, row.last_status, row.last_error) == ("delivered", 3, 200, None)
    tries = await attempts_of(container, row_id)
    assert [(a.number, a.status_code, a.error) for a in tries] == [
        (1, 500, "answered 500"),
        (2, 500, "answered 500"),
        (3, 200, None),
    ]
    assert all(a.duration_ms >= 0 for a in tries)
    assert len(rx.received) == 3
    # One delivery id across the retries (the receiver dedupes on it), each attempt signed anew.
    assert {r.headers["x-idempotency-key"] for r in rx.received} == {row_id}
    for got in rx.received:
        check_signed(got)


async def test_never_2xx_fails_after_max_attempts(container) -> None:
    await use_webhooks(container, webhook_max_attempts=3)
    async with receiver([503]) as rx:
        row_id = await add_row(container, f"{rx.url}/hook")
        await deliver_until_settled(container, row_id)
        for _ in range(3):  # a failed row is never taken again
            await deliver_due(
                container.sessions, container.settings, now=utcnow() + timedelta(days=1)
            )
    row = await row_of(container, row_id)
    assert (row.state, row.attempts, row.last_status) == ("failed", 3, 503)
    assert row.last_error == "answered 503"
    assert [a.status_code for a in await attempts_of(container, row_id)] == [503, 503, 503]
    assert len(rx.received) == 3


async def test_redirect_is_a_failed_attempt_and_not_followed(container) -> None:
    await use_webhooks(container, webhook_max_attempts=1)
    async with receiver([302, 200]) as rx:
        row_id = await add_row(container, f"{rx.url}/hook")
        await deliver_until_settled(container, row_id)
    row = await row_of(container, row_id)
    assert (row.state, row.last_status) == ("failed", 302)
    assert row.last_error == "answered 302; redirects are not followed"
    assert [r.raw_path for r in rx.received] == ["/hook"]  # /elsewhere was never requested


async def test_connection_refused_is_retried_then_failed(container) -> None:
    await use_webhooks(container, webhook_max_attempts=2)
    port = free_port()  # nothing listens there
    row_id = await add_row(container, f"http://127.0.0.1:{port}/hook")
    await deliver_until_settled(container, row_id)
    row = await row_of(container, row_id)
    assert (row.state, row.attempts, row.last_status) == ("failed", 2, None)
    assert [(a.status_code, a.error) for a in await attempts_of(container, row_id)] == [
        (None, f"could not connect to 127.0.0.1:{port} (or TLS failed)")
    ] * 2


async def test_a_receiver_slower_than_the_timeout_is_a_failed_attempt(container) -> None:
    await use_webhooks(container, webhook_max_attempts=1, webhook_timeout_s=0.3)
    async with receiver(delay_s=1.5) as rx:
        row_id = await add_row(container, f"{rx.url}/hook")
        await deliver_until_settled(container, row_id)
    row = await row_of(container, row_id)
    assert (row.state, row.last_status, row.last_error) == (
        "failed",
        None,
        "no answer within 0.3 s",
    )
    [a] = await attempts_of(container, row_id)
    assert 300 <= a.duration_ms < 1500  # given up at the deadline, not when the receiver answered


async def test_retries_back_off_exponentially_with_jitter(container) -> None:
    await use_webhooks(container, webhook_max_attempts=5, webhook_backoff_s=10.0)
    async with receiver([500]) as rx:
        row_id = await add_row(container, f"{rx.url}/hook")
        await deliver_due(container.sessions, container.settings)
        first = await row_of(container, row_id)
        [a1] = await attempts_of(container, row_id)
        wait1 = (first.next_attempt_at - a1.created_at).total_seconds()
        assert 7.5 <= wait1 <= 12.5  # 10 s x 2^0, +-25 %
        # Not due yet: nothing is sent before the backoff ends.
        assert (await deliver_due(container.sessions, container.settings)).claimed == 0
        await deliver_due(container.sessions, container.settings, now=first.next_attempt_at)
        second = await row_of(container, row_id)
        a2 = (await attempts_of(container, row_id))[1]
        wait2 = (second.next_attempt_at - a2.created_at).total_seconds()
        assert 15.0 <= wait2 <= 25.0  # 10 s x 2^1, +-25 %
    assert (second.state, second.attempts, len(rx.received)) == ("pending", 2, 2)


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
async def test_refused_at_delivery_is_failed_without_retry(container, host: str) -> None:
    """Public when the job was submitted, private now (DNS changed): refused, nothing sent."""
    await use_webhooks(container, webhook_allow_private=False, webhook_max_attempts=5)
    async with receiver() as rx:
        url = f"http://{host}:{rx.port}/hook"
        first = (await resolve(parse(url)))[0]  # the address the refusal names
        row_id = await add_row(container, url)
        await deliver_until_settled(container, row_id)
        await deliver_due(container.sessions, container.settings, now=utcnow() + timedelta(days=1))
    row = await row_of(container, row_id)
    assert (row.state, row.attempts, row.last_status) == ("failed", 1, None)
    expected = (
        f"destination refused: callback_url resolves to {first}, which is not a public address"
    )
    assert row.last_error == expected
    assert [(a.number, a.error) for a in await attempts_of(container, row_id)] == [(1, expected)]
    assert rx.received == []


async def test_concurrent_deliverers_never_send_one_row_twice(container, database_url) -> None:
    await use_webhooks(container)
    engines = [create_engine(database_url) for _ in range(3)]
    makers = [create_sessionmaker(e) for e in engines]
    try:
        async with receiver(delay_s=0.2) as rx:
            ids = [await add_row(container, f"{rx.url}/hook/{i}") for i in range(8)]
            # Three deliverers, each with its own connections, all see the same 8 due rows.
            reports = await asyncio.gather(
                *(deliver_due(m, container.settings, limit=8) for m in makers)
            )
    finally:
        for e in engines:
            await e.dispose()
    assert sum(r.claimed for r in reports) == 8
    assert sum(r.delivered for r in reports) == 8
    keys = [r.headers["x-idempotency-key"] for r in rx.received]
    assert sorted(keys) == sorted(ids)  # each row exactly once
    for row_id in ids:
        assert [a.number for a in await attempts_of(container, row_id)] == [1]


async def test_take_is_exclusive_under_a_race(container, database_url) -> None:
    ws = await use_webhooks(container)
    engines = [create_engine(database_url) for _ in range(2)]
    makers = [create_sessionmaker(e) for e in engines]
    try:
        ids = [await add_row(container, f"http://127.0.0.1:9/hook/{i}") for i in range(10)]
        now = utcnow()
        for row_id in ids:
            got = await asyncio.gather(*(take(m, ws, row_id, now) for m in makers))
            assert sum(g is not None for g in got) == 1, got
    finally:
        for e in engines:
            await e.dispose()


async def test_a_row_taken_by_a_dead_deliverer_is_sent_after_its_lease(container) -> None:
    ws = await use_webhooks(container, webhook_max_attempts=3)
    async with receiver() as rx:
        row_id = await add_row(container, f"{rx.url}/hook")
        now = utcnow()
        assert await take(container.sessions, ws, row_id, now) is not None  # then it "dies"
        assert (await deliver_due(container.sessions, container.settings)).claimed == 0
        assert rx.received == []
        later = now + lease(ws) + timedelta(seconds=1)
        report = await deliver_due(container.sessions, container.settings, now=later)
    assert report.delivered == 1
    assert len(rx.received) == 1
    row = await row_of(container, row_id)
    assert (row.state, row.attempts) == ("delivered", 2)
    assert [a.number for a in await attempts_of(container, row_id)] == [2]


async def test_a_dead_deliverers_last_attempt_ends_failed(container) -> None:
    ws = await use_webhooks(container, webhook_max_attempts=1)
    row_id = await add_row(container, "http://127.0.0.1:9/hook")
    now = utcnow()
    assert await take(container.sessions, ws, row_id, now) is not None
    later = now + lease(ws) + timedelta(seconds=1)
    report = await deliver_due(container.sessions, container.settings, now=later)
    row = await row_of(container, row_id)
    assert (report.failed, row.state) == (1, "failed")
    assert row.last_error == "out of attempts; the last one was never reported back"


async def test_deliverer_processes_never_send_one_row_twice(
    container, database_url, tmp_path
) -> None:
    """Two deliverer processes poll one database side by side over rows a slow receiver takes
    its time with: every row arrives exactly once, and each was claimed once."""
    await use_webhooks(container)
    env = {
        **os.environ,
        "VOXHUB_DATABASE_URL": database_url,
        "VOXHUB_HOME": str(tmp_path / "home"),
        "VOXHUB_WEBHOOK_ALLOW_PRIVATE": "true",
        "VOXHUB_WEBHOOK_SECRET": SECRET,
        "VOXHUB_WEBHOOK_BACKOFF_S": "0.01",
    }
    # 4 rows a pass, 0.2 s each: one process alone would need 0.8 s, so both take some.
    async with receiver(delay_s=0.2) as rx:
        ids = [await add_row(container, f"{rx.url}/hook/{i}") for i in range(16)]
        procs = [
            await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "tests.api.webhook_deliverer",
                env=env,
                cwd=str(REPO),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
            )
            for _ in range(2)
        ]
        async with asyncio.timeout(120):
            for p in procs:
                assert p.stdout is not None
                assert (await p.stdout.readline()).strip() == b"ready"
            for p in procs:  # both go at once
                assert p.stdin is not None
                p.stdin.write(b"go\n")
            results = await asyncio.gather(*(p.communicate() for p in procs))
        outs = [json.loads(out) for out, _ in results]
    assert [p.returncode for p in procs] == [0, 0]
    assert all(o["claimed"] > 0 for o in outs), outs  # they did compete
    assert sum(o["delivered"] for o in outs) == sum(o["claimed"] for o in outs) == 16
    assert sorted(r.headers["x-idempotency-key"] for r in rx.received) == sorted(ids)
    for row_id in ids:
        assert (await row_of(container, row_id)).state == "delivered"


async def test_a_running_service_sends_webhooks_by_itself(
    tmp_path, database_url: str, speaker_encoder, fake_engine
) -> None:
    """The composition root starts a deliverer wherever jobs run: nobody drives it here."""
    from tests.api.conftest import client_for, make_settings, make_user, truncate_all
    from voxhub.bootstrap import build_container, close_container
    from voxhub.engines.registry import EngineRegistry
    from voxhub.settings import WebhookSettings

    settings = make_settings(tmp_path, database_url)
    settings.webhooks = WebhookSettings(
        webhook_allow_private=True, webhook_secret=SecretStr(SECRET), webhook_backoff_s=0.01
    )
    await truncate_all(database_url)
    c = await build_container(
        settings, engines=EngineRegistry({"fake": fake_engine}, "fake"), speaker=speaker_encoder
    )
    try:
        assert "webhook_delivery" in c.extras
        user = await make_user(c, "hook@example.com")
        async with receiver() as rx, client_for(c, user) as client:
            v = await create_voice(client)
            r = await client.post(
                "/api/v1/speech",
                json={
                    "voice_id": v["id"],
                    "text": "Sent without help.",
                    "async": True,
                    "callback_url": f"{rx.url}/hook",
                },
            )
            assert r.status_code == 202, r.text
            async with asyncio.timeout(60):
                while not rx.received:
                    await asyncio.sleep(0.05)
        [got] = rx.received
        check_signed(got)
        assert json.loads(got.body)["job"]["id"] == r.json()["id"]
    finally:
        await close_container(c)
    assert "webhook_delivery" not in c.extras  # stopped with the container
