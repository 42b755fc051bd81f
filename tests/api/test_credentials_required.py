"""Every /api/v1 route needs live credentials (README); only /api/v1/auth/* hands them out."""

from __future__ import annotations

import re

import httpx

from tests.api.conftest import Account, client_for, make_user
from voxhub.accounts.models import Role
from voxhub.app import create_app
from voxhub.container import Container

# Where credentials are obtained: signing up, in, out, refreshing, the first-start login link.
PUBLIC = "/api/v1/auth/"
SOME_ID = "00000000-0000-4000-8000-000000000000"


def v1_operations(container: Container) -> list[tuple[str, str]]:
    paths = create_app(container=container).openapi()["paths"]
    return [
        (method.upper(), re.sub(r"\{[^}]+\}", SOME_ID, path))
        for path, ops in paths.items()
        if path.startswith("/api/v1/") and not path.startswith(PUBLIC)
        for method in ops
    ]


async def bad_credentials(
    anon: httpx.AsyncClient, container: Container, user: Account
) -> dict[str, dict[str, str]]:
    login = {"email": user.email, "password": user.password}
    pair = (await anon.post("/api/v1/auth/login", json=login)).json()
    await anon.post("/api/v1/auth/logout", json={"refresh_token": pair["refresh_token"]})
    banned = await make_user(container, "banned@example.com")
    admin = await make_user(container, "root@example.com", Role.admin)
    async with client_for(container, admin) as root:
        r = await root.patch(f"/api/v1/admin/users/{banned.id}", json={"disabled": True})
        assert r.status_code == 200, r.text
    return {
        "ended session's access token": {"Authorization": f"Bearer {pair['access_token']}"},
        "disabled user's API key": {"X-API-Key": banned.api_key},
    }


async def test_every_v1_route_refuses_missing_or_dead_credentials(
    anon: httpx.AsyncClient, container: Container, user_a: Account
) -> None:
    operations = v1_operations(container)
    assert ("GET", "/api/v1/engines") in operations and len(operations) > 20
    assert {("GET", "/api/v1/activities"), ("DELETE", "/api/v1/activities")} <= set(operations)
    # Three passes over every route from one client: past the per-client limit (60 a minute),
    # which would answer 429 (and refuse the sign-in below) before credentials are looked at.
    container.limiter.enabled = False

    async def refused(name: str, headers: dict[str, str]) -> None:
        for method, path in operations:
            body = {"json": {}} if method in ("POST", "PATCH") else {}
            r = await anon.request(method, path, headers=headers, **body)
            assert r.status_code == 401, (name, method, path, r.text)
            assert r.headers["www-authenticate"].startswith("Bearer"), (name, path)

    await refused("none", {})
    for name, headers in (await bad_credentials(anon, container, user_a)).items():
        await refused(name, headers)
    assert (await anon.get("/api/v1/engines", headers=user_a.headers)).status_code == 200
