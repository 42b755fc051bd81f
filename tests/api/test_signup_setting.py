"""VOXHUB_SIGNUP: closed, every sign-up face refuses and stores nothing; the consent policy's
default follows whether strangers can sign up."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import func, select

from voxhub.accounts.models import User
from voxhub.audit.models import AuditEvent
from voxhub.container import Container
from voxhub.settings import ConsentSettings, SecuritySettings, Settings

NEW = {"email": "new@example.com", "password": "a long enough password", "name": "New"}


async def count(container: Container, model: type) -> int:
    async with container.sessions() as s:
        return int(await s.scalar(select(func.count()).select_from(model)) or 0)


@pytest.mark.parametrize("path", ["/api/v1/auth/signup", "/api/signup"])
async def test_closed_sign_up_refuses_every_face(
    anon: httpx.AsyncClient, container: Container, path: str
) -> None:
    container.settings.security.signup = "closed"
    users, events = await count(container, User), await count(container, AuditEvent)
    r = await anon.post(path, json=NEW)
    assert r.status_code == 403
    assert r.json()["code"] == "signup_closed"
    assert "admin" in r.json()["detail"]
    assert (await count(container, User), await count(container, AuditEvent)) == (users, events)


async def test_open_sign_up_makes_the_account(
    anon: httpx.AsyncClient, container: Container
) -> None:
    r = await anon.post("/api/v1/auth/signup", json=NEW)
    assert r.status_code == 201
    assert r.json()["user"]["email"] == NEW["email"]


def test_consent_default_is_spoken_only_where_strangers_can_sign_up() -> None:
    open_wide = Settings(host="0.0.0.0")
    assert open_wide.public_signup and open_wide.consent.consent_policy == "spoken"
    assert Settings(host="127.0.0.1").consent.consent_policy == "attestation"
    closed = Settings(host="0.0.0.0", security=SecuritySettings(signup="closed"))
    assert not closed.public_signup and closed.consent.consent_policy == "attestation"
    # Chosen explicitly, the policy stands whatever the sign-up.
    chosen = Settings(host="0.0.0.0", consent=ConsentSettings(consent_policy="attestation"))
    assert chosen.consent.consent_policy == "attestation"


def test_an_explicit_policy_from_the_environment_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VOXHUB_CONSENT_POLICY", "attestation")
    assert Settings(host="0.0.0.0").consent.consent_policy == "attestation"
    monkeypatch.setenv("VOXHUB_CONSENT_POLICY", "off")
    assert Settings(host="127.0.0.1").consent.consent_policy == "off"
