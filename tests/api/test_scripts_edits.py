"""Editing scripts (primary API) and seed 001's script routes in its own shapes, on both
databases: line edits and their 422s naming the line, ownership, the seed's examples."""

from __future__ import annotations

import httpx

from tests.api.conftest import Account
from tests.api.scripts_helpers import GOOD, behaviour, cast, server, with_llm
from tests.llm.chat_server import Behaviour
from voxhub.container import Container

__all__ = ["behaviour", "server", "with_llm"]  # fixtures
SEED_PROMPT = (
    "Create a conversation about climate change between two political leaders discussing "
    "renewable energy solutions."
)


async def written(client: httpx.AsyncClient) -> tuple[dict, dict, dict]:
    mara, jon = await cast(client)
    body = {"character_ids": [mara["id"], jon["id"]], "prompt": "Night."}
    r = await client.post("/api/v1/scripts", json=body)
    assert r.status_code == 201, r.text
    return r.json(), mara, jon


async def test_lines_are_edited_and_bad_edits_name_the_line(
    with_llm: Container, client: httpx.AsyncClient, behaviour: Behaviour
) -> None:
    behaviour.reply = GOOD
    script, mara, jon = await written(client)
    sid, (first, second) = script["id"], script["lines"]
    url = f"/api/v1/scripts/{sid}/lines/{second['id']}"
    r = await client.patch(url, json={"speaker": mara["id"], "emotion": "SAD", "pause_ms": 250})
    assert r.status_code == 200, r.text
    assert r.json() == second | {"speaker": mara["id"], "emotion": "sad", "pause_ms": 250}
    r = await client.patch(url, json={"emotion": None, "pause_ms": None, "text": "Aye."})
    assert r.json()["emotion"] is None and r.json()["text"] == "Aye."
    bad = [
        ({"speaker": "00000000-0000-4000-8000-000000000000"}, "speaker"),
        ({"text": "   "}, "text"),
        ({"text": "?!"}, "text"),
        ({"text": "9" * 400}, "text"),  # 400 digits are far longer when said
        ({"emotion": "angry"}, "emotion"),
    ]
    for body, field in bad:
        r = await client.patch(url, json=body)
        assert r.status_code == 422, (body, r.text)
        problem = r.json()
        assert problem["code"] == "invalid_script_line" and problem["field"] == field
        assert problem["line_id"] == second["id"] and problem["index"] == 1
    r = await client.patch(url, json={"text": "x" * 501})
    assert r.status_code == 422 and r.json()["code"] == "validation_error"
    r = await client.patch(url, json={"emotion": "sad", "speaker": jon["id"]})
    assert r.status_code == 422 and r.json()["field"] == "emotion"  # Jon has no images

    r = await client.patch(f"/api/v1/scripts/{sid}", json={"title": "Renamed"})
    assert r.status_code == 200 and r.json()["title"] == "Renamed"
    assert r.json()["revision"] > script["revision"]

    # Add, reorder, delete (a script keeps two lines).
    r = await client.post(
        f"/api/v1/scripts/{sid}/lines", json={"speaker": jon["id"], "text": "Hi.", "position": 0}
    )
    assert r.status_code == 201, r.text
    added = r.json()["id"]
    order = [second["id"], added, first["id"]]
    r = await client.post(f"/api/v1/scripts/{sid}/order", json={"line_ids": order})
    assert [ln["id"] for ln in r.json()["lines"]] == order
    r = await client.post(f"/api/v1/scripts/{sid}/order", json={"line_ids": order[:2]})
    assert r.status_code == 422
    r = await client.delete(f"/api/v1/scripts/{sid}/lines/{added}")
    assert [ln["id"] for ln in r.json()["lines"]] == [second["id"], first["id"]]
    r = await client.delete(f"/api/v1/scripts/{sid}/lines/{first['id']}")
    assert r.status_code == 422 and r.json()["code"] == "invalid_script_line"

    # A new speaker must have a voice; a line whose speaker lost it can still be edited.
    await client.delete(f"/api/v1/voices/{mara['voice_id']}")
    r = await client.patch(
        f"/api/v1/scripts/{sid}/lines/{first['id']}", json={"speaker": jon["id"]}
    )
    assert r.status_code == 422 and r.json()["code"] == "character_has_no_voice"
    assert r.json()["line_id"] == first["id"]
    r = await client.patch(url, json={"text": "Still mine."})
    assert r.status_code == 200


