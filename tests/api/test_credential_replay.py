"""The idempotency store never keeps a credential, and never replays to credentials that ended."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import httpx
import pytest
from sqlalchemy import select

from tests.api.conftest import Account, client_for, create_voice, make_user
from voxhub.accounts.models import Role
from voxhub.container import Container
from voxhub.security.idempotency_models import IdempotencyRecord

PASSWORD = "a long enough password"


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _login(anon: httpx.AsyncClient, user: Account) -> dict:
    r = await anon.post("/api/v1/auth/login", json={"email": user.email, "password": user.password})
    assert r.status_code == 200, r.text
    return r.json()


# Each: (method, path, headers, json) for a credential-carrying route, and where its secrets are.
Call = tuple[str, dict[str, str], dict]
Setup = Callable[[httpx.AsyncClient, Account], Awaitable[Call]]


async def v1_signup(anon, user) -> Call:
    return "/api/v1/auth/signup", {}, {"email": "new@example.com", "password": PASSWORD}


async def v1_login(anon, user) -> Call:
    return "/api/v1/auth/login", {}, {"email": user.email, "password": user.password}


async def v1_refresh(anon, user) -> Call:
    return (
        "/api/v1/auth/refresh",
        {},
        {"refresh_token": (await _login(anon, user))["refresh_token"]},
    )


async def v1_api_key(anon, user) -> Call:
    return "/api/v1/api-keys", user.headers, {"name": "ci"}


async def seed_signup(anon, user) -> Call:
    body = {"name": "John Doe", "email": "john@example.com", "password": PASSWORD}
    return "/api/signup", {}, body


async def seed_login(anon, user) -> Call:
    return "/api/login", {}, {"email": user.email, "password": user.password}


async def seed_refresh(anon, user) -> Call:
    return "/api/refresh-token", {}, {"refreshToken": (await _login(anon, user))["refresh_token"]}


ROUTES: dict[str, Setup] = {
    "v1 signup": v1_signup,
    "v1 login": v1_login,
    "v1 refresh": v1_refresh,
    "v1 api key": v1_api_key,
    "seed 001 signup": seed_signup,
    "seed 001 login": seed_login,
    "seed 001 refresh": seed_refresh,
}


def _secrets(answer: dict) -> list[str]:
    names = ("access_token", "refresh_token", "token", "refreshToken", "key")
    return [v for k, v in answer.items() if k in names and isinstance(v, str) and len(v) > 20]


@pytest.mark.parametrize("route", list(ROUTES))
async def test_a_credential_is_never_stored_nor_replayed(
    anon: httpx.AsyncClient, container: Container, user_a: Account, route: str
) -> None:
    path, headers, body = await ROUTES[route](anon, user_a)
    keyed = headers | {"Idempotency-Key": f"creds-{route}"}
    first = await anon.post(path, headers=keyed, json=body)
    assert first.is_success, first.text
    assert first.headers["cache-control"] == "no-store"
    secrets = _secrets(first.json())
    assert secrets, first.json()
    async with container.sessions() as s:
        records = list(await s.scalars(select(IdempotencyRecord)))
    assert len(records) == 1 and records[0].body is None and not records[0].replayable
    for record in records:
        for secret in secrets:
            assert secret not in str(record.headers)
    again = await anon.post(path, headers=keyed, json=body)
    assert again.status_code == 409, again.text
    assert again.json()["code"] == "idempotency_replay_unavailable"
    assert not _secrets(again.json())


async def test_a_refresh_from_an_access_token_stores_nothing_at_all(
    anon: httpx.AsyncClient, container: Container, user_a: Account
) -> None:
    """It changes nothing (no commit), so there is no record to keep and a retry simply runs."""
    keyed = _bearer((await _login(anon, user_a))["access_token"]) | {"Idempotency-Key": "r"}
    first = await anon.post("/api/refresh-token", headers=keyed)
    assert first.status_code == 200, first.text
    async with container.sessions() as s:
        assert list(await s.scalars(select(IdempotencyRecord))) == []
    again = await anon.post("/api/refresh-token", headers=keyed)
    assert again.status_code == 200 and "idempotent-replayed" not in again.headers


async def _keyed_job(client: httpx.AsyncClient, headers: dict[str, str], vid: str):
    return await client.post(
        "/api/v1/speech",
        headers=headers | {"Idempotency-Key": "job-1"},
        json={"voice_id": vid, "text": "Queued once.", "async": True},
    )


async def test_no_replay_for_an_ended_session(
    anon: httpx.AsyncClient, client: httpx.AsyncClient, user_a: Account
) -> None:
    vid = (await create_voice(client))["id"]
    pair = await _login(anon, user_a)
    first = await _keyed_job(anon, _bearer(pair["access_token"]), vid)
    assert first.status_code == 202, first.text
    out = await anon.post("/api/v1/auth/logout", json={"refresh_token": pair["refresh_token"]})
    assert out.status_code == 204
    again = await _keyed_job(anon, _bearer(pair["access_token"]), vid)
    assert again.status_code == 401, again.text
    assert "idempotent-replayed" not in again.headers


async def test_no_replay_for_a_disabled_users_api_key(
    anon: httpx.AsyncClient, client: httpx.AsyncClient, container: Container, user_a: Account
) -> None:
    vid = (await create_voice(client))["id"]
    assert (await _keyed_job(anon, user_a.headers, vid)).status_code == 202
    admin = await make_user(container, "root@example.com", Role.admin)
    async with client_for(container, admin) as root:
        r = await root.patch(f"/api/v1/admin/users/{user_a.id}", json={"disabled": True})
        assert r.status_code == 200, r.text
    again = await _keyed_job(anon, user_a.headers, vid)
    assert again.status_code == 401, again.text
    assert "idempotent-replayed" not in again.headers
