"""The web app's session: httpOnly cookies, and a CSRF token that every unsafe request must echo."""

from __future__ import annotations

import httpx

from tests.api.conftest import Account
from voxhub.app import create_app
from voxhub.container import Container


async def web_login(anon: httpx.AsyncClient, user: Account) -> str:
    r = await anon.post(
        "/api/v1/auth/web/login", json={"email": user.email, "password": user.password}
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert "access_token" not in body and "refresh_token" not in body  # tokens live in cookies only
    assert body["csrf_token"] == anon.cookies["vxh_csrf"]
    return str(body["csrf_token"])


async def test_the_cookies_are_httponly_strict_and_scoped(
    anon: httpx.AsyncClient, user_a: Account
) -> None:
    r = await anon.post(
        "/api/v1/auth/web/login", json={"email": user_a.email, "password": user_a.password}
    )
    set_cookie = {c.split("=", 1)[0]: c.lower() for c in r.headers.get_list("set-cookie")}
    assert "httponly" in set_cookie["vxh_access"] and "path=/;" in set_cookie["vxh_access"]
    assert (
        "httponly" in set_cookie["vxh_refresh"]
        and "path=/api/v1/auth/web" in set_cookie["vxh_refresh"]
    )
    assert "httponly" not in set_cookie["vxh_csrf"]
    assert all("samesite=strict" in c for c in set_cookie.values())


async def test_reads_need_only_the_cookie_and_writes_need_the_csrf_token(
    anon: httpx.AsyncClient, user_a: Account
) -> None:
    csrf = await web_login(anon, user_a)
    assert (await anon.get("/api/v1/me")).status_code == 200

    forged = await anon.post("/api/v1/api-keys", json={"name": "forged"})
    assert forged.status_code == 403
    assert forged.json()["code"] == "csrf_failed"
    wrong = await anon.post(
        "/api/v1/api-keys", json={"name": "forged"}, headers={"X-CSRF-Token": "x" * 43}
    )
    assert wrong.status_code == 403
    listed = await anon.get("/api/v1/api-keys")
    assert "forged" not in [k["name"] for k in listed.json()]  # the refused calls stored nothing

    made = await anon.post(
        "/api/v1/api-keys", json={"name": "real"}, headers={"X-CSRF-Token": csrf}
    )
    assert made.status_code == 201, made.text


async def test_another_sessions_csrf_token_does_not_pass(
    container: Container, anon: httpx.AsyncClient, user_a: Account, user_b: Account
) -> None:
    from tests.api.conftest import client_for

    async with client_for(container, None) as other:
        their_csrf = await web_login(other, user_b)
    await web_login(anon, user_a)
    r = await anon.post(
        "/api/v1/api-keys", json={"name": "x"}, headers={"X-CSRF-Token": their_csrf}
    )
    assert r.status_code == 403


async def test_refresh_needs_the_csrf_token_and_logout_ends_the_session(
    anon: httpx.AsyncClient, user_a: Account
) -> None:
    csrf = await web_login(anon, user_a)
    assert (await anon.post("/api/v1/auth/web/refresh")).status_code == 403
    refreshed = await anon.post("/api/v1/auth/web/refresh", headers={"X-CSRF-Token": csrf})
    assert refreshed.status_code == 200, refreshed.text
    csrf = refreshed.json()["csrf_token"]
    old_access = anon.cookies["vxh_access"]

    assert (await anon.post("/api/v1/auth/web/logout")).status_code == 403  # no forced sign-out
    out = await anon.post("/api/v1/auth/web/logout", headers={"X-CSRF-Token": csrf})
    assert out.status_code == 204
    assert "vxh_access" not in anon.cookies
    # The ended session's access token no longer works, even replayed by hand.
    anon.cookies.set("vxh_access", old_access)
    assert (await anon.get("/api/v1/me")).status_code == 401
    assert (
        await anon.post("/api/v1/auth/web/refresh", headers={"X-CSRF-Token": csrf})
    ).status_code == 401


async def test_a_bearer_token_needs_no_csrf_token(client: httpx.AsyncClient) -> None:
    """API keys and bearer tokens are not ambient credentials: a forged page cannot send them."""
    r = await client.post("/api/v1/api-keys", json={"name": "scripted"})
    assert r.status_code == 201, r.text


async def test_a_wrong_password_signs_nobody_in(anon: httpx.AsyncClient, user_a: Account) -> None:
    r = await anon.post(
        "/api/v1/auth/web/login", json={"email": user_a.email, "password": "nope nope"}
    )
    assert r.status_code == 401
    assert r.headers["content-type"].startswith("application/problem+json")
    assert "vxh_access" not in anon.cookies


async def test_every_unsafe_method_needs_the_csrf_token(
    anon: httpx.AsyncClient, user_a: Account
) -> None:
    csrf = await web_login(anon, user_a)
    made = await anon.post("/api/v1/api-keys", json={"name": "k"}, headers={"X-CSRF-Token": csrf})
    key_id = made.json()["id"]
    change = {"current_password": user_a.password, "new_password": "mallory's own password"}
    assert (await anon.post("/api/v1/me/password", json=change)).status_code == 403
    assert (await anon.delete(f"/api/v1/api-keys/{key_id}")).status_code == 403
    assert key_id in [k["id"] for k in (await anon.get("/api/v1/api-keys")).json()]
    gone = await anon.delete(f"/api/v1/api-keys/{key_id}", headers={"X-CSRF-Token": csrf})
    assert gone.status_code == 204


async def test_an_idempotency_key_does_not_replay_past_the_csrf_check(
    anon: httpx.AsyncClient, user_a: Account
) -> None:
    csrf = await web_login(anon, user_a)
    key = {"Idempotency-Key": "web-1"}
    first = await anon.post(
        "/api/v1/api-keys", json={"name": "once"}, headers=key | {"X-CSRF-Token": csrf}
    )
    assert first.status_code == 201
    forged = await anon.post("/api/v1/api-keys", json={"name": "once"}, headers=key)
    assert forged.status_code == 403  # not the stored 201 with the new key in it
    assert "key" not in forged.json()


async def test_behind_https_the_cookies_are_secure_and_host_prefixed(
    container: Container, user_a: Account
) -> None:
    container.settings.security.cookie_secure = True
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(container=container)),
        base_url="https://voxhub.example",
    ) as browser:
        r = await browser.post(
            "/api/v1/auth/web/login", json={"email": user_a.email, "password": user_a.password}
        )
        assert r.status_code == 200, r.text
        set_cookie = {c.split("=", 1)[0]: c.lower() for c in r.headers.get_list("set-cookie")}
        assert set(set_cookie) == {"__Host-vxh_access", "__Secure-vxh_refresh", "__Host-vxh_csrf"}
        assert all("secure" in c for c in set_cookie.values())
        assert (await browser.get("/api/v1/me")).status_code == 200
        # A plain-named cookie (one a sibling subdomain could plant) is not a credential here.
        planted = browser.cookies["__Host-vxh_access"]
        browser.cookies.clear()
        browser.cookies.set("vxh_access", planted)
        assert (await browser.get("/api/v1/me")).status_code == 401
