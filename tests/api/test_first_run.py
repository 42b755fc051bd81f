"""First start with no users: an admin, a one-time login link and an API key, printed once."""

from __future__ import annotations

from voxhub.accounts.first_run import ensure_first_admin, local_admin_id
from voxhub.bootstrap import Container


async def test_first_run_admin_link_and_key(anon, container: Container) -> None:
    creds = await ensure_first_admin(container)
    assert creds is not None and creds.email == "admin@voxhub.internal"
    assert await ensure_first_admin(container) is None  # only when there are no users
    me = await anon.get("/api/v1/me", headers={"X-API-Key": creds.api_key})
    assert me.status_code == 200 and me.json()["role"] == "admin"
    assert me.json()["id"] == await local_admin_id(container)

    link = f"/api/v1/auth/login-link?token={creds.login_token}"
    first = await anon.get(link)
    assert first.status_code == 200 and first.headers["cache-control"] == "no-store"
    assert first.json()["user"]["email"] == "admin@voxhub.internal"
    assert (await anon.get(link)).status_code == 401  # once only
    login = await anon.post(
        "/api/v1/auth/login", json={"email": creds.email, "password": creds.password}
    )
    assert login.status_code == 200
