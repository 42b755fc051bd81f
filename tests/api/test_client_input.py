"""Odd but well-formed client input (nulls, forged cursors, NUL and surrogates) is a 4xx."""

from __future__ import annotations

import asyncio
import base64
import json
from datetime import datetime, timedelta, timezone

import pytest

from tests.api.conftest import client_for, counts, create_voice, make_user, speech_file
from voxhub.accounts.models import Role
from voxhub.app import create_app

OPENAPI = create_app().openapi()
VOICE_PATCH = "PATCH /api/v1/voices/{voice_id}"
USER_PATCH = "PATCH /api/v1/admin/users/{user_id}"
CHARACTER_PATCH = "PATCH /api/v1/characters/{character_id}"
SCRIPT_PATCH = "PATCH /api/v1/scripts/{script_id}"
LINE_PATCH = "PATCH /api/v1/scripts/{script_id}/lines/{line_id}"
DICTIONARY_PATCH = "PATCH /api/v1/pronunciation-dictionaries/{dictionary_id}"
# What null means for each field whose PATCH schema allows it: the field is cleared.
CLEARED: dict[str, dict[str, object]] = {
    VOICE_PATCH: {"description": "", "tags": []},
    USER_PATCH: {},
    CHARACTER_PATCH: {"description": "", "persona_prompt": ""},
    SCRIPT_PATCH: {},
    LINE_PATCH: {"emotion": None, "pause_ms": None},
    DICTIONARY_PATCH: {"description": ""},
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
    """The primary API's JSON PATCH and PUT bodies (the seeds' faces answer in their own
    shapes; seed 000's is checked on its own below)."""
    out = {}
    for path, ops in OPENAPI["paths"].items():
        if not path.startswith("/api/v1/"):
            continue
        for method in ("patch", "put"):
            body = ops.get(method, {}).get("requestBody", {}).get("content", {})
            if "application/json" in body:  # a PUT without a body (a star) has no fields
                ref = body["application/json"]["schema"]["$ref"]
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
    container.limiter.enabled = False  # some 70 requests from one client
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

        made = await root.post(
            "/api/v1/characters",
            json={"display_name": "C", "description": "d", "persona_prompt": "p", "voice_id": vid},
        )
        assert made.status_code == 201, made.text
        character = f"/api/v1/characters/{made.json()['id']}"

        async def read_character() -> dict:
            return (await root.get(character)).json()

        script_id = await _a_script(container, root, made.json()["id"], vid)
        script = f"/api/v1/scripts/{script_id}"
        line_id = (await root.get(script)).json()["lines"][0]["id"]

        async def read_script() -> dict:
            return (await root.get(script)).json()

        async def read_line() -> dict:
            return (await read_script())["lines"][0]

        made = await root.post(
            "/api/v1/pronunciation-dictionaries", json={"name": "D", "description": "d"}
        )
        assert made.status_code == 201, made.text
        dictionary = f"/api/v1/pronunciation-dictionaries/{made.json()['id']}"

        async def read_dictionary() -> dict:
            return (await root.get(dictionary)).json()

        targets = {
            DICTIONARY_PATCH: (dictionary, read_dictionary),
            SCRIPT_PATCH: (script, read_script),
            LINE_PATCH: (f"{script}/lines/{line_id}", read_line),
            VOICE_PATCH: (voice, read_voice),
            USER_PATCH: (f"/api/v1/admin/users/{other.id}", read_user),
            CHARACTER_PATCH: (character, read_character),
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
        # Seed 000's link of a voice model to an Echo: null unlinks nothing, in its own shape.
        model = f"/api/voice-models/{vid}"
        before_model = (await root.get(model)).json()
        r = await root.patch(model, json={"echo_id": None})
        assert r.status_code == 400 and "error" in r.json(), r.text
        assert (await root.get(model)).json() == before_model


@pytest.mark.parametrize("path", _cursor_lists())
async def test_a_forged_cursor_is_refused(client, container, path: str) -> None:
    if path.startswith("/api/v1/admin/"):  # lists for admins only
        admin = await make_user(container, "root@example.com", Role.admin)
        async with client_for(container, admin) as root:
            await _forged_cursors_are_refused(root, path)
    else:
        await _forged_cursors_are_refused(client, path)


async def _forged_cursors_are_refused(client, path: str) -> None:
    for cursor in BAD_CURSORS:
        r = await client.get(path, params={"cursor": cursor})
        assert r.status_code == 422, (base64.urlsafe_b64decode(cursor + "=="), r.text)
        # problem+json, or the error shape of the face the list belongs to (OpenAI's).
        (documented,) = OPENAPI["paths"][path]["get"]["responses"]["422"]["content"]
        assert r.headers["content-type"] == documented
        body = r.json()
        assert body.get("code", body.get("error", {}).get("code")) == "invalid_cursor", r.text


def _items(page: dict) -> list[dict]:
    """A page's rows: `items` in voxhub's lists, `data` in the OpenAI face's."""
    return page["items"] if "items" in page else page["data"]


async def test_a_cursor_pages_the_same_in_any_utc_offset(client, container) -> None:
    assert set(_cursor_lists()) >= {
        "/api/v1/generations",
        "/api/v1/voices",
        "/api/v1/jobs",
        "/api/v1/activities",  # the voices and characters made below log two or more
    }
    vid = (await create_voice(client, "One"))["id"]
    await create_voice(client, "Two")
    for text in ("First words.", "Second words."):
        spoken = await client.post("/api/v1/speech", json={"voice_id": vid, "text": text})
        assert spoken.status_code == 200
        queued = await client.post(
            "/api/v1/speech", json={"voice_id": vid, "text": text, "async": True}
        )
        assert queued.status_code == 202
    async with asyncio.timeout(60):
        await container.jobs.wait_idle()
    chat_id, script_id = await _two_of_each_studio_list(client, container, vid)
    admin = await make_user(container, "root@example.com", Role.admin)
    async with client_for(container, admin) as root:
        # Two entries on the no-go list (taken from the voices made above, after their clones).
        for voice_id in (vid, (await client.get("/api/v1/voices")).json()["items"][0]["id"]):
            body = {"voice_id": voice_id, "label": "Listed"}
            blocked = await root.post("/api/v1/admin/blocked-voices/from-voice", json=body)
            assert blocked.status_code == 201, blocked.text
        for listed in _cursor_lists():
            # The audit log is for admins (and has two or more events by now).
            caller = root if listed.startswith("/api/v1/admin/") else client
            await _pages_alike_in_any_offset(caller, listed, chat_id, script_id)


async def _pages_alike_in_any_offset(client, listed: str, chat_id: str, script_id: str) -> None:
    path = listed.replace("{chat_id}", chat_id).replace("{script_id}", script_id)
    first = (await client.get(path, params={"limit": 1})).json()
    assert first["next_cursor"] is not None, (path, first)  # every list has two or more
    stamp, row_id = json.loads(base64.urlsafe_b64decode(first["next_cursor"] + "=="))
    shifted = datetime.fromisoformat(stamp).astimezone(timezone(timedelta(hours=2)))
    pages = []
    for cursor in (first["next_cursor"], _cursor([shifted.isoformat(), row_id])):
        second = (await client.get(path, params={"limit": 1, "cursor": cursor})).json()
        assert [i["id"] for i in _items(second)] != [i["id"] for i in _items(first)]
        assert len(_items(second)) == 1, (path, cursor)
        pages.append(second)
    assert pages[0] == pages[1], path  # the same instant in another offset, the same page


async def _a_script(container, client, character_id: str, voice_id: str) -> str:
    """A script of this character and another, stored as given (no model needed)."""
    from voxhub.characters.models import Character
    from voxhub.scripts import service as scripts
    from voxhub.scripts.draft import LineDraft
    from voxhub.scripts.rules import Cast

    other = await client.post(
        "/api/v1/characters", json={"display_name": "D", "voice_id": voice_id}
    )
    assert other.status_code == 201, other.text
    async with container.sessions() as session:
        one = await session.get(Character, character_id)
        two = await session.get(Character, other.json()["id"])
        owner = one.owner_id
        lines = [LineDraft(one.id, "Hello.", None, 100), LineDraft(two.id, "Hi.")]
        script = await scripts.store_script(session, owner, Cast.of([one, two]), "S", lines)
        return script.id


async def _two_of_each_studio_list(client, container, voice_id: str) -> tuple[str, str]:
    """Two characters, two chats and two messages (stored as a user writes them; no model
    needed to list them), two scripts, two renders of one; the ids of the chat holding the
    messages and of the script with the renders."""
    from voxhub.chats import service as chats

    ids, scripts = [], []
    for name in ("One", "Two"):
        made = await client.post(
            "/api/v1/characters", json={"display_name": name, "voice_id": voice_id}
        )
        assert made.status_code == 201, made.text
        chat = await client.post("/api/v1/chats", json={"character_id": made.json()["id"]})
        assert chat.status_code == 201, chat.text
        ids.append(chat.json()["id"])
        scripts.append(await _a_script(container, client, made.json()["id"], voice_id))
    async with container.sessions() as session:
        thread = await session.get(chats.ChatThread, ids[0])
        for text in ("First.", "Second."):
            await chats.add_user_message(session, thread, text)
    for kind in ("audio", "video"):  # a script keeps its newest render of each kind
        r = await client.post(f"/api/v1/scripts/{scripts[0]}/renders", json={"kind": kind})
        assert r.status_code == 202, r.text
    async with asyncio.timeout(60):
        await container.jobs.wait_idle()
    return ids[0], scripts[0]


def _json(body: dict) -> dict:
    # httpx would refuse to encode an unpaired surrogate; JSON can escape one, so send it so.
    return {
        "content": json.dumps(body).encode(),
        "headers": {"content-type": "application/json"},
    }


async def test_nul_is_refused_wherever_it_comes_in(client, container) -> None:
    vid = (await create_voice(client))["id"]
    before = await counts(container)
    fname, audio = speech_file()
    requests = [
        ("PATCH", f"/api/v1/voices/{vid}", _json({"name": "a\x00b"})),
        ("PATCH", f"/api/v1/voices/{vid}", _json({"description": "\x00"})),
        ("POST", "/api/v1/api-keys", _json({"name": "key\x00"})),
        ("GET", "/api/v1/voices?q=a%00b", {}),
        ("GET", "/api/v1/generations?voice_id=a%00b", {}),
        (
            "POST",
            "/api/v1/voices",
            {"files": {"file": (fname, audio)}, "data": {"name": "a\x00", "consent": "self"}},
        ),
    ]
    for method, url, kwargs in requests:
        r = await client.request(method, url, **kwargs)
        assert r.status_code == 422, (method, url, r.text)
        assert r.json()["code"] == "invalid_characters", r.text
    assert (await client.get(f"/api/v1/voices/{vid}")).json()["name"] == "Ana"
    assert [k["name"] for k in (await client.get("/api/v1/api-keys")).json()] == ["tests"]
    assert await counts(container) == before  # the refused upload left no row and no blob


async def test_json_takes_booleans_and_numbers_only_as_such(client, container) -> None:
    vid = (await create_voice(client))["id"]
    admin = await make_user(container, "root@example.com", Role.admin)
    other = await make_user(container, "someone@example.com")
    async with client_for(container, admin) as root:
        requests = [
            (client, "PATCH", f"/api/v1/voices/{vid}", {"is_kids_voice": 0}),
            (client, "POST", "/api/v1/speech", {"voice_id": vid, "text": "Hi.", "speed": "1"}),
            (client, "POST", "/api/v1/speech", {"voice_id": vid, "text": "Hi.", "async": 1}),
            (root, "PATCH", f"/api/v1/admin/users/{other.id}", {"disabled": 1}),
        ]
        for caller, method, url, body in requests:
            r = await caller.request(method, url, json=body)
            assert r.status_code == 422, (url, body, r.text)
            assert r.json()["code"] == "validation_error"
    assert (await client.get(f"/api/v1/voices/{vid}")).json()["is_kids_voice"] is False
    assert (await client.get("/api/v1/generations")).json()["items"] == []


async def test_an_async_request_is_refused_now_for_a_language_the_engine_lacks(client) -> None:
    vid = (await create_voice(client))["id"]
    for run_async in (False, True):
        body = {"voice_id": vid, "text": "Hi.", "language": "aa", "async": run_async}
        r = await client.post("/api/v1/speech", json=body)
        assert r.status_code == 422, r.text
        assert r.json()["code"] == "invalid_input" and r.json()["language"] == "aa"
    assert (await client.get("/api/v1/jobs")).json()["items"] == []


async def test_login_takes_any_email_and_signup_no_overlong_password(anon) -> None:
    r = await anon.post("/api/v1/auth/login", json={"email": "not an email", "password": "x"})
    assert r.status_code == 401 and r.json()["code"] == "invalid_credentials", r.text
    r = await anon.post("/api/v1/auth/signup", json={"email": "bo@lab.io", "password": "p" * 257})
    assert r.status_code == 422 and r.json()["code"] == "validation_error", r.text


async def test_a_sample_rate_outside_the_list_is_a_validation_error(client) -> None:
    vid = (await create_voice(client))["id"]
    r = await client.get(f"/api/v1/voices/{vid}/sample", params={"sample_rate": 12345})
    assert r.status_code == 422 and r.json()["code"] == "validation_error", r.text
    r = await client.get(f"/api/v1/voices/{vid}/sample", params={"sample_rate": 16000})
    assert r.status_code == 200


async def test_405_allows_every_method_of_the_path(client) -> None:
    vid = (await create_voice(client))["id"]
    r = await client.request("PUT", f"/api/v1/voices/{vid}")
    assert r.status_code == 405 and r.json()["code"] == "method_not_allowed"
    assert r.headers["allow"] == "DELETE, GET, PATCH, HEAD"
