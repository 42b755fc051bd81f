"""Reading the activity log in the tests: what each action wrote, in the order written."""

from __future__ import annotations

from typing import Any

import httpx

from voxhub.activities import service
from voxhub.container import Container


async def logged(client: httpx.AsyncClient, **params: Any) -> list[dict[str, Any]]:
    """Every activity of the caller, oldest first (one page of 100 holds a test's)."""
    r = await client.get("/api/v1/activities", params={"limit": 100, **params})
    assert r.status_code == 200, r.text
    assert r.json()["next_cursor"] is None
    return list(reversed(r.json()["items"]))


def brief(a: dict[str, Any]) -> tuple[str, str | None, str | None, str | None]:
    """(type, voice_id, character_id, script_id) of one activity."""
    return a["type"], a["voice_id"], a["character_id"], a["script_id"]


async def briefs(client: httpx.AsyncClient) -> list[tuple[str, str | None, str | None, str | None]]:
    return [brief(a) for a in await logged(client)]


async def seed_rows(c: Container, user_id: str, *types: str, **ids: str | None) -> None:
    """Activities recorded by the service itself, one commit each, in order."""
    for kind in types:
        async with c.sessions() as session:
            service.record(session, user_id, kind, f"did {kind}", **ids)  # type: ignore[arg-type]
            await session.commit()
