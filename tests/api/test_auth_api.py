"""Accounts: signup, login, refresh rotation and reuse, API keys, JWT negatives, audit."""

from __future__ import annotations

import base64
import json
import time

import jwt
import pytest
from sqlalchemy import text

from tests.api.conftest import Account
from voxhub.container import Container

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


async def _login(anon, user: Account) -> dict:
    r = await anon.post("/api/v1/auth/login", json={"email": user.email, "password": user.password})
    assert r.status_code == 200, r.text
    return r.json()


def _claims(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def _sign(claims: dict, key: object, alg: str = "HS256") -> str:
    return jwt.encode(claims, key, algorithm=alg, headers={"typ": "JWT"})


JWT_NEGATIVES = [
    "alg_none",
    "wrong_key",
    "hs384",
    "hs512",
    "rs256",
    "expired_beyond_leeway",
    "nbf_in_future",
    "wrong_aud",
    "wrong_iss",
    "no_exp",
    "no_sid",
    "refresh_as_access",
    "genuine_refresh_token",
    "revoked_session",
    "unknown_session",
    "another_users_session",
    "garbage",
]


@pytest.mark.parametrize("case", JWT_NEGATIVES)
async def test_jwt_negative_suite(
    anon, container: Container, user_a: Account, user_b: Account, case: str
) -> None:
    """Each token is a real, complete one changed in exactly the aspect under test."""
    from cryptography.hazmat.primitives.asymmetric import rsa

    cfg = container.tokens
    live = await _login(anon, user_a)
    base = _claims(live["access_token"]) | {"jti": "forged"}
    now, leeway = int(time.time()), cfg.leeway_s
    control = _sign(base, cfg.secret)
    ok = await anon.get("/api/v1/me", headers={"Authorization": f"Bearer {control}"})
    assert ok.status_code == 200 and ok.json()["id"] == user_a.id, ok.text

    def changed(**edits: object) -> str:
        claims = {k: v for k, v in (base | edits).items() if v is not None}
        return _sign(claims, cfg.secret)

    async def ended_session() -> str:
        pair = await _login(anon, user_a)
        r = await anon.post("/api/v1/auth/logout", json={"refresh_token": pair["refresh_token"]})
        assert r.status_code == 204
        return str(pair["access_token"])  # genuine, signed by us, of a logged-out session

    if case == "alg_none":
        token = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(base)}."
    elif case == "wrong_key":
        token = _sign(base, b"k" * 64)
    elif case in ("hs384", "hs512"):
        token = _sign(base, cfg.secret, case.upper())
    elif case == "rs256":
        token = _sign(base, rsa.generate_private_key(public_exponent=65537, key_size=2048), "RS256")
    elif case == "expired_beyond_leeway":
        token = changed(iat=now - 900, nbf=now - 900, exp=now - leeway - 5)
    elif case == "nbf_in_future":
        token = changed(nbf=now + leeway + 60)
    elif case == "wrong_aud":
        token = changed(aud="someone-else")
    elif case == "wrong_iss":
        token = changed(iss="evil")
    elif case == "no_exp":
        token = changed(exp=None)
    elif case == "no_sid":
        token = changed(sid=None)
    elif case == "refresh_as_access":
        token = changed(typ="refresh", fam=base["sid"])
    elif case == "genuine_refresh_token":
        token = live["refresh_token"]
    elif case == "revoked_session":
        token = await ended_session()
    elif case == "unknown_session":
        token = changed(sid="00000000-0000-4000-8000-000000000000")
    elif case == "another_users_session":
        token = changed(sid=_claims((await _login(anon, user_b))["access_token"])["sid"])
    else:
        token = "not.a.jwt"
    r = await anon.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401, r.text
    assert r.json()["code"] == "invalid_token"
    assert 'error="invalid_token"' in r.headers["www-authenticate"]


async def test_audit_log_is_admin_only_and_append_only(client, container: Container) -> None:
    from tests.api.conftest import client_for, make_user
    from voxhub.accounts.models import Role

    assert (await client.get("/api/v1/admin/audit")).status_code == 403
    admin = await make_user(container, "root@example.com", Role.admin)
    async with client_for(container, admin) as root:
        events = (await root.get("/api/v1/admin/audit?action=signup")).json()["items"]
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
