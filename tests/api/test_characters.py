"""/api/v1/characters through the real app: the character, its config, ownership, stars, pages."""

from __future__ import annotations

import asyncio

from tests.api.characters_helpers import add_image, character_counts, make_character, png
from tests.api.conftest import create_voice
from voxhub.container import Container

RANDOM = "00000000-0000-4000-8000-000000000000"


async def test_create_read_update_delete(client, container: Container) -> None:
    voice = await create_voice(client)
    made = await make_character(
        client,
        voice["id"],
        description="A calm narrator",
        persona_prompt="You are Modi. Speak briefly.",
        config={"speed": 1.2, "nfe_steps": 28, "cross_fade_duration": 0.2, "remove_silences": True},
    )
    assert made["config"] == {
        "speed": 1.2,
        "nfe_steps": 28,
        "cross_fade_duration": 0.2,
        "remove_silences": True,
    }
    assert made["visibility"] == "private" and made["voice_id"] == voice["id"]
    assert made["images"] == [] and made["stars"] == 0 and made["starred"] is False
    cid = made["id"]
    got = await client.get(f"/api/v1/characters/{cid}")
    assert got.status_code == 200 and got.json() == made

    patched = await client.patch(
        f"/api/v1/characters/{cid}",
        json={"display_name": "Modi II", "config": {"speed": 0.8}, "visibility": "public"},
    )
    assert patched.status_code == 200, patched.text
    body = patched.json()
    assert body["display_name"] == "Modi II" and body["visibility"] == "public"
    # Omitted config fields keep their values.
    assert body["config"] == {**made["config"], "speed": 0.8}
    assert body["updated_at"] > made["updated_at"]

    deleted = await client.delete(f"/api/v1/characters/{cid}")
    assert deleted.status_code == 204
    gone = await client.get(f"/api/v1/characters/{cid}")
    assert gone.status_code == 404 and gone.json()["code"] == "character_not_found"
    assert await character_counts(container) == (0, 0)


async def test_config_and_fields_are_validated(client, container: Container) -> None:
    voice = await create_voice(client)
    bad_bodies = [
        {"config": {"speed": 5}},
        {"config": {"speed": 0.1}},
        {"config": {"nfe_steps": 0}},
        {"config": {"nfe_steps": 65}},
        {"config": {"nfe_steps": 3.5}},  # 32.0 is whole, and taken
        {"config": {"cross_fade_duration": -0.1}},
        {"config": {"nfeSteps": 32}},  # seed 001's names belong to its own routes
        {"config": {"nfe_steps": "32"}},  # JSON bodies are strict
        {"config": {"remove_silences": 1}},
        {"display_name": ""},
        {"display_name": "x" * 201},
        {"persona_prompt": "p" * 8001},
        {"visibility": "secret"},
        {"owner_id": RANDOM},
    ]
    for extra in bad_bodies:
        body = {"display_name": "Ok", "voice_id": voice["id"], **extra}
        r = await client.post("/api/v1/characters", json=body)
        assert r.status_code == 422, (extra, r.text)
        assert r.json()["code"] == "validation_error"
    cid = (await make_character(client, voice["id"]))["id"]
    for change in (
        {"config": {"speed": 3}},
        {"config": {"speed": None}},
        {"display_name": None},
        {"voice_id": None},
        {"stars": 100},
    ):
        r = await client.patch(f"/api/v1/characters/{cid}", json=change)
        assert r.status_code == 422, (change, r.text)
    # null clears what may be empty.
    cleared = await client.patch(f"/api/v1/characters/{cid}", json={"description": None})
    assert cleared.status_code == 200 and cleared.json()["description"] == ""
    assert (await character_counts(container))[0] == 1


async def test_voice_must_be_one_the_owner_may_use(client, client_b, container: Container) -> None:
    theirs = await create_voice(client_b, "Bob")
    mine = await create_voice(client, "Ana")
    for voice_id in (theirs["id"], RANDOM, "not-an-id"):
        r = await client.post(
            "/api/v1/characters", json={"display_name": "X", "voice_id": voice_id}
        )
        assert r.status_code == 404, r.text
        assert r.json()["code"] == "voice_not_found"
    assert await character_counts(container) == (0, 0)
    cid = (await make_character(client, mine["id"]))["id"]
    r = await client.patch(f"/api/v1/characters/{cid}", json={"voice_id": theirs["id"]})
    assert r.status_code == 404 and r.json()["code"] == "voice_not_found"
    # A public voice of someone else's may be used.
    pub = await client_b.patch(f"/api/v1/voices/{theirs['id']}", json={"visibility": "public"})
    assert pub.status_code == 200
    r = await client.patch(f"/api/v1/characters/{cid}", json={"voice_id": theirs["id"]})
    assert r.status_code == 200 and r.json()["voice_id"] == theirs["id"]
    # The voice's deletion leaves the character, without a voice.
    assert (await client_b.delete(f"/api/v1/voices/{theirs['id']}")).status_code == 204
    after = await client.get(f"/api/v1/characters/{cid}")
    assert after.status_code == 200 and after.json()["voice_id"] is None


