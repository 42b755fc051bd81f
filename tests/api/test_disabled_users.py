"""Disabling an account (admin route, OIDC included): every credential of it is refused."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from sqlalchemy import func, select, update

from tests.api.conftest import Account, client_for, make_user
from tests.api.identity import AUD, ISS, Provider, serve_provider
from voxhub.accounts.models import Role, User
from voxhub.accounts.oidc import OidcVerifier
from voxhub.audit.models import AuditEvent
from voxhub.container import Container
from voxhub.security.idempotency_models import IdempotencyRecord


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def provider() -> Iterator[Provider]:
    with serve_provider() as p:
        yield p


@pytest.fixture
async def admin(container: Container) -> Account:
    return await make_user(container, "root@example.com", Role.admin)


@pytest.fixture
async def root(container: Container, admin: Account) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(container, admin) as c:
        yield c


async def test_a_disabled_user_is_refused_on_every_path(
    anon: httpx.AsyncClient, root: httpx.AsyncClient, user_a: Account
) -> None:
    login = {"email": user_a.email, "password": user_a.password}
    v1 = (await anon.post("/api/v1/auth/login", json=login)).json()
    seed = (await anon.post("/api/login", json=login)).json()
    reads = {
        "X-API-Key": {"X-API-Key": user_a.api_key},
        "API key as bearer": user_a.headers,
        "access token": bearer(v1["access_token"]),
        "seed 001 token": bearer(seed["token"]),
    }
    for name, headers in reads.items():
        assert (await anon.get("/api/v1/me", headers=headers)).status_code == 200, name

    r = await root.patch(f"/api/v1/admin/users/{user_a.id}", json={"disabled": True})
    assert r.status_code == 200 and r.json()["disabled"] is True

    for name, headers in reads.items():
        r = await anon.get("/api/v1/me", headers=headers)
        assert r.status_code == 401 and r.json()["code"] == "invalid_token", name
    refusals = [
        ("/api/v1/auth/login", {"json": login}, "invalid_credentials"),
        ("/api/login", {"json": login}, "invalid_credentials"),
        ("/api/v1/auth/refresh", {"json": {"refresh_token": v1["refresh_token"]}}, "invalid_token"),
        ("/api/v1/auth/login-link", {"json": {"token": v1["refresh_token"]}}, "invalid_token"),
        ("/api/refresh-token", {"json": {"refreshToken": seed["refreshToken"]}}, "invalid_token"),
        ("/api/refresh-token", {"headers": bearer(seed["token"])}, "invalid_token"),
    ]
    for path, kwargs, code in refusals:
        r = await anon.post(path, **kwargs)
        assert r.status_code == 401 and r.json()["code"] == code, (path, r.text)


async def test_enabling_again_restores_keys_and_passwords_not_sessions(
    anon: httpx.AsyncClient,
    root: httpx.AsyncClient,
    container: Container,
    admin: Account,
    user_a: Account,
) -> None:
    login = {"email": user_a.email, "password": user_a.password}
    before = (await anon.post("/api/v1/auth/login", json=login)).json()
    assert (
        await root.patch(f"/api/v1/admin/users/{user_a.id}", json={"disabled": True})
    ).is_success
    r = await root.patch(f"/api/v1/admin/users/{user_a.id}", json={"disabled": False})
    assert r.status_code == 200 and r.json()["disabled"] is False
    assert (await anon.get("/api/v1/me", headers=user_a.headers)).status_code == 200
    assert (await anon.get("/api/v1/me", headers=bearer(before["access_token"]))).status_code == 401
    assert (await anon.post("/api/v1/auth/login", json=login)).status_code == 200
    async with container.sessions() as s:
        events = (
            await s.execute(
                select(AuditEvent.action, AuditEvent.actor_id).where(
                    AuditEvent.target_id == user_a.id, AuditEvent.action.like("user_%")
                )
            )
        ).all()
    assert sorted(events) == [("user_disabled", admin.id), ("user_enabled", admin.id)]


async def test_admin_user_route_refusals(
    client: httpx.AsyncClient, root: httpx.AsyncClient, admin: Account, user_b: Account
) -> None:
    path = f"/api/v1/admin/users/{user_b.id}"
    r = await client.patch(path, json={"disabled": True})
    assert r.status_code == 403 and r.json()["code"] == "forbidden"
    r = await root.patch(
        "/api/v1/admin/users/00000000-0000-4000-8000-000000000000", json={"disabled": True}
    )
    assert r.status_code == 404 and r.json()["code"] == "user_not_found"
    r = await root.patch(f"/api/v1/admin/users/{admin.id}", json={"disabled": True})
    assert r.status_code == 409 and r.json()["code"] == "cannot_disable_self"
    for body in ({"disabled": "perhaps"}, {"disabled": True, "role": "admin"}, {}):
        r = await root.patch(path, json=body)
        assert r.status_code == 422 and r.json()["code"] == "validation_error", body
    assert (await client.get("/api/v1/me")).status_code == 200  # nothing above disabled anyone
    listed = (await root.get("/api/v1/admin/users")).json()
    assert {u["id"]: u["disabled"] for u in listed}[user_b.id] is False


async def test_a_disabled_oidc_user_is_refused(
    anon: httpx.AsyncClient, container: Container, provider: Provider
) -> None:
    container.extras["oidc"] = OidcVerifier(provider.jwks_url, ISS, AUD)
    token = provider.token("uid-1", email="fb@example.com")
    created = await anon.post("/api/v1/api-keys", headers=bearer(token), json={"name": "fb"})
    assert created.status_code == 201, created.text  # a committing request: the user is stored
    async with container.sessions() as s:
        await s.execute(update(User).where(User.email == "fb@example.com").values(disabled=True))
        await s.commit()
    for headers in (
        bearer(token),
        bearer(provider.token("uid-1")),
        {"X-API-Key": created.json()["key"]},
    ):
        r = await anon.get("/api/v1/me", headers=headers)
        assert r.status_code == 401 and r.json()["code"] == "invalid_token", r.text


async def test_oidc_first_sign_in_is_stored_only_with_the_requests_effect(
    anon: httpx.AsyncClient, container: Container, provider: Provider
) -> None:
    container.extras["oidc"] = OidcVerifier(provider.jwks_url, ISS, AUD)
    headers = bearer(provider.token("uid-2", email="new@example.com")) | {"Idempotency-Key": "k1"}

    async def stored() -> tuple[int, int]:
        async with container.sessions() as s:
            users = await s.scalar(
                select(func.count()).select_from(User).where(User.email == "new@example.com")
            )
            keys = await s.scalar(select(func.count()).select_from(IdempotencyRecord))
        return int(users or 0), int(keys or 0)

    for _ in range(2):  # refused: neither the new user nor the key's claim may be kept
        r = await anon.post("/api/v1/api-keys", headers=headers, json={"name": "x", "bogus": 1})
        assert r.status_code == 422 and "idempotent-replayed" not in r.headers, r.headers
    assert await stored() == (0, 0)
    ids = {(await anon.get("/api/v1/me", headers=headers)).json()["id"] for _ in range(2)}
    assert len(ids) == 1 and await stored() == (0, 0)  # reads commit nothing, yet one identity

    r = await anon.post("/api/v1/api-keys", headers=headers | {"Idempotency-Key": "k2"}, json={})
    assert r.status_code == 201, r.text
    assert await stored() == (1, 1)
    (uid,) = ids
    async with container.sessions() as s:
        user = await s.scalar(select(User).where(User.email == "new@example.com"))
        signup = await s.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "signup", AuditEvent.target_id == uid)
        )
    assert user is not None and user.id == uid and signup == 1
