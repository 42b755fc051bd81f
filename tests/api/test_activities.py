"""Every studio action writes exactly one activity in its own commit, through the real app on
SQLite and PostgreSQL; an action that is refused writes none."""

from __future__ import annotations

import httpx

from tests.api import characters_helpers as img
from tests.api.activities_helpers import briefs, logged
from tests.api.conftest import create_voice, speech_file
from tests.api.scripts_helpers import GOOD, behaviour, cast, server, with_llm
from tests.api.test_seed001_characters import complete
from tests.llm.chat_server import Behaviour
from voxhub.container import Container

__all__ = ["behaviour", "server", "with_llm"]  # fixtures
MISSING = "00000000-0000-4000-8000-000000000000"


async def test_voice_actions(client: httpx.AsyncClient) -> None:
    voice = await create_voice(client, "Ana")
    vid = voice["id"]
    [made] = await logged(client)
    assert made["message"] == "Voice 'Ana' created" and made["category"] == "voice"
    assert made["details"] == {"references": 1}
    assert (await client.patch(f"/api/v1/voices/{vid}", json={"name": "Ana B"})).status_code == 200
    fname, data = speech_file("vctk_p225_003.wav")
    r = await client.post(
        f"/api/v1/voices/{vid}/references", files={"file": (fname, data)}, data={"consent": "self"}
    )
    assert r.status_code == 201, r.text
    # Refused: a bad field (422), someone's missing voice (404), a file that is no audio (415).
    assert (await client.patch(f"/api/v1/voices/{vid}", json={"name": ""})).status_code == 422
    assert (await client.delete(f"/api/v1/voices/{MISSING}")).status_code == 404
    r = await client.post(f"/api/v1/voices/{vid}/references", files={"file": ("a.wav", b"x" * 99)})
    assert r.status_code == 415, r.text
    assert (await client.delete(f"/api/v1/voices/{vid}")).status_code == 204
    assert await briefs(client) == [
        ("voice_created", vid, None, None),
        ("voice_updated", vid, None, None),
        ("voice_reference_added", vid, None, None),
        ("voice_deleted", vid, None, None),
    ]
    log = await logged(client)
    assert [a["message"] for a in log[1:]] == [
        "Voice 'Ana B' updated",
        "Reference recording added to voice 'Ana B'",
        "Voice 'Ana B' deleted",
    ]
    assert log[1]["details"] == {"fields": ["name"]}


async def test_character_actions(client: httpx.AsyncClient) -> None:
    vid = (await create_voice(client))["id"]
    r = await client.post("/api/v1/characters", json={"display_name": "X", "voice_id": MISSING})
    assert r.status_code == 404  # refused: no activity
    made = await img.make_character(client, vid, "Mara")
    cid = made["id"]
    url = f"/api/v1/characters/{cid}"
    assert (await client.patch(url, json={"description": "Keeper."})).status_code == 200
    assert (await client.patch(url, json={"display_name": ""})).status_code == 422
    assert (await img.add_image(client, cid, img.png(), "happy")).status_code == 201
    assert (await img.add_image(client, cid, img.text_as_png())).status_code == 415
    assert (await client.delete(f"{url}/images/0")).status_code == 204
    assert (await client.delete(f"{url}/images/7")).status_code == 404
    assert (await client.delete(url)).status_code == 204
    assert await briefs(client) == [
        ("voice_created", vid, None, None),
        ("character_created", vid, cid, None),
        ("character_updated", vid, cid, None),
        ("character_image_added", None, cid, None),
        ("character_image_removed", None, cid, None),
        ("character_deleted", None, cid, None),
    ]
    log = await logged(client)
    assert [a["message"] for a in log[1:]] == [
        "Character 'Mara' created",
        "Character 'Mara' updated",
        "Image added to character 'Mara'",
        "Image removed from character 'Mara'",
        "Character 'Mara' deleted",
    ]
    assert log[3]["details"] == {"images_added": 1, "images_removed": []}
    assert log[4]["details"] == {"key": "0"}


async def test_seed_001_character_actions_are_one_activity_each(client: httpx.AsyncClient) -> None:
    made = await complete(client, "Modi")
    cid = made["id"]
    [created] = await logged(client)  # the voice made for it is part of the character's
    assert created["type"] == "character_created" and created["character_id"] == cid
    assert created["details"] == {"images": 2}
    vid = created["voice_id"]
    r = await client.put(
        f"/api/characters/{cid}",
        data={"displayName": "Modi II", "removeImageKeys": "0"},
        files=[("newImageFiles", ("n.png", img.png(), "image/png"))],
    )
    assert r.status_code == 200, r.text
    r = await client.put(f"/api/characters/{cid}", data={"removeImageKeys": "9"})
    assert r.status_code == 404, r.text
    assert (await client.delete(f"/api/characters/{cid}")).status_code == 200
    log = await logged(client)
    assert [(a["type"], a["voice_id"], a["character_id"]) for a in log] == [
        ("character_created", vid, cid),
        ("character_updated", None, cid),
        ("character_deleted", vid, cid),  # its voice went with it, in this one activity
    ]
    assert log[1]["details"] == {
        "images_added": 1,
        "images_removed": ["0"],
        "fields": ["display_name"],
    }
    assert log[2]["message"] == "Character 'Modi II' deleted"


