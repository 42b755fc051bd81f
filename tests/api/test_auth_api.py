"""Accounts: signup, login, refresh rotation and reuse, API keys, JWT negatives, audit."""

from __future__ import annotations

import base64
import json
import time

import jwt
import pytest
from sqlalchemy import text

from tests.api.conftest import Account
from voxhub.bootstrap import Container

PASSWORD = "a long enough password"


def _b64(obj: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")


async def test_signup_login_me_and_refresh_rotation(anon, container: Container) -> None:
    r = await anon.post(
        "/api/v1/auth/signup", json={"email": "Eve@Example.com", "password": PASSWORD}
    )
    assert r.status_code == 201, r.text
    assert r.json()["user"]["email"] == "eve@example.com"
    assert r.json()["user"]["credits"] == 20  # TOKENS_TO_GIVE default
    dup = await anon.post(
        "/api/v1/auth/signup", json={"email": "eve@example.com", "password": PASSWORD}
    )
    assert dup.status_code == 409

    r = await anon.post(
        "/api/v1/auth/login", json={"email": "EVE@example.com", "password": PASSWORD}
    )
    assert r.status_code == 200
    tokens = r.json()
    assert tokens["expires_in"] == 3600 and tokens["token_type"] == "bearer"
    me = await anon.get("/api/v1/me", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert me.json()["email"] == "eve@example.com"

    r1 = tokens["refresh_token"]
    r2 = (await anon.post("/api/v1/auth/refresh", json={"refresh_token": r1})).json()[
        "refresh_token"
    ]
    reuse = await anon.post("/api/v1/auth/refresh", json={"refresh_token": r1})
    assert reuse.status_code == 401 and reuse.json()["code"] == "invalid_token"
    # The reuse revoked the whole family: the newest token is dead too.
    assert (await anon.post("/api/v1/auth/refresh", json={"refresh_token": r2})).status_code == 401
    async with container.sessions() as s:
        actions = set((await s.execute(text("select action from audit_events"))).scalars())
    assert {"signup", "login", "refresh_reuse_detected"} <= actions


async def test_logout_and_password_change_end_sessions(anon) -> None:
    pair = (
        await anon.post("/api/v1/auth/signup", json={"email": "f@x.io", "password": PASSWORD})
    ).json()
    assert (
        await anon.post("/api/v1/auth/logout", json={"refresh_token": pair["refresh_token"]})
    ).status_code == 204
    assert (
        await anon.post("/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    ).status_code == 401

    pair = (
        await anon.post("/api/v1/auth/login", json={"email": "f@x.io", "password": PASSWORD})
    ).json()
    h = {"Authorization": f"Bearer {pair['access_token']}"}
    bad = await anon.post(
        "/api/v1/me/password",
        headers=h,
        json={"current_password": "wrong password!", "new_password": "another password"},
    )
    assert bad.status_code == 401
    ok = await anon.post(
        "/api/v1/me/password",
        headers=h,
        json={"current_password": PASSWORD, "new_password": "another password"},
    )
    assert ok.status_code == 204
    assert (
        await anon.post("/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    ).status_code == 401
    assert (
        await anon.post("/api/v1/auth/login", json={"email": "f@x.io", "password": PASSWORD})
    ).status_code == 401
    assert (
        await anon.post(
            "/api/v1/auth/login", json={"email": "f@x.io", "password": "another password"}
        )
    ).status_code == 200


async def test_wrong_password_and_unknown_user_look_the_same(anon, user_a: Account) -> None:
    wrong = await anon.post(
        "/api/v1/auth/login", json={"email": user_a.email, "password": "nope nope nope"}
    )
    unknown = await anon.post(
        "/api/v1/auth/login", json={"email": "ghost@example.com", "password": "nope nope nope"}
    )
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    huge = await anon.post("/api/v1/auth/signup", json={"email": "h@x.io", "password": "x" * 1100})
    assert huge.status_code == 422


async def test_api_keys_create_list_revoke(client, anon, user_a: Account) -> None:
    r = await client.post("/api/v1/api-keys", json={"name": "ci"})
    assert r.status_code == 201
    created = r.json()
    assert created["key"].startswith("vxh_") and created["key"].startswith(created["prefix"])
    listed = (await client.get("/api/v1/api-keys")).json()
    assert created["id"] in [k["id"] for k in listed] and all("key" not in k for k in listed)
    assert (await anon.get("/api/v1/me", headers={"X-API-Key": created["key"]})).json()[
        "id"
    ] == user_a.id
    assert (
        await anon.get("/api/v1/me", headers={"Authorization": f"Bearer {created['key']}"})
    ).status_code == 200
    assert (await client.delete(f"/api/v1/api-keys/{created['id']}")).status_code == 204
    assert (await anon.get("/api/v1/me", headers={"X-API-Key": created["key"]})).status_code == 401


async def test_anonymous_is_401_with_www_authenticate(anon) -> None:
    for method, path in [
        ("GET", "/api/v1/voices"),
        ("POST", "/api/v1/speech"),
        ("GET", "/api/v1/me"),
        ("GET", "/api/v1/generations"),
        ("GET", "/api/v1/jobs"),
    ]:
        r = await anon.request(method, path, json={} if method == "POST" else None)
        assert r.status_code == 401, (path, r.text)
        assert r.headers["www-authenticate"].startswith("Bearer")
    assert (await anon.get("/health")).status_code == 200


def _forge(container: Container, user_id: str, **changes) -> str:
    cfg = container.tokens
    now = int(time.time())
    claims = {
        "iss": cfg.issuer,
        "aud": cfg.audience,
        "sub": user_id,
        "typ": "access",
        "jti": "j",
        "iat": now,
        "nbf": now,
        "exp": now + 600,
    }
    claims.update(changes)
    claims = {k: v for k, v in claims.items() if v is not None}
    return jwt.encode(claims, cfg.secret, algorithm="HS256")


@pytest.mark.parametrize(
    "case",
    [
        "alg_none",
        "wrong_key",
        "expired",
        "future_nbf",
        "wrong_aud",
        "wrong_iss",
        "no_exp",
        "refresh_as_access",
        "hs512",
        "garbage",
    ],
)
async def test_jwt_negative_suite(anon, container: Container, user_a: Account, case: str) -> None:
    uid = user_a.id
    token = {
        "alg_none": f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64({'sub': uid, 'typ': 'access'})}.",
        "wrong_key": jwt.encode({"sub": uid}, "x" * 48, algorithm="HS256"),
        "expired": _forge(container, uid, exp=int(time.time()) - 31),
        "future_nbf": _forge(container, uid, nbf=int(time.time()) + 120),
        "wrong_aud": _forge(container, uid, aud="someone-else"),
        "wrong_iss": _forge(container, uid, iss="evil"),
        "no_exp": _forge(container, uid, exp=None),
        "refresh_as_access": _forge(container, uid, typ="refresh"),
        "hs512": jwt.encode({"sub": uid}, container.tokens.secret, algorithm="HS512"),
        "garbage": "not.a.jwt",
    }[case]
    r = await anon.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401, r.text
    assert 'error="invalid_token"' in r.headers["www-authenticate"]
    assert (
        await anon.get("/api/v1/me", headers={"Authorization": f"Bearer {_forge(container, uid)}"})
    ).status_code == 200


async def test_audit_log_is_admin_only_and_append_only(client, container: Container) -> None:
    from tests.api.conftest import client_for, make_user
    from voxhub.accounts.models import Role

    assert (await client.get("/api/v1/admin/audit")).status_code == 403
    admin = await make_user(container, "root@example.com", Role.admin)
    async with client_for(container, admin) as root:
        events = (await root.get("/api/v1/admin/audit?action=signup")).json()
    assert {e["target_id"] for e in events} >= {admin.id}
    async with container.sessions() as s:
        with pytest.raises(Exception, match="append-only"):
            await s.execute(text("update audit_events set action = 'x'"))
        await s.rollback()
        with pytest.raises(Exception, match="append-only"):
            await s.execute(text("delete from audit_events"))
        await s.rollback()


async def test_seed001_auth_endpoints(anon) -> None:
    r = await anon.post(
        "/api/signup",
        json={"name": "John Doe", "email": "john@example.com", "password": "securepassword123"},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["success"] is True and body["message"] == "User created successfully"
    assert body["expiresIn"] == 3600
    assert set(body["user"]) == {
        "id",
        "name",
        "email",
        "tokens",
        "isVerified",
        "subscription",
        "createdAt",
        "updatedAt",
    }
    assert body["user"]["tokens"] == 20
    r = await anon.post(
        "/api/login", json={"email": "john@example.com", "password": "securepassword123"}
    )
    assert r.json()["message"] == "Login successful"
    token = r.json()["token"]
    me = await anon.get("/api/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json()["email"] == "john@example.com"
    again = await anon.post("/api/refresh-token", headers={"Authorization": f"Bearer {token}"})
    assert again.status_code == 200 and again.json()["message"] == "Token refreshed successfully"
    rotated = await anon.post("/api/refresh-token", json={"refreshToken": r.json()["refreshToken"]})
    assert rotated.status_code == 200 and rotated.json()["refreshToken"]
    assert (await anon.post("/api/refresh-token")).status_code == 401


async def test_login_rehashes_old_parameters(anon, container: Container, user_a: Account) -> None:
    from argon2 import PasswordHasher

    from voxhub.accounts.models import User

    weak = PasswordHasher(time_cost=1, memory_cost=8 * 1024).hash(user_a.password)
    async with container.sessions() as s:
        (await s.get(User, user_a.id)).password_hash = weak
        await s.commit()
    r = await anon.post(
        "/api/v1/auth/login", json={"email": user_a.email, "password": user_a.password}
    )
    assert r.status_code == 200
    async with container.sessions() as s:
        stored = (await s.get(User, user_a.id)).password_hash
    assert stored != weak and stored.startswith("$argon2id$v=19$m=65536")
