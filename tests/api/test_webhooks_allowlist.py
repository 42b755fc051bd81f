"""Callback destinations: refused at submission when they point inside the network, and at
delivery voxhub connects only to the address it checked (no second DNS lookup)."""

from __future__ import annotations

import ipaddress

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import func, select

from tests.api.conftest import create_voice
from tests.api.tls_certs import make_tls
from tests.api.webhook_helpers import use_webhooks
from tests.api.webhook_receiver import receiver
from voxhub.jobs.models import Job
from voxhub.security.hmac import verify
from voxhub.settings import SecuritySettings, Settings, WebhookSettings
from voxhub.webhooks import signing
from voxhub.webhooks.transport import PinnedTransport

REFUSED = [
    "http://127.0.0.1/hook",
    "http://10.0.0.1/hook",
    "http://169.254.169.254/latest/meta-data/",
    "http://[::1]:8080/hook",
    "http://localhost:8080/hook",  # a name that resolves to loopback
    "http://[::ffff:127.0.0.1]/hook",  # loopback dressed as IPv6
    "ftp://example.com/hook",
    "http://user:pw@example.com/hook",
]


async def test_private_callbacks_are_refused_at_submission(client, container) -> None:
    v = await create_voice(client)
    assert container.settings.webhooks.webhook_allow_private is False
    for url in REFUSED:
        r = await client.post(
            "/api/v1/speech",
            json={"voice_id": v["id"], "text": "Hi.", "async": True, "callback_url": url},
        )
        assert r.status_code == 422, (url, r.text)
        assert r.json()["code"] == "callback_url_not_allowed", url
    async with container.sessions() as s:
        assert await s.scalar(select(func.count()).select_from(Job)) == 0  # nothing half-stored
    # A public address passes (an IP literal: no DNS needed here).
    r = await client.post(
        "/api/v1/speech",
        json={
            "voice_id": v["id"],
            "text": "Hi.",
            "async": True,
            "callback_url": "http://93.184.215.14/hook",
        },
    )
    assert r.status_code == 202, r.text


async def test_loopback_callbacks_pass_when_private_is_allowed(client, container) -> None:
    await use_webhooks(container)
    v = await create_voice(client)
    r = await client.post(
        "/api/v1/speech",
        json={
            "voice_id": v["id"],
            "text": "Hi.",
            "async": True,
            "callback_url": "http://localhost:8080/hook",
        },
    )
    assert r.status_code == 202, r.text


async def test_transport_connects_to_the_vetted_address_not_the_name() -> None:
    """The name does not resolve at all: the request still arrives, so the client never looked
    it up; the Host header keeps the name."""
    async with receiver() as rx:
        transport = PinnedTransport("hook.voxhub.invalid", [ipaddress.ip_address("127.0.0.1")])
        async with httpx.AsyncClient(transport=transport, trust_env=False) as client:
            r = await client.post(f"http://hook.voxhub.invalid:{rx.port}/x", content=b"{}")
            assert r.status_code == 200
            with pytest.raises(httpx.ConnectError):  # any other host is refused outright
                await client.post(f"http://127.0.0.1:{rx.port}/y", content=b"{}")
    assert [(g.raw_path, g.headers["host"]) for g in rx.received] == [
        ("/x", f"hook.voxhub.invalid:{rx.port}")
    ]


def test_signature_verifies_with_the_seed004_scheme() -> None:
    settings = Settings(webhooks=WebhookSettings(webhook_secret=SecretStr("s3cret")))
    body = b'{"id":"d1","event":"job.succeeded"}'
    url = "https://example.com/a b/hook?x=1"
    h = signing.headers(signing.signing_secret(settings), url, body, "d1", "job.succeeded")
    assert signing.signed_path(url) == "/a%20b/hook"
    sec = SecuritySettings(VOXHUB_HMAC_SECRET=SecretStr("s3cret"))
    verify(sec, "POST", "/a%20b/hook", h, body)
    assert h["x-idempotency-key"] == "d1"


def test_unset_secret_is_derived_from_the_signing_key(tmp_path) -> None:
    def with_key(key: str, home: str) -> Settings:
        sec = SecuritySettings(VOXHUB_JWT_SECRET=SecretStr(key))
        return Settings(home=tmp_path / home, security=sec)

    secret = signing.signing_secret(with_key("k" * 40, "a"))
    assert secret == signing.signing_secret(with_key("k" * 40, "b"))  # any machine, same key
    assert secret != signing.signing_secret(with_key("j" * 40, "a"))
    assert "k" * 40 not in secret and len(secret) == 64


async def test_tls_is_verified_on_the_name_while_connecting_to_the_vetted_address(
    tmp_path,
) -> None:
    """The certificate names the host, not 127.0.0.1: the handshake succeeds only because SNI
    and verification use the name; a certificate for another name is refused."""
    files, trusted = make_tls(tmp_path, "hook.voxhub.test")
    loopback = [ipaddress.ip_address("127.0.0.1")]
    async with receiver(tls=files) as rx:
        good = PinnedTransport("hook.voxhub.test", loopback, ssl_context=trusted)
        async with httpx.AsyncClient(transport=good, trust_env=False) as client:
            r = await client.post(f"https://hook.voxhub.test:{rx.port}/x", content=b"{}")
            assert r.status_code == 200
        wrong = PinnedTransport("other.voxhub.test", loopback, ssl_context=trusted)
        async with httpx.AsyncClient(transport=wrong, trust_env=False) as client:
            with pytest.raises(httpx.ConnectError):
                await client.post(f"https://other.voxhub.test:{rx.port}/y", content=b"{}")
    assert [(g.raw_path, g.headers["host"]) for g in rx.received] == [
        ("/x", f"hook.voxhub.test:{rx.port}")
    ]