async def test_script_actions(
    with_llm: Container, client: httpx.AsyncClient, behaviour: Behaviour
) -> None:
    mara, jon = await cast(client)
    before = len(await logged(client))
    behaviour.replies = ["not json", "still not json"]
    body = {"character_ids": [mara["id"], jon["id"]], "prompt": "Say hello."}
    assert (await client.post("/api/v1/scripts", json=body)).status_code == 502
    behaviour.replies = [GOOD]
    r = await client.post("/api/v1/scripts", json=body)
    assert r.status_code == 201, r.text
    sid, (one, two) = r.json()["id"], r.json()["lines"]
    url = f"/api/v1/scripts/{sid}"
    assert (await client.patch(url, json={"title": "Fog"})).status_code == 200
    assert (
        await client.patch(f"{url}/lines/{one['id']}", json={"text": "Lit."})
    ).status_code == 200
    r = await client.patch(f"{url}/lines/{one['id']}", json={"speaker": MISSING})
    assert r.status_code == 422 and r.json()["code"] == "invalid_script_line"
    added = await client.post(f"{url}/lines", json={"speaker": jon["id"], "text": "Aye."})
    assert added.status_code == 201, added.text
    order = [added.json()["id"], one["id"], two["id"]]
    assert (await client.post(f"{url}/order", json={"line_ids": order})).status_code == 200
    assert (await client.post(f"{url}/order", json={"line_ids": order[:2]})).status_code == 422
    assert (await client.delete(f"{url}/lines/{two['id']}")).status_code == 200
    assert (await client.delete(f"{url}/lines/{one['id']}")).status_code == 422  # two stay
    dialogue = [{"speaker": mara["id"], "text": "A."}, {"speaker": jon["id"], "text": "B."}]
    assert (await client.put(f"/api/scripts/{sid}", json={"dialogue": dialogue})).status_code == 200
    assert (await client.delete(url)).status_code == 204
    assert (await client.delete(url)).status_code == 404
    log = (await logged(client))[before:]
    assert [(a["type"], a["script_id"]) for a in log] == [
        ("script_generated", sid),
        ("script_updated", sid),
        ("script_line_updated", sid),
        ("script_line_added", sid),
        ("script_lines_reordered", sid),
        ("script_line_deleted", sid),
        ("script_updated", sid),
        ("script_deleted", sid),
    ]
    assert [a["message"] for a in log] == [
        "Script 'At the lighthouse' generated",
        "Renamed script 'Fog'",
        "Line edited in script 'Fog'",
        "Line added to script 'Fog'",
        "Lines reordered in script 'Fog'",
        "Line deleted from script 'Fog'",
        "Dialogue edited in script 'Fog'",
        "Deleted script 'Fog'",
    ]
    assert log[0]["details"] == {"character_ids": [mara["id"], jon["id"]], "lines": 2}
    assert log[2]["details"] == {"line_id": one["id"], "index": 0}
    assert log[3]["details"] == {"line_id": added.json()["id"], "index": 2}
    assert log[5]["details"] == {"line_id": two["id"], "index": 2}
    assert {a["category"] for a in log} == {"script"}


async def test_chat_actions(
    with_llm: Container, client: httpx.AsyncClient, behaviour: Behaviour
) -> None:
    mara, _ = await cast(client)
    before = len(await logged(client))
    chat = await client.post("/api/v1/chats", json={"character_id": mara["id"]})
    assert chat.status_code == 201, chat.text
    chat_id = chat.json()["id"]
    assert (await client.post("/api/v1/chats", json={"character_id": MISSING})).status_code == 404
    url = f"/api/v1/chats/{chat_id}"
    r = await client.post(f"{url}/messages", json={"content": "Hi.", "stream": False})
    assert r.status_code == 201, r.text
    asked = r.json()["message"]["id"]
    behaviour.status = 503  # the message is kept, unanswered: no activity until answered
    r = await client.post(f"{url}/messages", json={"content": "Still there?", "stream": False})
    assert r.status_code == 503, r.text
    behaviour.status = 200
    r = await client.post(f"{url}/reply", json={"stream": False})
    assert r.status_code == 201, r.text
    assert (await client.delete(url)).status_code == 204
    log = (await logged(client))[before:]
    assert [(a["type"], a["character_id"], a["details"].get("chat_id")) for a in log] == [
        ("chat_started", mara["id"], chat_id),
        ("chat_message", mara["id"], chat_id),
        ("chat_message", mara["id"], chat_id),
        ("chat_deleted", mara["id"], chat_id),
    ]
    assert log[1]["details"]["message_id"] == asked
    assert [a["message"] for a in log] == [
        "Chat with 'Mara' started",
        "'Mara' replied in a chat",
        "'Mara' replied in a chat",
        "Chat 'Mara' deleted",
    ]