async def test_another_users_private_character_is_missing(
    client, client_b, container: Container
) -> None:
    voice = await create_voice(client)
    cid = (await make_character(client, voice["id"]))["id"]
    assert (await add_image(client, cid, png(), "confident")).status_code == 201
    before = await character_counts(container)
    routes = [
        ("GET", "/api/v1/characters/{c}", None),
        ("PATCH", "/api/v1/characters/{c}", {"display_name": "pwned"}),
        ("DELETE", "/api/v1/characters/{c}", None),
        ("PUT", "/api/v1/characters/{c}/star", None),
        ("DELETE", "/api/v1/characters/{c}/star", None),
        ("GET", "/api/v1/characters/{c}/images/0", None),
        ("GET", "/api/v1/characters/{c}/images/0?thumbnail=true", None),
        ("DELETE", "/api/v1/characters/{c}/images/0", None),
    ]
    for method, template, body in routes:
        theirs = await client_b.request(method, template.format(c=cid), json=body)
        missing = await client_b.request(method, template.format(c=RANDOM), json=body)
        assert theirs.status_code == 404, (method, template, theirs.text)
        assert theirs.json()["code"] == "character_not_found"
        assert theirs.text.replace(cid, RANDOM) == missing.text
    # Ownership is checked before the image is looked at: a 404, not a 415 for these bytes.
    upload = await add_image(client_b, cid, b"not an image")
    assert upload.status_code == 404 and upload.json()["code"] == "character_not_found"
    listed = await client_b.get("/api/v1/characters")
    assert listed.json()["items"] == []
    assert await character_counts(container) == before

    # Made public: B reads it, sees its images and stars it, but may not change it; the persona
    # prompt stays the author's.
    await client.patch(
        f"/api/v1/characters/{cid}", json={"visibility": "public", "persona_prompt": "Secret."}
    )
    seen = await client_b.get(f"/api/v1/characters/{cid}")
    assert seen.status_code == 200 and seen.json()["persona_prompt"] is None
    assert (await client.get(f"/api/v1/characters/{cid}")).json()["persona_prompt"] == "Secret."
    image = await client_b.get(f"/api/v1/characters/{cid}/images/0")
    assert image.status_code == 200 and image.headers["content-type"] == "image/webp"
    assert (await client_b.put(f"/api/v1/characters/{cid}/star")).json()["stars"] == 1
    for method, path, body in [
        ("PATCH", f"/api/v1/characters/{cid}", {"display_name": "pwned"}),
        ("DELETE", f"/api/v1/characters/{cid}", None),
        ("DELETE", f"/api/v1/characters/{cid}/images/0", None),
    ]:
        r = await client_b.request(method, path, json=body)
        assert r.status_code == 403 and r.json()["code"] == "forbidden", (method, path)
    r = await add_image(client_b, cid, png())
    assert r.status_code == 403
    assert (await client.get(f"/api/v1/characters/{cid}")).json()["display_name"] == "Modi"


async def test_stars_count_once_per_user(client, client_b, container: Container) -> None:
    voice = await create_voice(client)
    cid = (await make_character(client, voice["id"], visibility="public"))["id"]
    first = await client.put(f"/api/v1/characters/{cid}/star")
    assert first.status_code == 200
    assert first.json() == {"character_id": cid, "stars": 1, "starred": True}
    again = await client.put(f"/api/v1/characters/{cid}/star")
    assert again.json()["stars"] == 1
    # Concurrent stars from one user are still one star, with no error.
    racing = await asyncio.gather(
        *(client_b.put(f"/api/v1/characters/{cid}/star") for _ in range(4))
    )
    assert all(r.status_code == 200 for r in racing), [r.text for r in racing]
    assert (await client.get(f"/api/v1/characters/{cid}")).json()["stars"] == 2
    mine = (await client.get(f"/api/v1/characters/{cid}")).json()
    assert mine["starred"] is True
    unstar = await client_b.delete(f"/api/v1/characters/{cid}/star")
    assert unstar.json() == {"character_id": cid, "stars": 1, "starred": False}
    assert (await client_b.delete(f"/api/v1/characters/{cid}/star")).json()["stars"] == 1
    assert (await client_b.get(f"/api/v1/characters/{cid}")).json()["starred"] is False
    assert (await client.put(f"/api/v1/characters/{RANDOM}/star")).status_code == 404


async def test_cursor_pages_and_filters(client, client_b, container: Container) -> None:
    mine = await create_voice(client)
    theirs = await create_voice(client_b, "Bob")
    ids = [
        (await make_character(client, mine["id"], f"Ana {i}", description=f"number {i}"))["id"]
        for i in range(5)
    ]
    pub = (await make_character(client_b, theirs["id"], "Bob public", visibility="public"))["id"]
    await make_character(client_b, theirs["id"], "Bob private")

    seen: list[str] = []
    cursor = None
    sizes = []
    while True:
        params: dict[str, str | int] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = (await client.get("/api/v1/characters", params=params)).json()
        sizes.append(len(page["items"]))
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert sizes == [2, 2, 2]
    assert seen == [pub, *reversed(ids)]  # newest first, B's private one never

    only_mine = (await client.get("/api/v1/characters", params={"mine": True})).json()
    assert [x["id"] for x in only_mine["items"]] == list(reversed(ids))
    public = (await client.get("/api/v1/characters", params={"public": True})).json()
    assert [x["id"] for x in public["items"]] == [pub]
    found = (await client.get("/api/v1/characters", params={"q": "NUMBER 3"})).json()
    assert [x["id"] for x in found["items"]] == [ids[3]]
    bad = await client.get("/api/v1/characters", params={"cursor": "nope"})
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_cursor"
