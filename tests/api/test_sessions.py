"""Sign-in sessions: once a session ends, for any reason, no token of it works or mints another."""

from __future__ import annotations

import httpx
import jwt
import pytest
from sqlalchemy import select

from tests.api.conftest import Account, client_for, make_user
from voxhub.accounts import service, sessions
from voxhub.accounts.models import AuthSession, RefreshToken, Role
from voxhub.accounts.tokens import InvalidToken
from voxhub.audit.models import AuditEvent
from voxhub.container import Container
from voxhub.core.errors import InvalidTokenError


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def sign_in(anon: httpx.AsyncClient, user: Account) -> dict:
    r = await anon.post("/api/v1/auth/login", json={"email": user.email, "password": user.password})
    assert r.status_code == 200, r.text
    return r.json()


async def rotate(anon: httpx.AsyncClient, refresh: str) -> dict:
    r = await anon.post("/api/v1/auth/refresh", json={"refresh_token": refresh})
    assert r.status_code == 200, r.text
    return r.json()


def session_of(access: str) -> str | None:
    return jwt.decode(access, options={"verify_signature": False}).get("sid")


async def end_by_logout(anon, container, user, pair) -> None:
    r = await anon.post("/api/v1/auth/logout", json={"refresh_token": pair["refresh_token"]})
    assert r.status_code == 204


async def end_by_password_change(anon, container, user, pair) -> None:
    r = await anon.post(
        "/api/v1/me/password",
        headers=bearer(pair["access_token"]),
        json={"current_password": user.password, "new_password": "a brand new password"},
    )
    assert r.status_code == 204, r.text


async def end_by_reuse(anon, container, user, pair) -> None:
    # `pair` was rotated from `first_refresh`; presenting the spent token again is a reuse.
    r = await anon.post("/api/v1/auth/refresh", json={"refresh_token": pair["first_refresh"]})
    assert r.status_code == 401


async def end_by_admin_disable(anon, container, user, pair) -> None:
    admin = await make_user(container, "root@example.com", Role.admin)
    async with client_for(container, admin) as root:
        r = await root.patch(f"/api/v1/admin/users/{user.id}", json={"disabled": True})
    assert r.status_code == 200, r.text


ENDINGS = {
    "logout": (end_by_logout, "logout"),
    "password_changed": (end_by_password_change, "password_changed"),
    "refresh_reuse": (end_by_reuse, "refresh_reuse_detected"),
    "disabled": (end_by_admin_disable, "user_disabled"),
}


@pytest.mark.parametrize("reason", list(ENDINGS))
async def test_an_ended_session_mints_nothing_and_its_access_tokens_die(
    anon: httpx.AsyncClient, container: Container, user_a: Account, reason: str
) -> None:
    first = await sign_in(anon, user_a)
    pair = await rotate(anon, first["refresh_token"]) | {"first_refresh": first["refresh_token"]}
    assert (await anon.get("/api/v1/me", headers=bearer(pair["access_token"]))).status_code == 200

    end, action = ENDINGS[reason]
    await end(anon, container, user_a, pair)

    for access in (first["access_token"], pair["access_token"]):
        r = await anon.get("/api/v1/me", headers=bearer(access))
        assert r.status_code == 401 and r.json()["code"] == "invalid_token", r.text
        r = await anon.post("/api/refresh-token", headers=bearer(access))  # seed 001's form
        assert r.status_code == 401 and r.json()["code"] == "invalid_token", r.text
    minting = [
        ("/api/v1/auth/refresh", {"refresh_token": pair["refresh_token"]}),
        ("/api/v1/auth/login-link", {"token": pair["refresh_token"]}),
        ("/api/refresh-token", {"refreshToken": pair["refresh_token"]}),
    ]
    for path, body in minting:
        r = await anon.post(path, json=body)
        assert r.status_code == 401 and r.json()["code"] == "invalid_token", (path, r.text)

    sid = session_of(pair["access_token"])
    assert sid is not None and session_of(first["access_token"]) == sid  # rotation keeps it
    async with container.sessions() as s:
        row = await s.get(AuthSession, sid)
        live_refresh = await s.scalars(
            select(RefreshToken.id).where(
                RefreshToken.family_id == sid, RefreshToken.revoked_at.is_(None)
            )
        )
        actions = set(await s.scalars(select(AuditEvent.action)))
    assert row is not None and row.revoked_at is not None and row.revoked_reason == reason
    assert list(live_refresh) == []
    assert action in actions


