"""Each account use case commits once: a failure before that commit leaves nothing behind, and
what a refusal must keep (a failed login, a detected reuse) is committed without the request's
idempotency claim, so the refusal itself stores nothing under its key."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import func, select

from tests.api.conftest import Account
from voxhub.accounts import service
from voxhub.accounts.models import AuthSession, RefreshToken, User
from voxhub.app import create_app
from voxhub.audit.models import AuditEvent
from voxhub.container import Container
from voxhub.security.idempotency_models import IdempotencyRecord

NEW = {"email": "new@example.com", "password": "a long enough password"}


@pytest.fixture
async def raw(container: Container) -> AsyncIterator[httpx.AsyncClient]:
    """Anonymous, and an unexpected error answers 500 instead of raising in the test."""
    transport = httpx.ASGITransport(app=create_app(container=container), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


async def count(container: Container, model: type, *where: object) -> int:
    async with container.sessions() as s:
        return int(await s.scalar(select(func.count()).select_from(model).where(*where)) or 0)


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/v1/auth/signup", NEW),
        ("/api/signup", NEW | {"name": "New"}),
        ("/api/v1/auth/login", None),
        ("/api/login", None),
    ],
)
async def test_a_sign_in_failing_before_its_commit_stores_nothing(
    raw: httpx.AsyncClient,
    container: Container,
    user_a: Account,
    monkeypatch: pytest.MonkeyPatch,
    path: str,
    body: dict | None,
) -> None:
    def broken_signer(*args: object, **kwargs: object) -> None:
        raise RuntimeError("token signing failed")

    monkeypatch.setattr(service, "issue", broken_signer)  # minting tokens is the last step
    events_before = await count(container, AuditEvent)
    r = await raw.post(path, json=body or {"email": user_a.email, "password": user_a.password})
    assert r.status_code == 500 and r.json()["code"] == "internal_error"
    assert await count(container, User, User.email == NEW["email"]) == 0
    assert await count(container, AuditEvent) == events_before  # no signup, no login event
    assert await count(container, AuthSession) == 0
    assert await count(container, RefreshToken) == 0


async def _failed_login(anon: httpx.AsyncClient, user: Account) -> tuple[str, dict]:
    return "/api/v1/auth/login", {"email": user.email, "password": "not the password"}


async def _reused_refresh(anon: httpx.AsyncClient, user: Account) -> tuple[str, dict]:
    login = {"email": user.email, "password": user.password}
    spent = (await anon.post("/api/v1/auth/login", json=login)).json()["refresh_token"]
    assert (await anon.post("/api/v1/auth/refresh", json={"refresh_token": spent})).is_success
    return "/api/v1/auth/refresh", {"refresh_token": spent}


REFUSALS = {
    "failed login": (_failed_login, "invalid_credentials", "login_failed"),
    "refresh reuse": (_reused_refresh, "invalid_token", "refresh_reuse_detected"),
}


@pytest.mark.parametrize("case", list(REFUSALS))
async def test_a_refusal_keeps_its_record_but_not_its_idempotency_key(
    anon: httpx.AsyncClient, container: Container, user_a: Account, case: str
) -> None:
    prepare, code, action = REFUSALS[case]
    path, body = await prepare(anon, user_a)
    for _ in range(2):
        r = await anon.post(path, json=body, headers={"Idempotency-Key": "retry-me"})
        assert r.status_code == 401 and r.json()["code"] == code, r.text
        assert "idempotent-replayed" not in r.headers
    assert await count(container, IdempotencyRecord) == 0
    assert await count(container, AuditEvent, AuditEvent.action == action) >= 1
