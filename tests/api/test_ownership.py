"""Two users: nothing of A's private objects can be read, changed or used by B."""

from __future__ import annotations

import asyncio

from tests.api.conftest import Account, client_for, create_voice, make_user
from voxhub.accounts.models import Role
from voxhub.container import Container

RANDOM = "00000000-0000-4000-8000-000000000000"


async def test_cross_tenant_matrix(client, client_b, container: Container) -> None:
    voice = await create_voice(client)
    vid = voice["id"]
    gen = await client.post("/api/v1/speech", json={"voice_id": vid, "text": "Private words."})
    gid = gen.headers["x-voxhub-generation-id"]
    job = (
        await client.post("/api/v1/speech", json={"voice_id": vid, "text": "Job.", "async": True})
    ).json()
    async with asyncio.timeout(60):
        await container.jobs.wait_idle()
    before = (await client.get(f"/api/v1/voices/{vid}")).json()
    kid = (await client.post("/api/v1/api-keys", json={"name": "a's key"})).json()["id"]

    routes = [
        ("GET", "/api/v1/voices/{v}", None),
        ("PATCH", "/api/v1/voices/{v}", {"name": "pwned"}),
        ("DELETE", "/api/v1/voices/{v}", None),
        ("GET", "/api/v1/voices/{v}/sample", None),
        ("GET", "/api/v1/voices/{v}/profile", None),
        ("GET", "/api/v1/generations/{g}", None),
        ("GET", "/api/v1/generations/{g}/audio", None),
        ("GET", "/api/v1/jobs/{j}", None),
        ("GET", "/voices/{v}", None),
        ("GET", "/api/voices/{v}/profile", None),
        ("DELETE", "/api/v1/api-keys/{k}", None),
        ("POST", "/voices/{v}/synthesize", {"text": "hi"}),
    ]
    for method, template, body in routes:
        theirs = await client_b.request(
            method, template.format(v=vid, g=gid, j=job["id"], k=kid), json=body
        )
        missing = await client_b.request(
            method, template.format(v=RANDOM, g=RANDOM, j=RANDOM, k=RANDOM), json=body
        )
        assert theirs.status_code == 404, (method, template, theirs.text)
        assert missing.status_code == 404
        # Same body as for an id that does not exist (apart from echoing the id that was sent).
        echoed = theirs.text
        for real in (vid, gid, job["id"], kid):
            echoed = echoed.replace(real, RANDOM)
        assert echoed == missing.text
    used = await client_b.post("/api/v1/speech", json={"voice_id": vid, "text": "Use it."})
    assert used.status_code == 404
    # Ownership is checked before the file is looked at: not a 415 for these bytes, a 404.
    ref = await client_b.post(
        f"/api/v1/voices/{vid}/references", files={"file": ("a.wav", b"RIFF")}
    )
    assert ref.status_code == 404 and ref.json()["code"] == "voice_not_found", ref.text
    assert (await client_b.get("/api/v1/voices")).json()["items"] == []
    assert (await client_b.get("/api/v1/generations")).json()["items"] == []
    assert (await client_b.get("/api/v1/jobs")).json()["items"] == []
    assert kid in [k["id"] for k in (await client.get("/api/v1/api-keys")).json()]
    after = (await client.get(f"/api/v1/voices/{vid}")).json()
    assert after == before


async def test_public_voice_is_usable_by_all_but_changed_only_by_owner_or_admin(
    client, client_b, container: Container
) -> None:
    vid = (await create_voice(client))["id"]
    assert (
        await client.patch(f"/api/v1/voices/{vid}", json={"visibility": "public"})
    ).status_code == 200
    assert (await client_b.get(f"/api/v1/voices/{vid}")).status_code == 200
    spoken = await client_b.post(
        "/api/v1/speech", json={"voice_id": vid, "text": "Borrowed voice."}
    )
    assert spoken.status_code == 200
    assert [v["id"] for v in (await client_b.get("/api/v1/voices")).json()["items"]] == [vid]
    assert (await client_b.get("/api/v1/voices?mine=true")).json()["items"] == []
    r = await client_b.patch(f"/api/v1/voices/{vid}", json={"name": "mine now"})
    assert r.status_code == 403 and r.json()["code"] == "forbidden"
    assert (await client_b.delete(f"/api/v1/voices/{vid}")).status_code == 403
    # B's generation with A's public voice is B's, not A's.
    gid = spoken.headers["x-voxhub-generation-id"]
    assert (await client.get(f"/api/v1/generations/{gid}")).status_code == 404

    admin: Account = await make_user(container, "admin@example.com", Role.admin)
    async with client_for(container, admin) as root:
        assert (
            await root.patch(f"/api/v1/voices/{vid}", json={"name": "moderated"})
        ).status_code == 200
        assert (await root.delete(f"/api/v1/voices/{vid}")).status_code == 204


async def test_mass_assignment_is_refused(client) -> None:
    vid = (await create_voice(client))["id"]
    for body in ({"owner_id": RANDOM}, {"id": RANDOM}, {"profile_status": "ready"}):
        r = await client.patch(f"/api/v1/voices/{vid}", json=body)
        assert r.status_code == 422, body
    r = await client.post(
        "/api/v1/auth/signup",
        json={"email": "m@x.io", "password": "long password", "role": "admin"},
    )
    assert r.status_code == 422