async def test_password_change_ends_every_session_and_only_that_users(
    anon: httpx.AsyncClient, user_a: Account, user_b: Account
) -> None:
    here, there = await sign_in(anon, user_a), await sign_in(anon, user_a)
    other = await sign_in(anon, user_b)
    await end_by_password_change(anon, None, user_a, here)
    for pair in (here, there):
        assert (
            await anon.get("/api/v1/me", headers=bearer(pair["access_token"]))
        ).status_code == 401
        r = await anon.post("/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]})
        assert r.status_code == 401
    assert (await anon.get("/api/v1/me", headers=bearer(other["access_token"]))).status_code == 200
    assert (await anon.get("/api/v1/me", headers=user_a.headers)).status_code == 200  # API key


async def test_the_loser_of_a_refresh_race_revokes_the_session(
    anon: httpx.AsyncClient, container: Container, user_a: Account
) -> None:
    pair = await sign_in(anon, user_a)
    jti = jwt.decode(pair["refresh_token"], options={"verify_signature": False})["jti"]
    async with container.sessions() as stale:
        # This session read the token before the other exchange spent it: the two raced.
        assert (await stale.get(RefreshToken, jti)).used_at is None
        winner = await rotate(anon, pair["refresh_token"])
        with pytest.raises(InvalidTokenError):
            await service.rotate(stale, container.tokens, pair["refresh_token"], "127.0.0.1")
    # The race was a reuse: the winner's fresh tokens are dead too.
    r = await anon.post("/api/v1/auth/refresh", json={"refresh_token": winner["refresh_token"]})
    assert r.status_code == 401
    assert (await anon.get("/api/v1/me", headers=bearer(winner["access_token"]))).status_code == 401
    async with container.sessions() as s:
        row = await s.get(AuthSession, session_of(pair["access_token"]))
        reuse = await s.scalars(
            select(AuditEvent.target_id).where(AuditEvent.action == "refresh_reuse_detected")
        )
        assert row is not None and row.revoked_reason == "refresh_reuse"
        assert list(reuse) == [row.id]


async def test_logout_ends_only_its_own_session(anon: httpx.AsyncClient, user_a: Account) -> None:
    gone, kept = await sign_in(anon, user_a), await sign_in(anon, user_a)
    await end_by_logout(anon, None, user_a, gone)
    assert (await anon.get("/api/v1/me", headers=bearer(gone["access_token"]))).status_code == 401
    assert (await anon.get("/api/v1/me", headers=bearer(kept["access_token"]))).status_code == 200
    assert (await rotate(anon, kept["refresh_token"]))["access_token"]


async def test_user_of_access_token_follows_the_session(
    anon: httpx.AsyncClient, container: Container, user_a: Account
) -> None:
    """What other layers (idempotency scopes) use to tell a live token from an ended one."""
    pair = await sign_in(anon, user_a)
    cfg = container.tokens
    async with container.sessions() as s:
        assert await sessions.user_of_access_token(s, cfg, pair["access_token"]) == user_a.id
    await end_by_logout(anon, container, user_a, pair)
    async with container.sessions() as s:
        assert await sessions.user_of_access_token(s, cfg, pair["access_token"]) is None
        with pytest.raises(InvalidToken):
            await sessions.user_of_access_token(s, cfg, pair["refresh_token"])
