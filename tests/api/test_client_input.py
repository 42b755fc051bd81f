"""Odd but well-formed client input (nulls in a PATCH, forged cursors) is a 4xx with its code."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta, timezone

import pytest

from tests.api.conftest import client_for, create_voice, make_user
from voxhub.accounts.models import Role
from voxhub.app import create_app

OPENAPI = create_app().openapi()
VOICE_PATCH = "PATCH /api/v1/voices/{voice_id}"
USER_PATCH = "PATCH /api/v1/admin/users/{user_id}"
# What null means for each field whose PATCH schema allows it: the field is cleared.
CLEARED: dict[str, dict[str, object]] = {
    VOICE_PATCH: {"description": "", "tags": []},
    USER_PATCH: {},
}


def _cursor(value: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


BAD_CURSORS = [
    "!!!",
    "bm90IGpzb24",  # "not json"
    _cursor({"a": 1}),
    _cursor(["2026-01-01T00:00:00+00:00"]),
    _cursor([1767225600, "id"]),
    _cursor(["2026-01-01T00:00:00+00:00", 7]),
    _cursor(["yesterday", "id"]),
    _cursor(["2026-01-01T00:00:00", "id"]),  # naive
    _cursor(["0001-01-01T00:00:00+14:00", "id"]),  # before year 1 in UTC
    _cursor(["9999-12-31T23:59:59-14:00", "id"]),  # after year 9999 in UTC
]


def _patch_schemas() -> dict[str, dict]:
    out = {}
    for path, ops in OPENAPI["paths"].items():
        for method in ("patch", "put"):
            if method in ops:
                ref = ops[method]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
                out[f"{method.upper()} {path}"] = OPENAPI["components"]["schemas"][
                    ref.split("/")[-1]
                ]
    return out


def _nullable(prop: dict) -> bool:
    return any(branch.get("type") == "null" for branch in prop.get("anyOf", []))


def _cursor_lists() -> list[str]:
    return sorted(
        path
        for path, ops in OPENAPI["paths"].items()
        if any(p["name"] == "cursor" for p in ops.get("get", {}).get("parameters", []))
    )


async def test_null_in_a_patch_clears_or_is_refused(container) -> None:
    schemas = _patch_schemas()
    assert set(schemas) == set(CLEARED)  # a new PATCH or PUT needs its decision here
    admin = await make_user(container, "root@example.com", Role.admin)
    other = await make_user(container, "someone@example.com")
    async with client_for(container, admin) as root:
        vid = (await create_voice(root))["id"]
        voice = f"/api/v1/voices/{vid}"
        r = await root.patch(voice, json={"description": "d", "tags": ["t"]})
        assert r.status_code == 200

        async def read_user() -> dict:
            users = (await root.get("/api/v1/admin/users")).json()
            return next(u for u in users if u["id"] == other.id)

        async def read_voice() -> dict:
            return (await root.get(voice)).json()

        targets = {
            VOICE_PATCH: (voice, read_voice),
            USER_PATCH: (f"/api/v1/admin/users/{other.id}", read_user),
        }
        for op, schema in schemas.items():
            url, read = targets[op]
            for field in schema["properties"]:
                before = await read()
                r = await root.patch(url, json={field: None})
                if field in CLEARED[op]:
                    assert r.status_code == 200, (op, field, r.text)
                    assert r.json()[field] == CLEARED[op][field]
                    assert (await read())[field] == CLEARED[op][field]
                else:
                    assert r.status_code == 422, (op, field, r.text)
                    assert r.json()["code"] == "validation_error"
                    assert r.json()["errors"][0]["loc"] == ["body", field]
                    assert await read() == before
            # The schema says the same: null is allowed exactly where it clears.
            nullable = {name for name, prop in schema["properties"].items() if _nullable(prop)}
            assert nullable == set(CLEARED[op]), op


@pytest.mark.parametrize("path", _cursor_lists())
async def test_a_forged_cursor_is_refused(client, path: str) -> None:
    for cursor in BAD_CURSORS:
        r = await client.get(path, params={"cursor": cursor})
        assert r.status_code == 422, (base64.urlsafe_b64decode(cursor + "=="), r.text)
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["code"] == "invalid_cursor", r.text


async def test_a_cursor_pages_the_same_in_any_utc_offset(client) -> None:
    assert _cursor_lists() == ["/api/v1/generations", "/api/v1/voices"]
    vid = (await create_voice(client, "One"))["id"]
    await create_voice(client, "Two")
    for text in ("First words.", "Second words."):
        spoken = await client.post("/api/v1/speech", json={"voice_id": vid, "text": text})
        assert spoken.status_code == 200
    for path in _cursor_lists():
        first = (await client.get(path, params={"limit": 1})).json()
        stamp, row_id = json.loads(base64.urlsafe_b64decode(first["next_cursor"] + "=="))
        shifted = datetime.fromisoformat(stamp).astimezone(timezone(timedelta(hours=2)))
        for cursor in (first["next_cursor"], _cursor([shifted.isoformat(), row_id])):
            second = (await client.get(path, params={"limit": 1, "cursor": cursor})).json()
            assert [i["id"] for i in second["items"]] != [i["id"] for i in first["items"]]
            assert len(second["items"]) == 1 and second["next_cursor"] is None, (path, cursor)
