"""The audit log: who did what to which object, from where, and how it ended, filtered by each
of those and paged by cursor; generations are in it, and it outlives what it describes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from tests.api.conftest import Account, client_for, create_voice, make_user
from voxhub.accounts.models import Role
from voxhub.container import Container

AUDIT = "/api/v1/admin/audit"


async def test_each_generation_is_audited_with_who_from_where(
    client: httpx.AsyncClient, container: Container, user_a: Account
) -> None:
    vid = (await create_voice(client))["id"]
    spoken = await client.post("/api/v1/speech", json={"voice_id": vid, "text": "Hello there."})
    streamed = await client.post(
        "/api/v1/speech", json={"voice_id": vid, "text": "Once more.", "stream": True}
    )
    gen_ids = [spoken.headers["x-voxhub-generation-id"], streamed.headers["x-voxhub-generation-id"]]
    # A cache hit makes nothing new: not audited again.
    again = await client.post("/api/v1/speech", json={"voice_id": vid, "text": "Hello there."})
    assert again.headers["x-voxhub-cache"] == "hit"
    admin = await make_user(container, "root@example.com", Role.admin)
    async with client_for(container, admin) as root:
        page = (await root.get(AUDIT, params={"action": "speech_generated"})).json()
        assert [e["target_id"] for e in page["items"]] == gen_ids[::-1]  # newest first
        first = page["items"][-1]
        assert (first["actor_id"], first["target_type"], first["outcome"]) == (
            user_a.id,
            "generation",
            "ok",
        )
        assert first["ip"] == "127.0.0.1"  # the test client's peer address
        assert first["details"]["voice_id"] == vid
        assert first["details"]["source"] == "sync"
        assert first["details"]["request_id"]
        # Deleting the voice (and its generations) leaves their audit events.
        assert (await client.delete(f"/api/v1/voices/{vid}")).status_code == 204
        gone = await client.get(f"/api/v1/generations/{gen_ids[0]}")
        assert gone.status_code == 404
        by_target = (await root.get(AUDIT, params={"target_id": gen_ids[0]})).json()["items"]
        assert [e["action"] for e in by_target] == ["speech_generated"]


async def test_filters_and_cursor_pages(
    client: httpx.AsyncClient, container: Container, user_a: Account
) -> None:
    vid = (await create_voice(client))["id"]
    for n in range(5):
        r = await client.post("/api/v1/speech", json={"voice_id": vid, "text": f"Line {n}."})
        assert r.status_code == 200
    admin = await make_user(container, "root@example.com", Role.admin)
    async with client_for(container, admin) as root:
        everything = (await root.get(AUDIT, params={"limit": 500})).json()["items"]
        mine = (await root.get(AUDIT, params={"actor_id": user_a.id, "limit": 500})).json()
        assert {e["actor_id"] for e in mine["items"]} == {user_a.id}
        assert {e["action"] for e in mine["items"]} >= {"voice_cloned", "speech_generated"}
        voice_events = (
            await root.get(AUDIT, params={"target_type": "voice", "target_id": vid})
        ).json()["items"]
        # The clone and the consent it was made under, in one commit (one timestamp).
        assert sorted(e["action"] for e in voice_events) == ["consent_recorded", "voice_cloned"]
        assert (await root.get(AUDIT, params={"outcome": "refused"})).json()["items"] == []
        assert (await root.get(AUDIT, params={"ip": "10.9.8.7"})).json()["items"] == []
        local = (await root.get(AUDIT, params={"ip": "127.0.0.1", "limit": 500})).json()["items"]
        assert {e["ip"] for e in local} == {"127.0.0.1"}
        spoken = {e["id"] for e in mine["items"] if e["action"] == "speech_generated"}
        assert len(spoken) == 5 and spoken <= {e["id"] for e in local}
        later = (datetime.now(UTC) + timedelta(minutes=1)).isoformat()
        assert (await root.get(AUDIT, params={"created_after": later})).json()["items"] == []
        assert len(
            (await root.get(AUDIT, params={"created_before": later})).json()["items"]
        ) == len(everything)
        # Two at a time, in order, no event twice, none missed.
        seen: list[str] = []
        params: dict[str, str | int] = {"limit": 2}
        while True:
            page = (await root.get(AUDIT, params=params)).json()
            seen += [e["id"] for e in page["items"]]
            if page["next_cursor"] is None:
                break
            params["cursor"] = page["next_cursor"]
        assert seen == [e["id"] for e in everything]
        bad = await root.get(AUDIT, params={"outcome": "maybe"})
        assert (bad.status_code, bad.json()["code"]) == (422, "validation_error")


async def test_a_failed_login_is_audited_as_failed(
    anon: httpx.AsyncClient, container: Container
) -> None:
    user = await make_user(container, "someone@example.com")
    bad = await anon.post("/api/v1/auth/login", json={"email": user.email, "password": "nope"})
    assert bad.status_code == 401
    admin = await make_user(container, "root@example.com", Role.admin)
    async with client_for(container, admin) as root:
        failed = (await root.get(AUDIT, params={"outcome": "failed"})).json()["items"]
        ok = (await root.get(AUDIT, params={"outcome": "ok", "limit": 500})).json()["items"]
    assert [(e["action"], e["actor_id"]) for e in failed] == [("login_failed", user.id)]
    assert "login_failed" not in {e["action"] for e in ok}
