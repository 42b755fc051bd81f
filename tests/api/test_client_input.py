"""Odd but well-formed client input (nulls in a PATCH, forged cursors) is a 4xx with its code."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta, timezone

import pytest

from tests.api.conftest import create_voice
from voxhub.app import create_app

OPENAPI = create_app().openapi()
# What null means for each field whose PATCH schema allows it: the field is cleared.
CLEARED = {"description": "", "tags": []}


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


async def test_null_in_a_patch_clears_or_is_refused(client) -> None:
    (schema,) = _patch_schemas().values()  # the voice PATCH is the only PATCH or PUT
    vid = (await create_voice(client))["id"]
    url = f"/api/v1/voices/{vid}"
    assert (await client.patch(url, json={"description": "d", "tags": ["t"]})).status_code == 200
    for field in schema["properties"]:
        before = (await client.get(url)).json()
        r = await client.patch(url, json={field: None})
        if field in CLEARED:
            assert r.status_code == 200, (field, r.text)
            assert r.json()[field] == CLEARED[field]
            assert (await client.get(url)).json()[field] == CLEARED[field]
        else:
            assert r.status_code == 422, (field, r.text)
            assert r.json()["code"] == "validation_error"
            assert r.json()["errors"][0]["loc"] == ["body", field]
            assert (await client.get(url)).json() == before
    # The schema says the same: null is allowed exactly where it clears.
    nullable = {name for name, prop in schema["properties"].items() if _nullable(prop)}
    assert nullable == set(CLEARED)


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
