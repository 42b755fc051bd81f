"""The activity log's routes, primary and seed 001's, through the real app on SQLite and
PostgreSQL: cursor pages, filters, shapes, stats, clearing, and only ever the caller's rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import httpx
from sqlalchemy import delete, func, select, update

from tests.api.activities_helpers import logged, seed_rows
from tests.api.conftest import Account
from voxhub.accounts.models import User
from voxhub.activities.models import Activity, ActivityType
from voxhub.container import Container

SCRIPT = "11111111-1111-4111-8111-111111111111"
CHARACTER = "22222222-2222-4222-8222-222222222222"


async def test_every_type_has_its_category() -> None:
    # The renderer's six are in the closed set; only the video pipeline's count as video.
    categories = {t.value: t.category.value for t in ActivityType}
    assert {k: v for k, v in categories.items() if k.startswith(("video_", "dialogue_"))} == {
        "dialogue_render_started": "script",
        "dialogue_render_completed": "script",
        "dialogue_render_failed": "script",
        "video_generation_started": "video",
        "video_generation_completed": "video",
        "video_generation_failed": "video",
    }
    assert {v for k, v in categories.items() if k.startswith("voice_")} == {"voice"}
    assert {v for k, v in categories.items() if k.startswith("chat_")} == {"chat"}
    assert {v for k, v in categories.items() if k.startswith("character_")} == {"character"}


async def test_cursor_pages_walk_every_row_once_newest_first(
    container: Container, client: httpx.AsyncClient, user_a: Account
) -> None:
    await seed_rows(container, user_a.id, *["voice_created"] * 5)
    every = [a["id"] for a in await logged(client)][::-1]  # newest first
    seen, cursor = [], None
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = (await client.get("/api/v1/activities", params=params)).json()
        seen += [a["id"] for a in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == every and len(seen) == 5
    for limit in (0, 101):
        r = await client.get("/api/v1/activities", params={"limit": limit})
        assert r.status_code == 422 and r.json()["code"] == "validation_error", r.text
    r = await client.get("/api/v1/activities", params={"cursor": "bm90IGpzb24"})
    assert r.status_code == 422 and r.json()["code"] == "invalid_cursor", r.text


async def test_filters_combine(
    container: Container, client: httpx.AsyncClient, user_a: Account
) -> None:
    await seed_rows(container, user_a.id, "script_generated", "script_updated", script_id=SCRIPT)
    await seed_rows(container, user_a.id, "character_created", character_id=CHARACTER)
    await seed_rows(container, user_a.id, "video_generation_completed", script_id=SCRIPT)
    await seed_rows(container, user_a.id, "voice_created")
    old = datetime(2025, 1, 1, tzinfo=UTC)
    async with container.sessions() as s:  # the first one happened long ago
        first = await s.scalar(select(Activity.id).where(Activity.type == "script_generated"))
        await s.execute(update(Activity).where(Activity.id == first).values(created_at=old))
        await s.commit()

    async def types(**params: object) -> list[str]:
        return [a["type"] for a in await logged(client, **params)]

    assert await types(type="script_updated") == ["script_updated"]
    assert await types(type=["voice_created", "character_created"]) == [
        "character_created",
        "voice_created",
    ]
    assert await types(category="script") == ["script_generated", "script_updated"]
    assert await types(category="video") == ["video_generation_completed"]
    assert await types(script_id=SCRIPT) == [
        "script_generated",
        "script_updated",
        "video_generation_completed",
    ]
    assert await types(script_id=SCRIPT, category="script", type="script_updated") == [
        "script_updated"
    ]
    assert await types(character_id=CHARACTER) == ["character_created"]
    cut = (old + timedelta(days=1)).isoformat()
    assert await types(until=cut) == ["script_generated"]
    assert len(await types(since=cut)) == 4
    assert await types(since=old.isoformat(), until=cut) == ["script_generated"]
    # The same instant in another offset, and the extremes of the calendar, still bound.
    shifted = old.astimezone(timezone(timedelta(hours=5)))
    assert await types(until=(shifted + timedelta(seconds=1)).isoformat()) == ["script_generated"]
    assert len(await types(since="0001-01-01T00:00:00+14:00")) == 5
    assert await types(until="0001-01-01T00:00:00+14:00") == []
    assert len(await types(until="9999-12-31T23:59:59-14:00")) == 5
    for bad in ({"type": "nope"}, {"category": "music"}, {"since": "yesterday"}):
        r = await client.get("/api/v1/activities", params=bad)
        assert r.status_code == 422 and r.json()["code"] == "validation_error", r.text


async def test_seed_001_shapes_and_stats(
    container: Container, client: httpx.AsyncClient, user_a: Account
) -> None:
    empty = (await client.get("/api/my-activity-stats")).json()
    assert empty == {
        "scriptActivities": 0,
        "characterActivities": 0,
        "videoActivities": 0,
        "totalActivities": 0,
        "lastActivityAt": None,
    }
    assert (await client.get("/api/my-activities")).json() == {
        "activities": [],
        "totalCount": 0,
        "limit": 50,
    }
    await seed_rows(container, user_a.id, "script_generated", "script_deleted", script_id=SCRIPT)
    await seed_rows(container, user_a.id, "character_created", character_id=CHARACTER)
    await seed_rows(container, user_a.id, "voice_created", "chat_started")
    async with container.sessions() as s:
        await s.execute(
            update(Activity)
            .where(Activity.type == "chat_started")
            .values(video_path="/api/videos/x.mp4")
        )
        await s.commit()
    newest = (await logged(client))[-1]
    r = await client.get("/api/my-activities", params={"limit": 2})
    assert r.status_code == 200, r.text
    assert r.json() == {
        "activities": [
            {
                "id": newest["id"],
                "type": "chat_started",
                "message": "did chat_started",
                "timestamp": newest["created_at"],
                "scriptId": None,
                "characterId": None,
                "videoPath": "/api/videos/x.mp4",
            },
            {
                "id": (await logged(client))[-2]["id"],
                "type": "voice_created",
                "message": "did voice_created",
                "timestamp": (await logged(client))[-2]["created_at"],
                "scriptId": None,
                "characterId": None,
                "videoPath": None,
            },
        ],
        "totalCount": 5,
        "limit": 2,
    }
    listed = (await client.get("/api/my-activities")).json()["activities"]
    assert [(a["type"], a["scriptId"], a["characterId"]) for a in listed[2:]] == [
        ("character_created", None, CHARACTER),
        ("script_deleted", SCRIPT, None),
        ("script_generated", SCRIPT, None),
    ]
    stats = (await client.get("/api/my-activity-stats")).json()
    assert stats == {
        "scriptActivities": 2,
        "characterActivities": 1,
        "videoActivities": 0,
        "totalActivities": 5,
        "lastActivityAt": newest["created_at"],
    }
    for limit in ("0", "501", "x"):
        r = await client.get("/api/my-activities", params={"limit": limit})
        assert r.status_code == 422, r.text
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["code"] == "validation_error"
        assert r.json()["errors"][0]["loc"] == ["query", "limit"]


async def test_only_the_callers_rows_are_read_and_cleared(
    container: Container,
    client: httpx.AsyncClient,
    client_b: httpx.AsyncClient,
    user_a: Account,
    user_b: Account,
) -> None:
    await seed_rows(container, user_a.id, "voice_created", "script_generated")
    await seed_rows(container, user_b.id, "character_created")
    assert [a["type"] for a in await logged(client_b)] == ["character_created"]
    assert (await client_b.get("/api/my-activities")).json()["totalCount"] == 1
    assert (await client_b.get("/api/my-activity-stats")).json()["totalActivities"] == 1
    r = await client.delete("/api/v1/activities")
    assert r.status_code == 200 and r.json() == {"deleted": 2}, r.text
    assert await logged(client) == []
    assert [a["type"] for a in await logged(client_b)] == ["character_created"]
    r = await client_b.delete("/api/my-activities")
    assert r.status_code == 200, r.text
    assert r.json() == {"message": "All activities cleared successfully", "success": True}
    assert await logged(client_b) == []
    assert (await client_b.get("/api/my-activity-stats")).json()["lastActivityAt"] is None
    assert (await client.delete("/api/v1/activities")).json() == {"deleted": 0}


async def test_a_deleted_account_takes_its_activities(
    container: Container, client: httpx.AsyncClient, user_a: Account, user_b: Account
) -> None:
    await seed_rows(container, user_a.id, "voice_created", "chat_started")
    await seed_rows(container, user_b.id, "voice_created")
    async with container.sessions() as s:
        await s.execute(delete(User).where(User.id == user_a.id))  # the foreign key cascades
        await s.commit()
        mine = select(func.count()).select_from(Activity).where(Activity.user_id == user_a.id)
        assert await s.scalar(mine) == 0
        assert await s.scalar(select(func.count()).select_from(Activity)) == 1


async def test_the_seed_routes_need_credentials(anon: httpx.AsyncClient) -> None:
    for method, path in (
        ("GET", "/api/my-activities"),
        ("GET", "/api/my-activity-stats"),
        ("DELETE", "/api/my-activities"),
    ):
        r = await anon.request(method, path)
        assert r.status_code == 401 and r.json()["code"] == "unauthenticated", (path, r.text)