async def test_scripts_are_their_owners(
    with_llm: Container,
    client: httpx.AsyncClient,
    client_b: httpx.AsyncClient,
    behaviour: Behaviour,
) -> None:
    behaviour.reply = GOOD
    script, _, _ = await written(client)
    sid, line = script["id"], script["lines"][0]["id"]
    for method, url, body in [
        ("GET", f"/api/v1/scripts/{sid}", None),
        ("PATCH", f"/api/v1/scripts/{sid}", {"title": "x"}),
        ("PATCH", f"/api/v1/scripts/{sid}/lines/{line}", {"text": "x"}),
        ("DELETE", f"/api/v1/scripts/{sid}", None),
        ("PUT", f"/api/scripts/{sid}", {"dialogue": []}),
        ("DELETE", f"/api/scripts/{sid}", None),
    ]:
        r = await client_b.request(method, url, json=body)
        assert r.status_code == 404, (method, url, r.text)
    assert (await client_b.get("/api/v1/scripts")).json()["items"] == []
    assert (await client_b.get("/api/my-scripts")).json()["scripts"] == []
    r = await client.patch(f"/api/v1/scripts/{sid}/lines/nope", json={"text": "x"})
    assert r.status_code == 404 and r.json()["code"] == "script_line_not_found"
    r = await client.delete(f"/api/v1/scripts/{sid}")
    assert r.status_code == 204
    assert (await client.get(f"/api/v1/scripts/{sid}")).status_code == 404


async def test_seed_001_script_routes_in_the_seeds_shapes(
    with_llm: Container, client: httpx.AsyncClient, behaviour: Behaviour, user_a: Account
) -> None:
    mara, jon = await cast(client)
    behaviour.reply = (
        '{"title": "Climate", "lines": ['
        '{"speaker": "Mara", "text": "Climate change is one of the most pressing issues of our '
        'time."}, {"speaker": "Jon", "text": "Absolutely, we need to invest heavily in '
        'renewable energy."}]}'
    )
    body = {"selectedCharacters": [mara["id"], jon["id"]], "prompt": SEED_PROMPT}
    r = await client.post("/api/scripts/generate", json=body)
    assert r.status_code == 200, r.text
    made = r.json()
    assert made["selectedCharacters"] == [mara["id"], jon["id"]]
    assert made["originalPrompt"] == SEED_PROMPT
    assert [(d["speaker"], d["text"], d["audioFile"]) for d in made["dialogue"]] == [
        (mara["id"], "Climate change is one of the most pressing issues of our time.", ""),
        (jon["id"], "Absolutely, we need to invest heavily in renewable energy.", ""),
    ]
    assert made["hasAudio"] is False and made["audioCount"] == 0
    assert made["finalVideoPath"] is None and made["videoDuration"] is None
    assert {"createdAt", "updatedAt", "id"} <= set(made)

    listed = (await client.get("/api/my-scripts")).json()
    [row] = listed["scripts"]
    assert row["id"] == made["id"] and row["dialogue"] == made["dialogue"]
    for field in (
        "videoSize",
        "videoJobId",
        "videoJobStatus",
        "videoJobProgress",
        "videoJobCurrentStep",
        "videoJobStartedAt",
        "videoJobCompletedAt",
        "videoJobErrorMessage",
    ):
        assert row[field] is None, field
    assert listed["userTokens"] == (await client.get("/api/me")).json()["tokens"]

    ids = [d["lineId"] for d in made["dialogue"]]
    update = {
        "dialogue": [
            {"speaker": mara["id"], "text": "Updated dialogue text here.", "audioFile": ""},
            {"speaker": jon["id"], "text": "And mine.", "audioFile": ""},
            # 700.0 is an integer to JSON Schema (and to a client that writes numbers as floats)
            {"speaker": mara["id"], "text": "A third.", "emotion": "happy", "pauseMs": 700.0},
        ]
    }
    r = await client.put(f"/api/scripts/{made['id']}", json=update)
    assert r.status_code == 200, r.text
    dialogue = r.json()["dialogue"]
    assert [d["text"] for d in dialogue] == ["Updated dialogue text here.", "And mine.", "A third."]
    assert [d["lineId"] for d in dialogue][:2] == ids  # ids kept by place
    assert dialogue[2]["emotion"] == "happy" and dialogue[2]["pauseMs"] == 700
    halves = {"dialogue": [*update["dialogue"][:2], {**update["dialogue"][2], "pauseMs": 700.5}]}
    r = await client.put(f"/api/scripts/{made['id']}", json=halves)
    assert r.status_code == 422 and r.json()["code"] == "validation_error"
    bad = {"dialogue": [update["dialogue"][0], {"speaker": jon["id"], "text": ""}]}
    r = await client.put(f"/api/scripts/{made['id']}", json=bad)
    assert r.status_code == 422 and r.json()["index"] == 1
    r = await client.put(f"/api/scripts/{made['id']}", json={"dialogue": update["dialogue"][:1]})
    assert r.status_code == 422

    with_llm.settings.credits.price_llm_call = 10**9
    r = await client.post("/api/scripts/generate", json=body)
    assert r.status_code == 400 and r.json()["code"] == "insufficient_credits"
    r = await client.post(
        "/api/scripts/generate", json=body | {"selectedCharacters": [mara["id"]] * 2}
    )
    assert r.status_code == 422

    r = await client.delete(f"/api/scripts/{made['id']}")
    assert r.status_code == 200
    assert r.json() == {
        "message": f"Script '{made['id']}' deleted successfully",
        "deletedMediaFiles": [],
        "deletedCount": 0,
    }
    assert (await client.get("/api/my-scripts")).json()["scripts"] == []
